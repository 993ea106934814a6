// Binary elementwise ops with broadcasting over leading dimensions, and buffer utilities.
//
// Broadcasting: one operand has `count` elements, the other `inner` elements with count % inner == 0
// (its shape is a suffix of the other's); it repeats `count / inner` times. Backward kernels
// accumulate. Reductions over the repeats are split by columns, so they are deterministic.

/// The binary elementwise operations.
public enum BinaryOperation: Sendable {
    case add, subtract, multiply, divide, minimum, maximum

    /// The scalar result, the reference for the vector path.
    @inlinable @inline(__always)
    public func value(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        case .minimum: return b < a ? b : a
        case .maximum: return b > a ? b : a
        }
    }

    @inlinable @inline(__always)
    func vectorValue(_ a: FloatVector, _ b: FloatVector) -> FloatVector {
        switch self {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        case .minimum: return a.replacing(with: b, where: b .< a)
        case .maximum: return a.replacing(with: b, where: b .> a)
        }
    }

    /// ∂(a ∘ b)/∂a and ∂(a ∘ b)/∂b at (a, b). Ties of minimum/maximum send the gradient to `a`.
    @inlinable @inline(__always)
    public func partials(_ a: Float, _ b: Float) -> (Float, Float) {
        switch self {
        case .add: return (1, 1)
        case .subtract: return (1, -1)
        case .multiply: return (b, a)
        case .divide: return (1 / b, -a / (b * b))
        case .minimum: return b < a ? (0, 1) : (1, 0)
        case .maximum: return b > a ? (0, 1) : (1, 0)
        }
    }
}

/// out = a ∘ b with broadcasting: `out` has max(aCount, bCount) elements and the smaller count
/// divides the larger.
public func binaryForward(
    _ operation: BinaryOperation, _ a: UnsafePointer<Float>, aCount: Int,
    _ b: UnsafePointer<Float>, bCount: Int, _ out: UnsafeMutablePointer<Float>
) {
    let count = max(aCount, bCount)
    require(aCount > 0 && bCount > 0 || count == 0, "binary op: empty operand")
    if count == 0 { return }
    require(count % aCount == 0 && count % bCount == 0, "binary op: \(aCount) and \(bCount) elements do not broadcast")
    if aCount == bCount {
        parallelElements(count) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                out.storeVector(operation.vectorValue(a.vector(at: i), b.vector(at: i)), at: i)
                i += 16
            }
            while i < range.upperBound { out[i] = operation.value(a[i], b[i]); i += 1 }
        }
        return
    }
    let inner = min(aCount, bCount)
    let rows = count / inner
    let aRepeats = aCount < bCount
    ThreadPool.shared.parallelFor(rows, minimumChunk: max(1, (1 << 15) / inner)) { rowRange in
        for row in rowRange {
            let o = out + row * inner
            let aRow = aRepeats ? a : a + row * inner
            let bRow = aRepeats ? b + row * inner : b
            var j = 0
            while j + 16 <= inner {
                o.storeVector(operation.vectorValue(aRow.vector(at: j), bRow.vector(at: j)), at: j)
                j += 16
            }
            while j < inner { o[j] = operation.value(aRow[j], bRow[j]); j += 1 }
        }
    }
}

/// Backward of `binaryForward`: da += ∂/∂a · dout and db += ∂/∂b · dout, each summed over the
/// repeats of a broadcast operand. Pass nil for an operand that needs no gradient.
public func binaryBackward(
    _ operation: BinaryOperation, _ a: UnsafePointer<Float>, aCount: Int,
    _ b: UnsafePointer<Float>, bCount: Int, dout: UnsafePointer<Float>,
    da: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?
) {
    let count = max(aCount, bCount)
    if count == 0 { return }
    let inner = min(aCount, bCount)
    let rows = count / inner
    if aCount == bCount {
        parallelElements(count) { range in
            for i in range {
                let (pa, pb) = operation.partials(a[i], b[i])
                da?[i] += pa * dout[i]
                db?[i] += pb * dout[i]
            }
        }
        return
    }
    let aRepeats = aCount < bCount
    // The full-size operand: one gradient element per output element, split by rows.
    ThreadPool.shared.parallelFor(rows, minimumChunk: max(1, (1 << 15) / inner)) { rowRange in
        for row in rowRange {
            for j in 0..<inner {
                let index = row * inner + j
                let (pa, pb) = operation.partials(aRepeats ? a[j] : a[index], aRepeats ? b[index] : b[j])
                if aRepeats { db?[index] += pb * dout[index] } else { da?[index] += pa * dout[index] }
            }
        }
    }
    // The broadcast operand: sum over rows, split by columns (deterministic order per column).
    guard let small = aRepeats ? da : db else { return }
    ThreadPool.shared.parallelFor(inner, minimumChunk: 64) { columns in
        for row in 0..<rows {
            for j in columns {
                let index = row * inner + j
                let (pa, pb) = operation.partials(aRepeats ? a[j] : a[index], aRepeats ? b[index] : b[j])
                small[j] += (aRepeats ? pa : pb) * dout[index]
            }
        }
    }
}

/// y = x · scale + shift, elementwise (x and y may alias).
public func affineForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float
) {
    parallelElements(count) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            y.storeVector(x.vector(at: i) * scale + shift, at: i)
            i += 16
        }
        while i < range.upperBound { y[i] = x[i] * scale + shift; i += 1 }
    }
}

/// dx += dy · scale, elementwise: the backward of `affineForward`, and gradient accumulation.
public func accumulate(
    _ dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, count: Int, scale: Float = 1
) {
    parallelElements(count) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            dx.storeVector(dx.vector(at: i).addingProduct(dy.vector(at: i), scale), at: i)
            i += 16
        }
        while i < range.upperBound { dx[i] += dy[i] * scale; i += 1 }
    }
}

/// Sum over the repeats: out[j] += Σ_rows x[row·inner + j], split by columns (deterministic).
public func sumRows(
    _ x: UnsafePointer<Float>, rows: Int, inner: Int, into out: UnsafeMutablePointer<Float>, scale: Float = 1
) {
    ThreadPool.shared.parallelFor(inner, minimumChunk: 64) { columns in
        for row in 0..<rows {
            let xRow = x + row * inner
            for j in columns { out[j] += xRow[j] * scale }
        }
    }
}

/// Sum of `count` floats with 16-lane accumulators (Double for the final lanes sum).
public func sumElements(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var accumulator = FloatVector()
    var i = 0
    while i + 16 <= count { accumulator += x.vector(at: i); i += 16 }
    var total = Double(accumulator.sum())
    while i < count { total += Double(x[i]); i += 1 }
    return Float(total)
}

/// Copies `count` floats with memcpy (ranges must not overlap).
@inlinable
public func copyElements(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    destination.update(from: source, count: count)
}
