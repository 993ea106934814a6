// The model interface every trainer, sampler, server and comparison uses: a transformer trunk
// (token ids → hidden states, with a key/value cache for decoding), a causal language model (the
// trunk and an LM head), and what a checkpoint directory needs. A family (GPT-2 today) conforms
// and registers itself with ``ModelLoader``; nothing outside `Models` names a family.
// Shapes: B batch, T time, C channels (hidden size), V vocabulary.

import Foundation
import Kernels
import NN
import Tensors
import Tokenizers

/// What code outside a family needs to know of its configuration.
public protocol LanguageModelConfiguration: Sendable {
    /// The family's `model_type` in config.json ("gpt2").
    var modelType: String { get }
    /// V, the number of token ids.
    var vocabularySize: Int { get }
    /// C, the width of the hidden states.
    var hiddenSize: Int { get }
    /// The longest sequence the model takes (positions 0..<positions).
    var positions: Int { get }
    /// Transformer blocks.
    var layers: Int { get }
    /// Beginning-of-sequence id, when the checkpoint names one.
    var bosTokenId: Int? { get }
    /// End-of-sequence id; generation stops on it.
    var eosTokenId: Int? { get }
    /// Padding id, when the checkpoint names one.
    var padTokenId: Int? { get }
}

/// A model the training loop can train and checkpoint: parameters, a dropout stream, an HF save.
public protocol TrainableModel: Module {
    /// Where dropout masks come from (saved with each checkpoint for exact resume).
    var source: RandomSource { get }
    /// Writes an HF checkpoint directory (config.json, model.safetensors, tokenizer files).
    func save(to directory: URL, tokenizer: (any Tokenizer)?) throws
}

/// A decoder trunk (HF's `GPT2Model`, `LlamaModel`): token ids to final hidden states.
public protocol TransformerTrunk: Module {
    /// The configuration, as the code outside the family sees it.
    var modelConfiguration: any LanguageModelConfiguration { get }
    /// The prefix of the trunk's parameter names inside a full checkpoint ("transformer" for
    /// GPT-2, "model" for Llama), without the dot.
    var parameterPrefix: String { get }
    /// The `architectures` name of the family's sequence classifier ("GPT2ForSequenceClassification").
    var classifierArchitecture: String { get }

    /// The final hidden states (B, T, C).
    ///
    /// - Parameters:
    ///   - ids: (B, T) token ids.
    ///   - positions: (B, T) position ids; nil means 0..<T for every row (after the cache's past).
    ///   - mask: (B, T) (or (B, past + T) with a cache): 1 for real tokens, 0 for padding.
    ///   - cache: keys and values of earlier positions, extended by this call.
    func hiddenStates(_ ids: IndexTensor, positions: IndexTensor?, mask: Tensor?, cache: KeyValueCache?) -> Tensor

    /// A key/value cache sized for this trunk, `capacity` positions per row.
    func makeCache(batch: Int, capacity: Int) -> KeyValueCache

    /// Writes config.json naming `architecture`, with `labelCount` labels when given (a classifier).
    func saveConfiguration(to url: URL, architecture: String, labelCount: Int?) throws

    /// Where the family's sequence classifier keeps a `ClassificationHead` (dense, tanh,
    /// `out_proj`, both with biases, as T5's and BART's): "classification_head"; nil (the default)
    /// for a bare `score` projection without bias (GPT-2's, Llama's).
    var classificationHeadPrefix: String? { get }
    /// Whether a row's padding must be masked even after its end (a bidirectional encoder reads
    /// it); false (the default) for causal trunks, where nothing looks past a row's last token.
    var readsPaddingAfterRowEnd: Bool { get }
    /// The id a classifier's input must end with, where the family reads the score (T5: `</s>`,
    /// which its tokenizer appends); nil (the default) when the last token of the text is read.
    var classifierEndOfSequence: Int? { get }
}

extension TransformerTrunk {
    public var classificationHeadPrefix: String? { nil }
    public var readsPaddingAfterRowEnd: Bool { false }
    public var classifierEndOfSequence: Int? { nil }
}

/// A causal language model: a trunk and an LM head (HF `*ForCausalLM` / `GPT2LMHeadModel`).
public protocol CausalLanguageModel: AutoregressiveModel {
    /// The trunk.
    var trunk: any TransformerTrunk { get }
    /// Logits (B, T, V) for hidden states (B, T, C).
    func logits(hidden: Tensor) -> Tensor
}

extension CausalLanguageModel {
    /// The configuration, as code outside the family sees it.
    public var modelConfiguration: any LanguageModelConfiguration { trunk.modelConfiguration }

    /// The final hidden states (B, T, C); arguments as ``TransformerTrunk/hiddenStates(_:positions:mask:cache:)``.
    public func hidden(_ ids: IndexTensor, positions: IndexTensor? = nil, mask: Tensor? = nil, cache: KeyValueCache? = nil) -> Tensor {
        trunk.hiddenStates(ids, positions: positions, mask: mask, cache: cache)
    }

    /// Logits (B, T, V) for ids (B, T); arguments as ``hidden(_:positions:mask:cache:)``.
    public func callAsFunction(_ ids: IndexTensor, positions: IndexTensor? = nil, mask: Tensor? = nil, cache: KeyValueCache? = nil) -> Tensor {
        logits(hidden: hidden(ids, positions: positions, mask: mask, cache: cache))
    }

    /// A key/value cache for decoding.
    public func makeCache(batch: Int, capacity: Int) -> KeyValueCache { trunk.makeCache(batch: batch, capacity: capacity) }

    /// HF's causal-LM loss: mean cross-entropy of logits[:, :-1] against labels[:, 1:], ignoring
    /// labels equal to −100.
    /// - Parameters:
    ///   - logits: (B, T, V).
    ///   - labels: (B, T).
    public func loss(logits: Tensor, labels: IndexTensor) -> Tensor {
        let (B, T) = (logits.shape[0], logits.shape[1])
        require(labels.shape == [B, T], "loss: labels \(labels.shape), expected [\(B), \(T)]")
        let shiftedLogits = logits.slice(axis: 1, 0..<(T - 1))
        var shifted: [Int32] = []
        shifted.reserveCapacity(B * (T - 1))
        for b in 0..<B { shifted += labels.values[(b * T + 1)..<((b + 1) * T)] }
        return crossEntropy(shiftedLogits, targets: IndexTensor(shape: [B, T - 1], values: shifted))
    }
}
