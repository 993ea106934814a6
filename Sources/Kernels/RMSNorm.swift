// Root-mean-square layer normalization over the last dimension, without mean subtraction or bias:
// T5's `T5LayerNorm` (and Llama's `LlamaRMSNorm`). out = x · rstd · weight, rstd = 1/√(mean(x²) + ε).
// Shapes: x, out (N, C) with N = B·T rows; weight (C); rstd (N) saved for backward.

/// out = x · rstd · weight per row; writes rstd.
public func rmsNormForward(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
    rstd: UnsafeMutablePointer<Float>, rows N: Int, channels C: Int, epsilon: Float
) {
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 4096 / max(C, 1))) { rows in
        for row in rows {
            let xRow = x + row * C
            var squares = FloatVector()
            var j = 0
            while j + 16 <= C { let v = xRow.vector(at: j); squares = squares.addingProduct(v, v); j += 16 }
            var total = squares.sum()
            while j < C { total += xRow[j] * xRow[j]; j += 1 }
            let s = 1 / (total / Float(C) + epsilon).squareRoot()
            let o = out + row * C
            j = 0
            while j + 16 <= C { o.storeVector(xRow.vector(at: j) * s * weight.vector(at: j), at: j); j += 16 }
            while j < C { o[j] = xRow[j] * s * weight[j]; j += 1 }
            rstd[row] = s
        }
    }
}

/// Backward of `rmsNormForward`: dx += rstd · (dx̂ − x̂ · mean(dx̂ · x̂)) with x̂ = x · rstd and
/// dx̂ = weight · dout; dweight += Σ_rows dout · x̂ (row blocks summed in order: deterministic).
public func rmsNormBackward(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    dout: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
    rows N: Int, channels C: Int
) {
    let pool = ThreadPool.shared
    let blocks = pool.chunkCount(N, minimumChunk: max(1, 4096 / max(C, 1)))
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: blocks * C)
    partial.initialize(repeating: 0, count: blocks * C)
    defer { partial.deallocate() }
    pool.parallelFor(blocks) { blockRange in
        for block in blockRange {
            let dw = partial + block * C
            for row in chunkRange(block, of: blocks, count: N) {
                let xRow = x + row * C, dRow = dout + row * C
                let s = rstd[row]
                var sumDX = FloatVector()
                var j = 0
                while j + 16 <= C {
                    let normalized = xRow.vector(at: j) * s
                    let d = dRow.vector(at: j)
                    sumDX = sumDX.addingProduct(weight.vector(at: j) * d, normalized)
                    dw.storeVector(dw.vector(at: j).addingProduct(d, normalized), at: j)
                    j += 16
                }
                var meanDX = sumDX.sum()
                while j < C {
                    let normalized = xRow[j] * s
                    meanDX += weight[j] * dRow[j] * normalized
                    dw[j] += dRow[j] * normalized
                    j += 1
                }
                meanDX /= Float(C)
                guard let dx else { continue }
                let dxRow = dx + row * C
                j = 0
                while j + 16 <= C {
                    let normalized = xRow.vector(at: j) * s
                    let value = (weight.vector(at: j) * dRow.vector(at: j) - normalized * meanDX) * s
                    dxRow.storeVector(dxRow.vector(at: j) + value, at: j)
                    j += 16
                }
                while j < C {
                    dxRow[j] += (weight[j] * dRow[j] - xRow[j] * s * meanDX) * s
                    j += 1
                }
            }
        }
    }
    if let dweight {
        for block in 0..<blocks { accumulate(partial + block * C, into: dweight, count: C) }
    }
}
