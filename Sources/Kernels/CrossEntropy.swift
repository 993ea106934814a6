// Fused log-softmax + gather over a vocabulary, without a second V-sized buffer:
// cross-entropy, the log-probability of given tokens, and per-token entropy.
// Shapes: logits (N, V); targets (N) Int32; per-row outputs (N); lse (N) saved for backward.

import Foundation

/// Per-row cross-entropy −log softmax(x)[t]; rows whose target equals `ignoreIndex` get loss 0.
/// Also writes lse[row] = log Σ exp(x_row) for the backward pass.
///
/// A target outside 0..<V (other than the ignore index) is a precondition failure.
public func crossEntropyForward(
    logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, ignoreIndex: Int32,
    losses: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, rows N: Int, vocabulary V: Int
) {
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 8192 / max(V, 1))) { rows in
        for row in rows {
            let target = targets[row]
            if target == ignoreIndex { losses[row] = 0; lse[row] = 0; continue }
            require(target >= 0 && Int(target) < V, "cross-entropy: target \(target) at row \(row) is outside 0..<\(V)")
            let xRow = logits + row * V
            let l = logSumExp(xRow, count: V)
            lse[row] = l
            losses[row] = l - xRow[Int(target)]
        }
    }
}

/// Backward of `crossEntropyForward`: dlogits[row] += dloss[row] · (softmax(x_row) − onehot(t)),
/// skipping ignored rows. Also the backward of `tokenLogProbabilityForward` with −dlogp.
public func crossEntropyBackward(
    logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, ignoreIndex: Int32,
    lse: UnsafePointer<Float>, dloss: UnsafePointer<Float>, dlogits: UnsafeMutablePointer<Float>,
    rows N: Int, vocabulary V: Int
) {
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 8192 / max(V, 1))) { rows in
        for row in rows {
            let target = targets[row]
            if target == ignoreIndex { continue }
            let g = dloss[row]
            if g == 0 { continue }
            let xRow = logits + row * V, dRow = dlogits + row * V
            let shift = lse[row]
            var j = 0
            while j + 16 <= V {
                let p = vectorExp(xRow.vector(at: j) - shift)
                dRow.storeVector(dRow.vector(at: j).addingProduct(p, g), at: j)
                j += 16
            }
            while j < V { dRow[j] += g * Foundation.exp(xRow[j] - shift); j += 1 }
            dRow[Int(target)] -= g
        }
    }
}

/// logp[row] = log softmax(x_row)[t_row], the log-probability of the given tokens; writes lse.
/// Its backward is `crossEntropyBackward` with dloss = −dlogp.
public func tokenLogProbabilityForward(
    logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
    logProbabilities: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, rows N: Int, vocabulary V: Int
) {
    crossEntropyForward(logits: logits, targets: targets, ignoreIndex: Int32.min,
                        losses: logProbabilities, lse: lse, rows: N, vocabulary: V)
    for row in 0..<N { logProbabilities[row] = -logProbabilities[row] }
}

/// Per-row entropy H = −Σ p log p of softmax(x_row); writes lse. Logits of −inf (masked tokens)
/// have p = 0 and contribute nothing (not 0 · −inf).
public func entropyForward(
    logits: UnsafePointer<Float>, entropy: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
    rows N: Int, vocabulary V: Int
) {
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 8192 / max(V, 1))) { rows in
        for row in rows {
            let xRow = logits + row * V
            let l = logSumExp(xRow, count: V)
            var weighted = FloatVector()
            var j = 0
            while j + 16 <= V {
                let logp = maskedLogProbability(xRow.vector(at: j), l)
                weighted = weighted.addingProduct(vectorExp(logp), logp)
                j += 16
            }
            var total = weighted.sum()
            while j < V {
                let logp = xRow[j] == -.infinity ? 0 : xRow[j] - l
                total += Foundation.exp(logp) * logp
                j += 1
            }
            lse[row] = l
            entropy[row] = -total
        }
    }
}

/// log p = x − lse per lane, with 0 where x = −inf (so that p · log p is 0 · 0, not 0 · −inf).
@inlinable @inline(__always)
func maskedLogProbability(_ x: FloatVector, _ lse: Float) -> FloatVector {
    (x - lse).replacing(with: FloatVector(), where: x .== FloatVector(repeating: -.infinity))
}

/// Backward of `entropyForward`: dx_j += dH · (−p_j · (log p_j + H)); 0 where x_j = −inf.
public func entropyBackward(
    logits: UnsafePointer<Float>, entropy: UnsafePointer<Float>, lse: UnsafePointer<Float>,
    dentropy: UnsafePointer<Float>, dlogits: UnsafeMutablePointer<Float>, rows N: Int, vocabulary V: Int
) {
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 8192 / max(V, 1))) { rows in
        for row in rows {
            let g = dentropy[row]
            if g == 0 { continue }
            let xRow = logits + row * V, dRow = dlogits + row * V
            let l = lse[row], h = entropy[row]
            var j = 0
            while j + 16 <= V {
                let x = xRow.vector(at: j)
                let logp = maskedLogProbability(x, l)
                var p = vectorExp(logp)
                p.replace(with: FloatVector(), where: x .== FloatVector(repeating: -.infinity))
                dRow.storeVector(dRow.vector(at: j) - p * (logp + h) * g, at: j)
                j += 16
            }
            while j < V {
                if xRow[j] != -.infinity {
                    let logp = xRow[j] - l
                    dRow[j] -= Foundation.exp(logp) * (logp + h) * g
                }
                j += 1
            }
        }
    }
}

/// Naive cross-entropy in Double: the reference for `crossEntropyForward`.
public func crossEntropyReference(
    logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, ignoreIndex: Int32,
    losses: UnsafeMutablePointer<Float>, rows N: Int, vocabulary V: Int
) {
    for row in 0..<N {
        if targets[row] == ignoreIndex { losses[row] = 0; continue }
        var m = -Double.infinity
        for j in 0..<V { m = max(m, Double(logits[row * V + j])) }
        var total = 0.0
        for j in 0..<V { total += Foundation.exp(Double(logits[row * V + j]) - m) }
        losses[row] = Float(m + Foundation.log(total) - Double(logits[row * V + Int(targets[row])]))
    }
}
