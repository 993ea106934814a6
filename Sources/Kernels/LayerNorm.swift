// Layer normalization over the last dimension (llm.c's layernorm_forward/backward).
// Shapes: x, out (N, C) with N = B·T rows; weight, bias (C); mean, rstd (N) saved for backward.

/// out = (x − mean) · rstd · weight + bias per row; writes mean and rstd (1/√(var + ε)).
/// Variance is the biased one, as torch.nn.LayerNorm uses.
public func layerNormForward(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    rows N: Int, channels C: Int, epsilon: Float
) {
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 4096 / max(C, 1))) { rows in
        for row in rows {
            let xRow = x + row * C
            var sum = FloatVector()
            var j = 0
            while j + 16 <= C { sum += xRow.vector(at: j); j += 16 }
            var total = sum.sum()
            while j < C { total += xRow[j]; j += 1 }
            let m = total / Float(C)
            var squares = FloatVector()
            j = 0
            while j + 16 <= C { let d = xRow.vector(at: j) - m; squares = squares.addingProduct(d, d); j += 16 }
            var variance = squares.sum()
            while j < C { let d = xRow[j] - m; variance += d * d; j += 1 }
            let s = 1 / (variance / Float(C) + epsilon).squareRoot()
            let o = out + row * C
            j = 0
            while j + 16 <= C {
                let normalized = (xRow.vector(at: j) - m) * s
                o.storeVector(bias.vector(at: j).addingProduct(normalized, weight.vector(at: j)), at: j)
                j += 16
            }
            while j < C { o[j] = (xRow[j] - m) * s * weight[j] + bias[j]; j += 1 }
            mean[row] = m
            rstd[row] = s
        }
    }
}

/// Backward of `layerNormForward`: dx += …, dweight += Σ_rows dout·x̂, dbias += Σ_rows dout.
///
/// dx (per row): rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) with dx̂ = weight · dout.
/// dweight and dbias are summed over fixed row blocks, then the blocks in order (deterministic).
public func layerNormBackward(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, mean: UnsafePointer<Float>,
    rstd: UnsafePointer<Float>, dout: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
    dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
    rows N: Int, channels C: Int
) {
    let pool = ThreadPool.shared
    let blocks = pool.chunkCount(N, minimumChunk: max(1, 4096 / max(C, 1)))
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: blocks * 2 * C)
    partial.initialize(repeating: 0, count: blocks * 2 * C)
    defer { partial.deallocate() }
    pool.parallelFor(blocks) { blockRange in
        for block in blockRange {
            let dw = partial + block * 2 * C
            let db = dw + C
            for row in chunkRange(block, of: blocks, count: N) {
                let xRow = x + row * C, dRow = dout + row * C
                let m = mean[row], s = rstd[row]
                var sumD = FloatVector(), sumDX = FloatVector()
                var j = 0
                while j + 16 <= C {
                    let normalized = (xRow.vector(at: j) - m) * s
                    let d = dRow.vector(at: j)
                    let dNormalized = weight.vector(at: j) * d
                    sumD += dNormalized
                    sumDX = sumDX.addingProduct(dNormalized, normalized)
                    dw.storeVector(dw.vector(at: j).addingProduct(d, normalized), at: j)
                    db.storeVector(db.vector(at: j) + d, at: j)
                    j += 16
                }
                var meanD = sumD.sum(), meanDX = sumDX.sum()
                while j < C {
                    let normalized = (xRow[j] - m) * s
                    let dNormalized = weight[j] * dRow[j]
                    meanD += dNormalized
                    meanDX += dNormalized * normalized
                    dw[j] += dRow[j] * normalized
                    db[j] += dRow[j]
                    j += 1
                }
                meanD /= Float(C)
                meanDX /= Float(C)
                guard let dx else { continue }
                let dxRow = dx + row * C
                j = 0
                while j + 16 <= C {
                    let normalized = (xRow.vector(at: j) - m) * s
                    let dNormalized = weight.vector(at: j) * dRow.vector(at: j)
                    let value = (dNormalized - meanD - normalized * meanDX) * s
                    dxRow.storeVector(dxRow.vector(at: j) + value, at: j)
                    j += 16
                }
                while j < C {
                    let normalized = (xRow[j] - m) * s
                    dxRow[j] += (weight[j] * dRow[j] - meanD - normalized * meanDX) * s
                    j += 1
                }
            }
        }
    }
    for block in 0..<blocks {
        let dw = partial + block * 2 * C
        if let dweight { accumulate(dw, into: dweight, count: C) }
        if let dbias { accumulate(dw + C, into: dbias, count: C) }
    }
}

/// Naive layer norm in Double: the reference for `layerNormForward`.
public func layerNormReference(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, rows N: Int, channels C: Int, epsilon: Float
) {
    for row in 0..<N {
        var m = 0.0
        for j in 0..<C { m += Double(x[row * C + j]) }
        m /= Double(C)
        var v = 0.0
        for j in 0..<C { let d = Double(x[row * C + j]) - m; v += d * d }
        v /= Double(C)
        let s = 1 / (v + Double(epsilon)).squareRoot()
        for j in 0..<C {
            out[row * C + j] = Float((Double(x[row * C + j]) - m) * s * Double(weight[j]) + Double(bias[j]))
        }
    }
}
