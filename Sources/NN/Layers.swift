// The basic layers: Linear, Embedding, LayerNorm, Dropout.

import Foundation
import Kernels
import Tensors

/// A shared, mutable random generator: dropout layers of one model draw from the same stream,
/// which the trainer saves and restores with its state.
public final class RandomSource {
    /// The generator; read and replace it to save or restore the stream.
    public var generator: RandomGenerator

    /// A source seeded with `seed`.
    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }
}

/// y = x·Wᵀ + b (torch.nn.Linear), or y = x·W + b with Hugging Face `Conv1D`'s (in, out) layout.
public final class Linear: Module {
    /// (out, in) for `.outputsByInputs`, (in, out) for `.inputsByOutputs`.
    public var weight: Tensor
    /// (out), or nil.
    public var bias: Tensor?
    /// How `weight` is stored.
    public let layout: LinearWeightLayout

    /// A layer with weight and bias drawn from U(−1/√in, 1/√in) (torch.nn.Linear's default), or,
    /// when `standardDeviation` is given, weight from N(0, std²) and a zero bias (GPT-2's init).
    public init(
        inputs: Int, outputs: Int, bias: Bool = true, layout: LinearWeightLayout = .outputsByInputs,
        standardDeviation: Float? = nil, generator: inout RandomGenerator
    ) {
        let shape = layout == .outputsByInputs ? [outputs, inputs] : [inputs, outputs]
        self.layout = layout
        if let standardDeviation {
            weight = Tensor(normalShape: shape, standardDeviation: standardDeviation, generator: &generator, requiresGrad: true)
            self.bias = bias ? Tensor(zeros: [outputs], requiresGrad: true) : nil
        } else {
            let bound = 1 / Float(inputs).squareRoot()
            weight = Tensor(uniformShape: shape, low: -bound, high: bound, generator: &generator, requiresGrad: true)
            self.bias = bias ? Tensor(uniformShape: [outputs], low: -bound, high: bound, generator: &generator, requiresGrad: true) : nil
        }
    }

    /// Wraps existing tensors (their shapes are checked).
    public init(weight: Tensor, bias: Tensor?, layout: LinearWeightLayout = .outputsByInputs) {
        require(weight.rank == 2, "Linear: weight must be rank 2, got \(weight.shape)")
        let outputs = layout == .outputsByInputs ? weight.shape[0] : weight.shape[1]
        if let bias { require(bias.shape == [outputs], "Linear: bias \(bias.shape), expected [\(outputs)]") }
        self.weight = weight
        self.bias = bias
        self.layout = layout
    }

    /// Applies the layer. - x: (…, in). Returns (…, out).
    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias, layout: layout) }
}

/// A lookup table of vectors (torch.nn.Embedding).
public final class Embedding: Module {
    /// (V, C).
    public var weight: Tensor

    /// A table of `count` vectors of `dimension`, drawn from N(0, std²) (torch's default std 1).
    public init(count: Int, dimension: Int, standardDeviation: Float = 1, generator: inout RandomGenerator) {
        weight = Tensor(normalShape: [count, dimension], standardDeviation: standardDeviation, generator: &generator, requiresGrad: true)
    }

    /// Wraps an existing (V, C) table.
    public init(weight: Tensor) {
        require(weight.rank == 2, "Embedding: weight must be (V, C), got \(weight.shape)")
        self.weight = weight
    }

    /// Looks up `ids` (…), giving (…, C).
    public func callAsFunction(_ ids: IndexTensor) -> Tensor { embedding(weight, ids: ids) }
}

/// Layer normalization over the last dimension (torch.nn.LayerNorm with an affine transform).
public final class LayerNorm: Module {
    /// (C), initially ones.
    public var weight: Tensor
    /// (C), initially zeros.
    public var bias: Tensor
    /// Added to the variance.
    public let epsilon: Float

    /// A layer norm over `dimension` channels.
    public init(dimension: Int, epsilon: Float = 1e-5) {
        weight = Tensor(repeating: 1, shape: [dimension], requiresGrad: true)
        bias = Tensor(zeros: [dimension], requiresGrad: true)
        self.epsilon = epsilon
    }

    /// Normalizes x (…, C).
    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, epsilon: epsilon) }
}

/// Inverted dropout, active only in training mode, drawing from a shared `RandomSource`.
public final class Dropout: Module, TrainingModeSettable {
    /// The probability of zeroing an element.
    public let probability: Float
    /// Training mode (dropout on) or evaluation mode (identity).
    public var isTraining = true
    /// Where the masks come from.
    public let source: RandomSource

    /// Dropout with probability `probability` drawing from `source`.
    public init(probability: Float, source: RandomSource) {
        require(probability >= 0 && probability < 1, "Dropout: probability \(probability) must be in [0, 1)")
        self.probability = probability
        self.source = source
    }

    /// Applies dropout in training mode; the identity otherwise.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return x }
        return dropout(x, probability: probability, generator: &source.generator)
    }

    /// Dropout has no parameters.
    public func namedParameters() -> [(name: String, tensor: Tensor)] { [] }
}
