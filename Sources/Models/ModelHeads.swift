// Heads on any trunk: TRL's value head (`v_head.summary.*`) on any autoregressive model (a
// causal LM's trunk, an encoder-decoder's decoder), and Hugging Face's
// sequence-classification head (`score`, read at each row's last real token) on a trunk, named as
// the family's `*ForSequenceClassification` names them (`transformer.*` for GPT-2, `model.*` for Llama).
// Shapes: B batch, T time, C channels.

import Foundation
import Kernels
import NN
import Tensors
import Tokenizers

/// TRL's `ValueHead`: a linear map of each hidden state to a scalar (`v_head.summary`).
public final class ValueHead: Module {
    /// (1, C) weight and (1) bias, as torch.nn.Linear(C, 1).
    public var summary: Linear

    /// A head for width C whose weight and bias start at 0, as openai/lm-human-preferences and
    /// lm-human-preference-details initialise the value head: the first values are exactly 0, so
    /// the first value-loss gradients do not push noise into a shared trunk.
    public init(channels C: Int) {
        summary = Linear(weight: Tensor(zeros: [1, C], requiresGrad: true), bias: Tensor(zeros: [1], requiresGrad: true))
    }

    /// hidden (B, T, C) → values (B, T).
    public func callAsFunction(_ hidden: Tensor) -> Tensor {
        let (B, T) = (hidden.shape[0], hidden.shape[1])
        return summary(hidden).reshaped([B, T])
    }
}

/// A policy with a value head on its final states (a causal LM's trunk, an encoder-decoder's
/// decoder), named as TRL's `AutoModelForCausalLMWithValueHead` / `AutoModelForSeq2SeqLMWithValueHead`
/// save it: the LM's own names plus `v_head.summary.*`.
public final class ValueHeadModel: Module {
    /// The policy.
    public let model: any AutoregressiveModel
    /// The value head.
    public let valueHead: ValueHead

    /// Wraps `model` with a new value head, all zeros (``ValueHead/init(channels:)``).
    public init(model: any AutoregressiveModel) {
        self.model = model
        valueHead = ValueHead(channels: model.modelConfiguration.hiddenSize)
    }

    /// The LM's parameters, then `v_head.summary.weight` and `v_head.summary.bias`.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        model.namedParameters() + valueHead.namedParameters().map { ("v_head." + $0.name, $0.tensor) }
    }

    /// Logits (B, T, V) and values (B, T) from one pass of a causal LM's trunk.
    /// - Parameters:
    ///   - ids: (B, T) token ids.
    ///   - positions: (B, T) position ids, or nil.
    ///   - mask: (B, T) padding mask, or nil.
    /// - Precondition: the model is a causal LM (an encoder-decoder's values come from ``responseOutputs(_:)``).
    public func callAsFunction(_ ids: IndexTensor, positions: IndexTensor? = nil, mask: Tensor? = nil) -> (logits: Tensor, values: Tensor) {
        guard let model = model as? any CausalLanguageModel else {
            fatalError("ValueHeadModel(ids): the model is not a causal LM; use responseOutputs(_:)")
        }
        let hidden = model.hidden(ids, positions: positions, mask: mask)
        return (model.logits(hidden: hidden), valueHead(hidden))
    }

    /// The final states (N, C) that predict each response token of `batch`
    /// (``AutoregressiveModel/responseStates(_:)``: a causal LM's trunk, an encoder-decoder's
    /// decoder) and the value (N) the head reads from each, from one teacher-forced pass.
    public func responseOutputs(_ batch: ResponseBatch) -> (states: Tensor, values: Tensor) {
        let states = model.responseStates(batch)
        return (states, valueHead.summary(states).reshaped([batch.responseCount]))
    }

    /// Loads a TRL value-head checkpoint (the LM's tensors plus `v_head.summary.*`) of any
    /// registered family, causal or encoder-decoder; a plain LM checkpoint gets a new value head of zeros.
    public static func load(from directory: URL) throws -> ValueHeadModel {
        let wrapped = ValueHeadModel(model: try ModelLoader.autoregressiveModel(from: directory))
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        if file.names.contains("v_head.summary.weight") {
            try wrapped.valueHead.loadSafeTensors(from: file, strict: false) { "v_head." + $0 }
        }
        return wrapped
    }

    /// Writes the LM checkpoint with `v_head.summary.*` added to model.safetensors.
    public func save(to directory: URL, tokenizer: (any Tokenizer)? = nil) throws {
        try model.save(to: directory, tokenizer: tokenizer)
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
    }
}

/// Hugging Face's `*ForSequenceClassification` on any trunk: the trunk and `score` (num_labels,
/// C, no bias), read at each row's last non-padding token.
public final class SequenceClassifier: TrainableModel {
    /// The trunk (its names under `trunk.parameterPrefix`).
    public let trunk: any TransformerTrunk
    /// (num_labels, C): `score` (no bias), or a `ClassificationHead`'s `out_proj` (with bias).
    public var score: Linear
    /// A `ClassificationHead`'s hidden layer (C, C), tanh after it, when the trunk's family has
    /// one (``TransformerTrunk/classificationHeadPrefix``: T5's); nil for a bare `score`.
    public var dense: Linear?
    /// Where dropout masks come from; save `source.generator` to resume a run exactly.
    public let source: RandomSource

