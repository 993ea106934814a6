// Integer tensors for token ids, targets and gather indices (never differentiated).

import Kernels

/// A row-major array of Int32 with a shape: token ids (B, T), targets, gather indices.
public struct IndexTensor: Equatable, Sendable {
    /// The extent of each dimension.
    public let shape: [Int]
    /// The elements, row-major; count = Π shape.
    public var values: [Int32]

    /// Wraps `values` (their count must equal Π shape).
    public init(shape: [Int], values: [Int32]) {
        let count = shape.reduce(1, *)
        require(values.count == count, "index tensor: shape \(shape) needs \(count) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }

    /// Wraps `Int` values (each must fit in Int32).
    public init(shape: [Int], values: [Int]) {
        self.init(shape: shape, values: values.map { Int32($0) })
    }

    /// The number of elements.
    public var count: Int { values.count }
}
