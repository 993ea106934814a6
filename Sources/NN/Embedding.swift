// The lookup-table layer: torch.nn.Embedding.

import Kernels
import Tensors

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
