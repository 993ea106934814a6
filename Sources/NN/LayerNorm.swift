// Layer normalization with a learned affine transform: torch.nn.LayerNorm.

import Tensors

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
