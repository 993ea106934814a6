// Heads on the GPT-2 trunk: TRL's value head and Hugging Face's sequence-classification head.

import Kernels
import NN
import Tensors

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

/// A causal LM with a value head on its trunk, named as TRL's
/// `AutoModelForCausalLMWithValueHead` saves it: the LM's own names plus `v_head.summary.*`.
public final class GPT2WithValueHead: Module {
    /// The policy.
    public let model: GPT2LMHeadModel
    /// The value head.
    public let valueHead: ValueHead

    /// Wraps `model` with a new value head, all zeros (``ValueHead/init(channels:)``).
    public init(model: GPT2LMHeadModel) {
        self.model = model
        valueHead = ValueHead(channels: model.configuration.embeddingDimension)
    }

    /// The LM's parameters, then `v_head.summary.weight` and `v_head.summary.bias`.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        model.namedParameters() + valueHead.namedParameters().map { ("v_head." + $0.name, $0.tensor) }
    }

    /// Logits (B, T, V) and values (B, T) from one pass of the trunk.
    public func callAsFunction(_ ids: IndexTensor, positions: IndexTensor? = nil, mask: Tensor? = nil) -> (logits: Tensor, values: Tensor) {
        let hidden = model.transformer(ids, positions: positions, mask: mask)
        return (model.logits(hidden: hidden), valueHead(hidden))
    }
}

/// Hugging Face's `GPT2ForSequenceClassification`: the trunk and `score` (num_labels, C, no bias),
/// read at each row's last non-padding token.
public final class GPT2ForSequenceClassification: Module {
    /// The trunk (names `transformer.*`).
    public var transformer: GPT2Model
    /// (num_labels, C).
    public var score: Linear
    /// Where dropout masks come from; save `source.generator` to resume a run exactly.
    public let source: RandomSource

    /// A classifier over `labels` outputs with a new trunk; the score weight is N(0, std²), std
    /// defaulting to 1/√(C + 1) (openai/lm-human-preferences' reward-head init).
    public convenience init(_ configuration: GPT2Configuration, labels: Int = 1, standardDeviation: Float? = nil, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        let source = RandomSource(seed: seed ^ 0x5EED)
        let transformer = GPT2Model(configuration, generator: &generator, source: source)
        self.init(transformer: transformer, source: source, labels: labels, standardDeviation: standardDeviation, generator: &generator)
    }

    /// A classifier on an existing trunk (e.g. a causal LM's `transformer`, whose dropout layers
    /// draw from `source`); the new score weight is N(0, std²), std defaulting to 1/√(C + 1).
    public convenience init(transformer: GPT2Model, source: RandomSource, labels: Int = 1, standardDeviation: Float? = nil, seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        self.init(transformer: transformer, source: source, labels: labels, standardDeviation: standardDeviation, generator: &generator)
    }

    init(transformer: GPT2Model, source: RandomSource, labels: Int, standardDeviation: Float?, generator: inout RandomGenerator) {
        self.transformer = transformer
        self.source = source
        let C = transformer.configuration.embeddingDimension
        score = Linear(inputs: C, outputs: labels, bias: false,
                       standardDeviation: standardDeviation ?? 1 / Float(C + 1).squareRoot(), generator: &generator)
    }

    /// Scores (B, num_labels) at the last position whose mask is 1 in each row (the last
    /// position when there is no mask).
    public func callAsFunction(_ ids: IndexTensor, positions: IndexTensor? = nil, mask: Tensor? = nil) -> Tensor {
        let hidden = transformer(ids, positions: positions, mask: mask)
        let (B, T, C) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
        var last = [Int32](repeating: Int32(T - 1), count: B)
        if let mask {
            for b in 0..<B {
                let row = (0..<T).filter { mask.data[b * T + $0] != 0 }
                require(!row.isEmpty, "GPT2ForSequenceClassification: row \(b) has no real token")
                last[b] = Int32(row.last!)
            }
        }
        let index = IndexTensor(shape: [B, 1, C], values: last.flatMap { Array(repeating: $0, count: C) })
        return score(gather(hidden, axis: 1, index: index).reshaped([B, C]))
    }
}
