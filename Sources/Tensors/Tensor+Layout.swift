// Shape and layout ops: reshape (shares storage), permute/transpose, slice, concat, gather.

import Kernels

extension Tensor {
    /// The same elements with another shape of equal count; one dimension may be −1 (inferred).
    /// Shares storage with `self`.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let unknown = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != unknown }.map(\.element).reduce(1, *)
            require(known > 0 && count % known == 0, "reshape: cannot infer −1 in \(newShape) for \(count) elements")
            target[unknown] = count / known
        }
        require(target.reduce(1, *) == count, "reshape: shape \(shape) (\(count) elements) cannot become \(newShape)")
        let out = Tensor(shape: target, storage: storage)
        return Tensor.record(out, inputs: [self]) { [self] _, gradient in
            accumulate(gradient.data, into: gradientStorage(), count: count)
        }
    }

    /// The axes reordered: result axis i is axis `permutation[i]` of `self` (a copy).
    public func permuted(_ permutation: [Int]) -> Tensor {
        require(permutation.count == rank, "permute: \(permutation) for a tensor of rank \(rank)")
        let axes = permutation.map { normalizedAxis($0) }
        let out = Tensor(zeros: axes.map { shape[$0] })
        permuteCopy(data, shape: shape, permutation: axes, out.data)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in axes.enumerated() { inverse[axis] = i }
        return Tensor.record(out, inputs: [self]) { [self] output, gradient in
            permuteCopy(gradient.data, shape: output.shape, permutation: inverse, gradientStorage(), accumulate: true)
        }
    }

    /// Swaps two axes (a copy).
    public func transposed(_ first: Int = -2, _ second: Int = -1) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(normalizedAxis(first), normalizedAxis(second))
        return permuted(axes)
    }

    /// Elements `range` along `axis` (a copy).
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxis(axis)
        require(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice: range \(range) outside 0..<\(shape[a]) on axis \(a) of \(shape)")
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = range.count
        let out = Tensor(zeros: outShape)
        sliceCopy(data, outer: outer, size: shape[a], inner: inner, start: range.lowerBound, length: range.count, out.data)
        return Tensor.record(out, inputs: [self]) { [self] _, gradient in
            sliceAccumulate(gradient.data, outer: outer, size: shape[a], inner: inner, start: range.lowerBound,
                            length: range.count, into: gradientStorage())
        }
    }
}

/// Joins tensors along `axis`; all other dimensions must agree.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    require(!tensors.isEmpty, "concat: no tensors")
    let first = tensors[0]
    let a = first.normalizedAxis(axis)
    for t in tensors {
        require(t.rank == first.rank && t.shape[..<a] == first.shape[..<a] && t.shape[(a + 1)...] == first.shape[(a + 1)...],
                     "concat: shape \(t.shape) does not match \(first.shape) outside axis \(a)")
    }
    let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
    let total = tensors.reduce(0) { $0 + $1.shape[a] }
    var outShape = first.shape
    outShape[a] = total
    let out = Tensor(zeros: outShape)
    var starts: [Int] = []
    var start = 0
    for t in tensors {
        starts.append(start)
        sliceAssign(t.data, outer: outer, size: total, inner: inner, start: start, length: t.shape[a], into: out.data)
        start += t.shape[a]
    }
    return Tensor.record(out, inputs: tensors) { _, gradient in
        for (t, begin) in zip(tensors, starts) where t.requiresGrad {
            sliceAccumulateFrom(gradient.data, outer: outer, size: total, inner: inner, start: begin,
                                length: t.shape[a], into: t.gradientStorage())
        }
    }
}

/// torch.gather: out[…, i, …] = x[…, index[…, i, …], …] along `axis`. `index` has x's rank and
/// x's dimensions except along `axis`.
public func gather(_ x: Tensor, axis: Int, index: IndexTensor) -> Tensor {
    let a = x.normalizedAxis(axis)
    require(index.shape.count == x.rank, "gather: index of shape \(index.shape) for input \(x.shape), ranks differ")
    for d in 0..<x.rank where d != a {
        require(index.shape[d] == x.shape[d], "gather: index shape \(index.shape) differs from input \(x.shape) on axis \(d)")
    }
    let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
    let out = Tensor(zeros: index.shape)
    index.values.withUnsafeBufferPointer {
        gatherForward(x.data, index: $0.baseAddress!, out.data, outer: outer, size: x.shape[a], count: index.shape[a], inner: inner)
    }
    return Tensor.record(out, inputs: [x]) { _, gradient in
        index.values.withUnsafeBufferPointer {
            gatherBackward(index: $0.baseAddress!, dout: gradient.data, dx: x.gradientStorage(), outer: outer,
                           size: x.shape[a], count: index.shape[a], inner: inner)
        }
    }
}
