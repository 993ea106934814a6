// The trunk of transformers' `T5ForSequenceClassification` (`transformer.*`): the text goes
// through the encoder and, shifted right from the decoder start id, through the decoder; the
// classifier reads the decoder's state at the text's closing `</s>`. A `SequenceClassifier` on this
// trunk is a T5 reward model (its `classification_head.dense/out_proj` head, tanh between).
// Shapes: B batch, T tokens, C channels (d_model).

import Foundation
import Kernels
import NN
import Tensors

/// T5's encoder and decoder as a sequence classifier's trunk, sharing the modules of the T5 it
/// was made from (its `lm_head` is not part of it).
public final class T5ClassifierTrunk: TransformerTrunk {
    /// (V, C): the token embedding of both stacks.
    public var shared: Embedding
    /// The encoder stack (`encoder.*`).
    public var encoder: T5Stack
    /// The decoder stack (`decoder.*`).
    public var decoder: T5Stack
    /// The hyper-parameters.
    public let configuration: T5Configuration
    /// Where the stacks' dropout masks come from (the T5's).
    public let source: RandomSource

    /// The trunk of `model`: the same embedding and stacks (training one trains the other).
    /// - Parameter configuration: what config.json says when saved (default: the model's; a loaded
    ///   classifier keeps its file's `tie_word_embeddings`, though it has no head to tie).
    public init(_ model: T5ForConditionalGeneration, configuration: T5Configuration? = nil) {
        shared = model.shared
        encoder = model.encoder
        decoder = model.decoder
        var configuration = configuration ?? model.configuration
        configuration.labelCount = nil
        self.configuration = configuration
        source = model.source
    }

    public var modelConfiguration: any LanguageModelConfiguration { configuration }
    public var parameterPrefix: String { "transformer" }
    public var classifierArchitecture: String { "T5ForSequenceClassification" }
    public var classificationHeadPrefix: String? { "classification_head" }
    public var readsPaddingAfterRowEnd: Bool { true }
    public var classifierEndOfSequence: Int? { configuration.eosTokenId }

    /// The decoder's final states (B, T, C): the encoder reads `ids` (with `mask`), the decoder
    /// reads them shifted right behind the decoder start id (transformers' `_shift_right`), so the
    /// state at position t has seen the whole text through the encoder and tokens 0..<t itself.
    /// - Parameters:
    ///   - ids: (B, T), right-padded.
    ///   - positions: unused (T5's positions are relative); must be nil.
    ///   - mask: (B, T) padding mask; nil means no padding.
    ///   - cache: must be nil (a classifier scores whole texts).
    public func hiddenStates(_ ids: IndexTensor, positions: IndexTensor?, mask: Tensor?, cache: KeyValueCache?) -> Tensor {
        require(cache == nil && positions == nil, "T5ClassifierTrunk: whole texts only (no cache, no position ids)")
        let (B, T) = (ids.shape[0], ids.shape[1])
        let mask = mask ?? Tensor(repeating: 1, shape: [B, T])
        let encoded = encoder(shared(ids), mask: mask, encoded: nil, encoderMask: nil, cache: nil)
        var shifted = [Int32](repeating: Int32(configuration.decoderStartTokenId), count: B * T)
        for b in 0..<B {
            for t in 1..<max(T, 1) { shifted[b * T + t] = ids.values[b * T + t - 1] }
        }
        return decoder(shared(IndexTensor(shape: [B, T], values: shifted)), mask: nil, encoded: encoded, encoderMask: mask, cache: nil)
    }

    /// A decoder-sized cache; ``hiddenStates(_:positions:mask:cache:)`` never takes one.
    public func makeCache(batch: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(layers: configuration.decoderLayers, batch: batch, heads: configuration.heads, headSize: configuration.headSize, capacity: capacity)
    }

    /// Writes config.json (`T5ForSequenceClassification` with `num_labels` when `labelCount` is given).
    public func saveConfiguration(to url: URL, architecture: String, labelCount: Int?) throws {
        var configuration = self.configuration
        configuration.labelCount = labelCount
        try configuration.save(to: url)
    }
}

extension T5ForConditionalGeneration {
    /// This model's encoder and decoder as a classifier trunk (a T5 reward model starts here).
    public var classifierTrunk: (any TransformerTrunk)? { T5ClassifierTrunk(self) }
}

extension SequenceClassifier {
    /// Loads a `T5ForSequenceClassification` checkpoint directory (`transformer.*` and
    /// `classification_head.*`) in evaluation mode. A T5 language-model checkpoint is not one: its
    /// config has no `num_labels`.
    /// - Throws: ``CheckpointError`` naming the file and the field or tensor.
    static func loadT5(from directory: URL) throws -> SequenceClassifier {
        let url = directory.appendingPathComponent("config.json")
        let configuration = try T5Configuration.load(from: url)
        // transformers leaves out num_labels when it is its default, 2.
        let architectures = (try? JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])?["architectures"] as? [String] ?? []
        guard let labels = configuration.labelCount ?? (architectures.contains("T5ForSequenceClassification") ? 2 : nil) else {
            throw CheckpointError.invalidField(path: url.path, field: "architectures",
                                               problem: "\(architectures) is not T5ForSequenceClassification and num_labels is absent: this is a T5 language model, not a classifier")
        }
        let weights = directory.appendingPathComponent("model.safetensors")
        try checkWeights(weights, holdMostOf: configuration.parameterCount - (configuration.tieWordEmbeddings ? 0 : configuration.vocabularySize * configuration.modelDimension))
        var built = configuration
        built.tieWordEmbeddings = true  // no lm_head to allocate: a classifier has none
        let trunk = T5ClassifierTrunk(T5ForConditionalGeneration(built), configuration: configuration)
        let model = SequenceClassifier(trunk: trunk, source: trunk.source, labels: labels, seed: 0)
        try loadParameters(model, from: weights) { name in
            name == "transformer.encoder.embed_tokens.weight" || name == "transformer.decoder.embed_tokens.weight"
                || name == "transformer.decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"
        }
        model.setTraining(false)
        return model
    }
}
