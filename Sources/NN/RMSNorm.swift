// RMS layer normalization with a learned scale: T5's `T5LayerNorm` (and Llama's `LlamaRMSNorm`).

import Tensors

/// x / √(mean(x²) + ε) · weight over the last dimension: no mean subtraction, no bias.
public final class RMSNorm: Module {
    /// (C), initially ones.
    public var weight: Tensor
    /// Added to the mean square (T5: `layer_norm_epsilon`, 1e-6).
    public let epsilon: Float

    /// A norm over `dimension` channels.
    public init(dimension: Int, epsilon: Float = 1e-6) {
        weight = Tensor(repeating: 1, shape: [dimension], requiresGrad: true)
        self.epsilon = epsilon
    }

    /// Normalizes x (…, C).
    public func callAsFunction(_ x: Tensor) -> Tensor { rmsNorm(x, weight: weight, epsilon: epsilon) }
}
