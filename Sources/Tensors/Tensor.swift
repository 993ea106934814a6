// Tensor: Float32 storage, a shape, a gradient, and the link to the op that made it.
// Row-major and contiguous always; reshape shares storage, every other op allocates its result.

import Kernels

/// The memory behind one or more tensors (a reshape shares it). 64-byte aligned, zero-filled.
public final class TensorStorage: @unchecked Sendable {
    /// The first element.
    public let pointer: UnsafeMutablePointer<Float>
    /// The number of elements.
    public let count: Int

    /// Allocates `count` zeroed floats.
    public init(count: Int) {
        require(count >= 0, "tensor storage: negative element count \(count)")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        self.count = count
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// An n-dimensional array of Float32 that records the ops applied to it, for reverse-mode
/// differentiation.
///
/// A tensor created by an op while gradient recording is on (see `withNoGrad`) and from inputs
/// that require gradients remembers how to send its gradient back to them; `backward()` on a
/// scalar result fills `grad` of every leaf tensor (a parameter) that requires gradients.
public final class Tensor: CustomStringConvertible {
    /// The extent of each dimension, outermost first. `[]` is a scalar.
    public let shape: [Int]
    /// The number of elements, Π shape.
    public let count: Int
    /// The elements, row-major.
    public let storage: TensorStorage
    /// ∂loss/∂self after `backward()`, same shape; nil until a backward pass reaches this tensor.
    public var grad: Tensor?
    /// Whether gradients flow to (and through) this tensor.
    public var requiresGrad: Bool
    /// How to send this tensor's gradient to its inputs; nil for leaves and after `backward()`.
    var gradFunction: GradFunction?
    /// True for a result whose graph `backward()` freed: it can no longer pass gradients on.
    var graphReleased = false

    /// Wraps existing storage with a shape of the same element count.
    public init(shape: [Int], storage: TensorStorage, requiresGrad: Bool = false) {
        require(shape.allSatisfy { $0 >= 0 }, "tensor: negative dimension in shape \(shape)")
        let count = shape.reduce(1, *)
        require(count == storage.count, "tensor: shape \(shape) has \(count) elements, storage has \(storage.count)")
        self.shape = shape
        self.count = count
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// A zero-filled tensor.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: TensorStorage(count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A tensor holding `values` (row-major); their count must equal Π shape.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        let count = shape.reduce(1, *)
        require(values.count == count, "tensor: shape \(shape) needs \(count) values, got \(values.count)")
        self.init(zeros: shape, requiresGrad: requiresGrad)
        values.withUnsafeBufferPointer { if count > 0 { storage.pointer.update(from: $0.baseAddress!, count: count) } }
    }

    /// A tensor with every element equal to `value`.
    public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) {
        self.init(zeros: shape, requiresGrad: requiresGrad)
        storage.pointer.update(repeating: value, count: count)
    }

    /// A scalar (shape `[]`).
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [], values: [scalar], requiresGrad: requiresGrad)
    }

    /// Samples from N(mean, std²) with `generator`.
    public convenience init(
        normalShape shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
        generator: inout RandomGenerator, requiresGrad: Bool = false
    ) {
        self.init(zeros: shape, requiresGrad: requiresGrad)
        generator.fillNormal(UnsafeMutableBufferPointer(start: storage.pointer, count: count),
                             mean: mean, standardDeviation: standardDeviation)
    }

    /// Samples uniformly from [low, high) with `generator`.
    public convenience init(
        uniformShape shape: [Int], low: Float = 0, high: Float = 1,
        generator: inout RandomGenerator, requiresGrad: Bool = false
    ) {
        self.init(zeros: shape, requiresGrad: requiresGrad)
        for i in 0..<count { storage.pointer[i] = low + (high - low) * generator.nextFloat() }
    }

    /// The first element; read and written in place (the tensor must not be in use by a graph).
    public var data: UnsafeMutablePointer<Float> { storage.pointer }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// A copy of the elements, row-major.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// The single element of a one-element tensor.
    public var item: Float {
        require(count == 1, "item: tensor of shape \(shape) has \(count) elements, expected 1")
        return storage.pointer[0]
    }

    /// The element at a multi-dimensional index.
    public subscript(_ index: Int...) -> Float {
        get { storage.pointer[flatIndex(index)] }
        set { storage.pointer[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        require(index.count == rank, "subscript: \(index.count) indices for a rank-\(rank) tensor")
        var flat = 0
        for (axis, i) in index.enumerated() {
            require(i >= 0 && i < shape[axis], "subscript: index \(i) out of range 0..<\(shape[axis]) on axis \(axis)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    /// The size of dimension `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[normalizedAxis(axis)] }

    /// Maps a possibly negative axis into 0..<rank.
    public func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        require(a >= 0 && a < rank, "axis \(axis) is out of range for a tensor of shape \(shape)")
        return a
    }

    /// A copy that shares nothing and records nothing (no gradient).
    public func copy() -> Tensor {
        let result = Tensor(zeros: shape)
        if count > 0 { copyElements(storage.pointer, result.storage.pointer, count: count) }
        return result
    }

    /// The same storage without the graph: gradients do not flow through the result.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Overwrites the elements with `other`'s (same element count), outside the graph.
    public func assign(_ other: Tensor) {
        require(other.count == count, "assign: \(other.count) elements into a tensor of \(count)")
        if count > 0 { copyElements(other.storage.pointer, storage.pointer, count: count) }
    }

    /// The gradient buffer, created zero-filled on first use.
    public func gradientStorage() -> UnsafeMutablePointer<Float> {
        if let grad { return grad.storage.pointer }
        let fresh = Tensor(zeros: shape)
        grad = fresh
        return fresh.storage.pointer
    }

    /// Drops the gradient.
    public func zeroGrad() { grad = nil }

    /// A short description: shape and up to 8 leading values.
    public var description: String {
        let shown = scalars.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}

import Foundation
