// Softmax and log-softmax over the last dimension. Shapes: x, y (N, V) with N rows.

import Foundation

/// Maximum of `count` floats (−inf for none) with 16-lane accumulators.
@inlinable
public func maximumElement(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var best = FloatVector(repeating: -.infinity)
    var i = 0
    while i + 16 <= count { best = vectorMaximum(best, x.vector(at: i)); i += 16 }
    var result = best.max()
    while i < count { result = Swift.max(result, x[i]); i += 1 }
    return result
}

/// Σ exp(x − shift) over `count` floats, optionally storing each exp into `out`.
@inlinable
public func sumExponentials(
    _ x: UnsafePointer<Float>, count: Int, shift: Float, storeInto out: UnsafeMutablePointer<Float>? = nil
) -> Float {
    var sum = FloatVector()
    var i = 0
    while i + 16 <= count {
        let e = vectorExp(x.vector(at: i) - shift)
        out?.storeVector(e, at: i)
        sum += e
        i += 16
    }
    var total = sum.sum()
    while i < count {
        let e = Foundation.exp(x[i] - shift)
        out?[i] = e
        total += e
        i += 1
    }
    return total
}

/// log Σ exp(x) of one row, stable (the max is subtracted first).
@inlinable
public func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
    let m = maximumElement(x, count: count)
    if m == -.infinity { return -.infinity }
    return m + Foundation.log(sumExponentials(x, count: count, shift: m))
}

/// y = softmax(x) (log: y = x − logsumexp(x)) per row of V.
public func softmaxForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows N: Int, columns V: Int, log: Bool
) {
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 8192 / max(V, 1))) { rows in
        for row in rows {
            let xRow = x + row * V, yRow = y + row * V
            let m = maximumElement(xRow, count: V)
            let total = sumExponentials(xRow, count: V, shift: m, storeInto: log ? nil : yRow)
            if log {
                let lse = m + Foundation.log(total)
                for j in 0..<V { yRow[j] = xRow[j] - lse }
            } else {
                let inverse = 1 / total
                for j in 0..<V { yRow[j] *= inverse }
            }
        }
    }
}

/// Backward of `softmaxForward` from its output y:
/// softmax: dx += y ⊙ (dy − Σ dy·y); log-softmax: dx += dy − exp(y) · Σ dy.
public func softmaxBackward(
    _ y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    rows N: Int, columns V: Int, log: Bool
) {
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 8192 / max(V, 1))) { rows in
        for row in rows {
            let yRow = y + row * V, dyRow = dy + row * V, dxRow = dx + row * V
            if log {
                let total = sumElements(dyRow, count: V)
                var j = 0
                while j + 16 <= V {
                    let value = dyRow.vector(at: j) - vectorExp(yRow.vector(at: j)) * total
                    dxRow.storeVector(dxRow.vector(at: j) + value, at: j)
                    j += 16
                }
                while j < V { dxRow[j] += dyRow[j] - Foundation.exp(yRow[j]) * total; j += 1 }
            } else {
                var dot = FloatVector()
                var j = 0
                while j + 16 <= V { dot = dot.addingProduct(yRow.vector(at: j), dyRow.vector(at: j)); j += 16 }
                var total = dot.sum()
                while j < V { total += yRow[j] * dyRow[j]; j += 1 }
                j = 0
                while j + 16 <= V {
                    let value = yRow.vector(at: j) * (dyRow.vector(at: j) - total)
                    dxRow.storeVector(dxRow.vector(at: j) + value, at: j)
                    j += 16
                }
                while j < V { dxRow[j] += yRow[j] * (dyRow[j] - total); j += 1 }
            }
        }
    }
}

/// Naive softmax in Double: the reference for `softmaxForward`.
public func softmaxReference(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows N: Int, columns V: Int, log: Bool
) {
    for row in 0..<N {
        var m = -Double.infinity
        for j in 0..<V { m = Swift.max(m, Double(x[row * V + j])) }
        var total = 0.0
        for j in 0..<V { total += Foundation.exp(Double(x[row * V + j]) - m) }
        for j in 0..<V {
            let logp = Double(x[row * V + j]) - m - Foundation.log(total)
            y[row * V + j] = Float(log ? logp : Foundation.exp(logp))
        }
    }
}
