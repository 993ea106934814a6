// Memory layout kernels: axis permutation, slices and concatenation along an axis, gather.
// A tensor of shape s viewed around axis d is (outer, s[d], inner) with outer = Π s[..<d] and
// inner = Π s[d+1...]; slice, concat and gather work on that view.

/// Copies `source` (shape `shape`, row-major) into `destination` with its axes permuted:
/// destination axis i is source axis `permutation[i]`. With `accumulate`, adds instead of copying.
public func permuteCopy(
    _ source: UnsafePointer<Float>, shape: [Int], permutation: [Int],
    _ destination: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    let rank = shape.count
    require(permutation.sorted() == Array(0..<rank), "permute: \(permutation) is not a permutation of 0..<\(rank)")
    let count = shape.reduce(1, *)
    if count == 0 { return }
    var sourceStrides = [Int](repeating: 1, count: rank)
    for axis in stride(from: rank - 2, through: 0, by: -1) { sourceStrides[axis] = sourceStrides[axis + 1] * shape[axis + 1] }
    let outShape = permutation.map { shape[$0] }
    let strides = permutation.map { sourceStrides[$0] }  // source stride of each destination axis
    let innerCount = outShape.last ?? 1
    let innerStride = strides.last ?? 1
    let outerCount = count / innerCount
    var index = [Int](repeating: 0, count: max(rank - 1, 0))
    var offset = 0
    for row in 0..<outerCount {
        let target = destination + row * innerCount
        if accumulate {
            for j in 0..<innerCount { target[j] += source[offset + j * innerStride] }
        } else {
            for j in 0..<innerCount { target[j] = source[offset + j * innerStride] }
        }
        // Advance the odometer over the outer destination axes.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < outShape[axis] { break }
            offset -= strides[axis] * outShape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// Copies rows `start ..< start + length` of the middle axis of (outer, size, inner) into
/// (outer, length, inner).
public func sliceCopy(
    _ source: UnsafePointer<Float>, outer: Int, size: Int, inner: Int, start: Int, length: Int,
    _ destination: UnsafeMutablePointer<Float>
) {
    for o in 0..<outer {
        (destination + o * length * inner).update(from: source + (o * size + start) * inner, count: length * inner)
    }
}

/// Backward of `sliceCopy`: adds (outer, length, inner) into rows start ..< start+length of
/// (outer, size, inner).
public func sliceAccumulate(
    _ gradient: UnsafePointer<Float>, outer: Int, size: Int, inner: Int, start: Int, length: Int,
    into destination: UnsafeMutablePointer<Float>
) {
    for o in 0..<outer {
        let target = destination + (o * size + start) * inner, from = gradient + o * length * inner
        for j in 0..<(length * inner) { target[j] += from[j] }
    }
}

/// Gather along the middle axis: out[o, i, n] = x[o, index[o, i, n], n] with x (outer, size, inner)
/// and index, out (outer, count, inner). An index outside 0..<size is a precondition failure.
public func gatherForward(
    _ x: UnsafePointer<Float>, index: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<Float>,
    outer: Int, size: Int, count: Int, inner: Int
) {
    for o in 0..<outer {
        for i in 0..<count {
            for n in 0..<inner {
                let at = (o * count + i) * inner + n
                let k = Int(index[at])
                require(k >= 0 && k < size, "gather: index \(k) at element \(at) is outside 0..<\(size)")
                out[at] = x[(o * size + k) * inner + n]
            }
        }
    }
}

/// Backward of `gatherForward` (scatter-add): dx[o, index[o, i, n], n] += dout[o, i, n].
public func gatherBackward(
    index: UnsafePointer<Int32>, dout: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    outer: Int, size: Int, count: Int, inner: Int
) {
    for o in 0..<outer {
        for i in 0..<count {
            for n in 0..<inner {
                let at = (o * count + i) * inner + n
                dx[(o * size + Int(index[at])) * inner + n] += dout[at]
            }
        }
    }
}

/// Sum over the middle axis: out[o, n] = Σ_i x[o, i, n] for x (outer, size, inner).
public func reduceSum(
    _ x: UnsafePointer<Float>, outer: Int, size: Int, inner: Int, _ out: UnsafeMutablePointer<Float>
) {
    ThreadPool.shared.parallelFor(outer, minimumChunk: max(1, 16384 / max(size * inner, 1))) { range in
        for o in range {
            let target = out + o * inner
            if inner == 1 {
                target[0] = sumElements(x + o * size, count: size)
                continue
            }
            target.update(repeating: 0, count: inner)
            for i in 0..<size {
                let row = x + (o * size + i) * inner
                for n in 0..<inner { target[n] += row[n] }
            }
        }
    }
}

/// Maximum over the middle axis with the (first) argmax: out[o, n] = max_i x[o, i, n].
public func reduceMax(
    _ x: UnsafePointer<Float>, outer: Int, size: Int, inner: Int,
    _ out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>
) {
    require(size > 0, "max over an empty axis")
    for o in 0..<outer {
        for n in 0..<inner {
            var best = x[o * size * inner + n], at: Int32 = 0
            for i in 1..<max(size, 1) {
                let value = x[(o * size + i) * inner + n]
                if value > best || (value != value && best == best) { best = value; at = Int32(i) }
            }
            out[o * inner + n] = best
            argmax[o * inner + n] = at
        }
    }
}

/// Writes (outer, length, inner) into rows start ..< start+length of (outer, size, inner): the
/// forward of concatenation.
public func sliceAssign(
    _ source: UnsafePointer<Float>, outer: Int, size: Int, inner: Int, start: Int, length: Int,
    into destination: UnsafeMutablePointer<Float>
) {
    for o in 0..<outer {
        (destination + (o * size + start) * inner).update(from: source + o * length * inner, count: length * inner)
    }
}

/// Adds rows start ..< start+length of (outer, size, inner) into (outer, length, inner): the
/// backward of concatenation for one part.
public func sliceAccumulateFrom(
    _ source: UnsafePointer<Float>, outer: Int, size: Int, inner: Int, start: Int, length: Int,
    into destination: UnsafeMutablePointer<Float>
) {
    for o in 0..<outer {
        accumulate(source + (o * size + start) * inner, into: destination + o * length * inner, count: length * inner)
    }
}

/// Backward of `reduceSum`: dx[o, i, n] += dout[o, n] for every i.
public func reduceSumBackward(
    _ dout: UnsafePointer<Float>, outer: Int, size: Int, inner: Int, dx: UnsafeMutablePointer<Float>
) {
    ThreadPool.shared.parallelFor(outer, minimumChunk: max(1, 16384 / max(size * inner, 1))) { range in
        for o in range {
            for i in 0..<size {
                let target = dx + (o * size + i) * inner, source = dout + o * inner
                for n in 0..<inner { target[n] += source[n] }
            }
        }
    }
}

/// Backward of `reduceMax`: dx[o, argmax[o, n], n] += dout[o, n].
public func reduceMaxBackward(
    _ dout: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, outer: Int, size: Int, inner: Int,
    dx: UnsafeMutablePointer<Float>
) {
    for o in 0..<outer {
        for n in 0..<inner {
            dx[(o * size + Int(argmax[o * inner + n])) * inner + n] += dout[o * inner + n]
        }
    }
}