    /// A classifier on a trunk (new, or a causal LM's, whose dropout layers draw from `source`);
    /// the new score weight is N(0, std²), std defaulting to 1/√(C + 1) (openai/lm-human-preferences'
    /// reward-head init).
    public convenience init(trunk: any TransformerTrunk, source: RandomSource, labels: Int = 1, standardDeviation: Float? = nil, seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        self.init(trunk: trunk, source: source, labels: labels, standardDeviation: standardDeviation, generator: &generator)
    }

    /// A classifier on a trunk, the score weight drawn from `generator`.
    public init(trunk: any TransformerTrunk, source: RandomSource, labels: Int, standardDeviation: Float?, generator: inout RandomGenerator) {
        self.trunk = trunk
        self.source = source
        let C = trunk.modelConfiguration.hiddenSize
        let hasHead = trunk.classificationHeadPrefix != nil
        // A ClassificationHead's dense layer starts as transformers' T5 init (N(0, 1/C), zero bias).
        dense = hasHead ? Linear(inputs: C, outputs: C, bias: true, standardDeviation: 1 / Float(C).squareRoot(), generator: &generator) : nil
        score = Linear(inputs: C, outputs: labels, bias: hasHead,
                       standardDeviation: standardDeviation ?? 1 / Float(C + 1).squareRoot(), generator: &generator)
    }

    /// The configuration of the trunk.
    public var modelConfiguration: any LanguageModelConfiguration { trunk.modelConfiguration }

    /// The trunk's parameters under its prefix (`transformer.h.0.…`), then `score.weight` (or
    /// `classification_head.dense.*` and `classification_head.out_proj.*`).
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        let head: [(name: String, tensor: Tensor)]
        if let prefix = trunk.classificationHeadPrefix, let dense {
            head = dense.namedParameters().map { (prefix + ".dense." + $0.name, $0.tensor) }
                + score.namedParameters().map { (prefix + ".out_proj." + $0.name, $0.tensor) }
        } else {
            head = score.namedParameters().map { ("score." + $0.name, $0.tensor) }
        }
        return trunk.namedParameters().map { (trunk.parameterPrefix + "." + $0.name, $0.tensor) } + head
    }

    /// The tokens the classifier reads for a text's encoding `ids`: the last `limit`, ending with
    /// ``TransformerTrunk/classifierEndOfSequence`` when the family reads its score there (T5's
    /// `</s>`, appended as its tokenizer's post-processor does, kept when already there).
    public func input(_ ids: [Int], limit: Int) -> [Int32] {
        Self.input(ids, limit: limit, endOfSequence: trunk.classifierEndOfSequence)
    }

    /// ``input(_:limit:)`` for a classifier read at `endOfSequence` (nil: at the text's last token),
    /// for callers that tokenize before the classifier exists (``ModelLoader/classifierEndOfSequence(of:)``).
    public static func input(_ ids: [Int], limit: Int, endOfSequence end: Int?) -> [Int32] {
        guard let end else { return ids.suffix(limit).map { Int32($0) } }
        let body = ids.last == end ? ids.dropLast() : ids[...]
        return body.suffix(max(limit - 1, 0)).map { Int32($0) } + [Int32(end)]
    }

    /// Scores (B, num_labels) at the last position whose mask is 1 in each row (the last
    /// position when there is no mask).
    /// - Parameters:
    ///   - ids: (B, T) token ids.
    ///   - positions: (B, T) position ids, or nil.
    ///   - mask: (B, T) padding mask, or nil.
    public func callAsFunction(_ ids: IndexTensor, positions: IndexTensor? = nil, mask: Tensor? = nil) -> Tensor {
        let hidden = trunk.hiddenStates(ids, positions: positions, mask: mask, cache: nil)
        let (B, T) = (hidden.shape[0], hidden.shape[1])
        var last = [Int](repeating: T - 1, count: B)
        if let mask {
            for b in 0..<B {
                let row = (0..<T).filter { mask.data[b * T + $0] != 0 }
                require(!row.isEmpty, "SequenceClassifier: row \(b) has no real token")
                last[b] = row.last!
            }
        }
        return scores(hidden: hidden, at: last)
    }

    /// Scores (B, num_labels) of the hidden states (B, T, C) at one position per row.
    public func scores(hidden: Tensor, at positions: [Int]) -> Tensor {
        let (B, C) = (hidden.shape[0], hidden.shape[2])
        let index = IndexTensor(shape: [B, 1, C], values: positions.flatMap { Array(repeating: Int32($0), count: C) })
        let read = gather(hidden, axis: 1, index: index).reshaped([B, C])
        return score(dense.map { $0(read).tanh() } ?? read)
    }

    /// Loads a `*ForSequenceClassification` checkpoint of any registered family.
    public static func load(from directory: URL) throws -> SequenceClassifier {
        try ModelLoader.classifier(from: directory)
    }

    /// Writes an HF `*ForSequenceClassification` checkpoint (num_labels in config.json).
    public func save(to directory: URL, tokenizer: (any Tokenizer)? = nil) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try trunk.saveConfiguration(to: directory.appendingPathComponent("config.json"), architecture: trunk.classifierArchitecture,
                                    labelCount: score.weight.shape[0])
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
        try tokenizer?.save(to: directory)
    }
}
