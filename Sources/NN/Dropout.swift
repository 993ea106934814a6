// Inverted dropout, on only in training mode.

import Kernels
import Tensors

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
