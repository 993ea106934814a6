// Reductions: sum, mean and max over everything or one axis; masked mean.

import Kernels

extension Tensor {
    /// The sum of all elements, a scalar.
    public func sum() -> Tensor {
        let out = Tensor(scalar: sumElements(data, count: count))
        return Tensor.record(out, inputs: [self]) { [self] _, gradient in
            accumulateConstant(gradient.data[0], into: gradientStorage(), count: count)
        }
    }

    /// The mean of all elements, a scalar.
    public func mean() -> Tensor {
        require(count > 0, "mean of an empty tensor")
        return sum() * (1 / Float(count))
    }

    /// Sums along `axis`, removing it (or keeping it with size 1 when `keepingAxis`).
    public func sum(axis: Int, keepingAxis: Bool = false) -> Tensor {
        let a = normalizedAxis(axis)
        let outer = shape[..<a].reduce(1, *), size = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        if keepingAxis { outShape[a] = 1 } else { outShape.remove(at: a) }
        let out = Tensor(zeros: outShape)
        reduceSum(data, outer: outer, size: size, inner: inner, out.data)
        return Tensor.record(out, inputs: [self]) { [self] _, gradient in
            reduceSumBackward(gradient.data, outer: outer, size: size, inner: inner, dx: gradientStorage())
        }
    }

    /// Means along `axis`.
    public func mean(axis: Int, keepingAxis: Bool = false) -> Tensor {
        let n = shape[normalizedAxis(axis)]
        require(n > 0, "mean over an empty axis \(axis) of \(shape)")
        return sum(axis: axis, keepingAxis: keepingAxis) * (1 / Float(n))
    }

    /// Maxima along `axis`; the gradient goes to the first maximal element.
    public func max(axis: Int, keepingAxis: Bool = false) -> Tensor {
        let a = normalizedAxis(axis)
        let outer = shape[..<a].reduce(1, *), size = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        if keepingAxis { outShape[a] = 1 } else { outShape.remove(at: a) }
        let out = Tensor(zeros: outShape)
        let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(outer * inner, 1))
        reduceMax(data, outer: outer, size: size, inner: inner, out.data, argmax: argmax)
        let indices = Array(UnsafeBufferPointer(start: argmax, count: outer * inner))
        argmax.deallocate()
        return Tensor.record(out, inputs: [self]) { [self] _, gradient in
            indices.withUnsafeBufferPointer {
                reduceMaxBackward(gradient.data, argmax: $0.baseAddress!, outer: outer, size: size, inner: inner, dx: gradientStorage())
            }
        }
    }

    /// The largest element, a scalar; the gradient goes to the first maximal element.
    public func max() -> Tensor { reshaped([count]).max(axis: 0) }
}

/// Σ x·mask / Σ mask over all elements (mask of x's shape or a suffix of it, 0/1 weights, not
/// differentiated): the mean over the positions the mask selects.
public func maskedMean(_ x: Tensor, mask: Tensor) -> Tensor {
    require(mask.rank <= x.rank && Array(x.shape.suffix(mask.rank)) == mask.shape,
            "maskedMean: mask shape \(mask.shape) must equal x's shape \(x.shape) or a suffix of it")
    let weights = mask.detached()
    let broadcastCount = x.count / Swift.max(weights.count, 1)
    let total = sumElements(weights.data, count: weights.count) * Float(broadcastCount)
    require(total != 0, "maskedMean: the mask selects no element")
    return (x * weights).sum() * (1 / total)
}

/// Σ x·mask / Σ mask along `axis` (mask of x's shape): a masked mean per row.
public func maskedMean(_ x: Tensor, mask: Tensor, axis: Int) -> Tensor {
    require(mask.shape == x.shape, "maskedMean(axis:): mask shape \(mask.shape) differs from \(x.shape)")
    let weights = mask.detached()
    let counts = withNoGrad { weights.sum(axis: axis) }
    for i in 0..<counts.count where counts.data[i] == 0 { counts.data[i] = 1 }  // empty rows give 0
    return (x * weights).sum(axis: axis) / counts
}
