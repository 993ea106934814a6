// Matrix products through BLAS: batched matmul with transposes, and the fused linear layer.

import Kernels

/// Batched matrix product op(a)·op(b).
///
/// - a: (…, M, K), or (…, K, M) with `transposeA`.
/// - b: (…, K, N), or (…, N, K) with `transposeB`; either the same leading (batch) dimensions as
///   `a`, or rank 2 (one matrix shared by every batch item).
/// - Returns: (…, M, N).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    require(a.rank >= 2 && b.rank >= 2, "matmul: operands need rank ≥ 2, got \(a.shape) and \(b.shape)")
    let batchShape = Array(a.shape.dropLast(2))
    let shared = b.rank == 2
    require(shared || Array(b.shape.dropLast(2)) == batchShape,
                 "matmul: batch dimensions \(batchShape) and \(Array(b.shape.dropLast(2))) differ (b may also be a single matrix)")
    let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let (M, K) = transposeA ? (ac, ar) : (ar, ac)
    let (KB, N) = transposeB ? (bc, br) : (br, bc)
    require(K == KB, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "") (\(K) vs \(KB))")
    let batch = batchShape.reduce(1, *)
    let out = Tensor(zeros: batchShape + [M, N])
    let strideA = ar * ac, strideB = shared ? 0 : br * bc, strideC = M * N
    if shared && !transposeA {
        // Fold the batch into the rows of A: one large product.
        gemm(transposeA: false, transposeB: transposeB, M: batch * M, N: N, K: K, alpha: 1,
             A: a.data, lda: ac, B: b.data, ldb: bc, beta: 0, C: out.data, ldc: N)
    } else {
        gemmBatched(batch: batch, transposeA: transposeA, transposeB: transposeB, M: M, N: N, K: K,
                    alpha: 1, A: a.data, lda: ac, strideA: strideA, B: b.data, ldb: bc, strideB: strideB,
                    beta: 0, C: out.data, ldc: N, strideC: strideC)
    }
    return Tensor.record(out, inputs: [a, b]) { _, gradient in
        let dC = gradient.data
        if a.requiresGrad {
            // dA = dC·op(B)ᵀ, stored in A's layout: transposeA stores (K, M) = op(B)·dCᵀ.
            let dA = a.gradientStorage()
            if transposeA {
                gemmBatched(batch: batch, transposeA: transposeB, transposeB: true, M: K, N: M, K: N, alpha: 1,
                            A: b.data, lda: bc, strideA: strideB, B: dC, ldb: N, strideB: strideC,
                            beta: 1, C: dA, ldc: ac, strideC: strideA)
            } else if shared {
                gemm(transposeA: false, transposeB: !transposeB, M: batch * M, N: K, K: N, alpha: 1,
                     A: dC, lda: N, B: b.data, ldb: bc, beta: 1, C: dA, ldc: ac)
            } else {
                gemmBatched(batch: batch, transposeA: false, transposeB: !transposeB, M: M, N: K, K: N, alpha: 1,
                            A: dC, lda: N, strideA: strideC, B: b.data, ldb: bc, strideB: strideB,
                            beta: 1, C: dA, ldc: ac, strideC: strideA)
            }
        }
        if b.requiresGrad {
            // dB = op(A)ᵀ·dC in op(B)'s orientation; transposeB stores (N, K) = dCᵀ·op(A).
            let dB = b.gradientStorage()
            if shared && !transposeA {
                if transposeB {
                    gemm(transposeA: true, transposeB: false, M: N, N: K, K: batch * M, alpha: 1,
                         A: dC, lda: N, B: a.data, ldb: ac, beta: 1, C: dB, ldc: bc)
                } else {
                    gemm(transposeA: true, transposeB: false, M: K, N: N, K: batch * M, alpha: 1,
                         A: a.data, lda: ac, B: dC, ldb: N, beta: 1, C: dB, ldc: bc)
                }
            } else {
                for item in 0..<batch {
                    let aItem = a.data + item * strideA, cItem = dC + item * strideC, bItem = dB + item * strideB
                    if transposeB {
                        gemm(transposeA: true, transposeB: transposeA, M: N, N: K, K: M, alpha: 1,
                             A: cItem, lda: N, B: aItem, ldb: ac, beta: 1, C: bItem, ldc: bc)
                    } else {
                        gemm(transposeA: !transposeA, transposeB: false, M: K, N: N, K: M, alpha: 1,
                             A: aItem, lda: ac, B: cItem, ldb: N, beta: 1, C: bItem, ldc: bc)
                    }
                }
            }
        }
    }
}

/// How a linear layer stores its weight.
public enum LinearWeightLayout: String, Codable, Sendable {
    /// (out, in), as torch.nn.Linear.
    case outputsByInputs
    /// (in, out), as Hugging Face's `Conv1D` (GPT-2's attention and MLP projections).
    case inputsByOutputs
}

/// y = x·Wᵀ + b (or x·W + b for `.inputsByOutputs`), fused: one GEMM onto the broadcast bias.
///
/// - x: (…, in). weight: (out, in) or (in, out). bias: (out) or nil.
/// - Returns: (…, out).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, layout: LinearWeightLayout = .outputsByInputs) -> Tensor {
    require(weight.rank == 2, "linear: weight must be rank 2, got \(weight.shape)")
    let (outputs, inputs) = layout == .outputsByInputs ? (weight.shape[0], weight.shape[1]) : (weight.shape[1], weight.shape[0])
    require(x.shape.last == inputs, "linear: input of shape \(x.shape) for a weight \(weight.shape) expecting \(inputs) features")
    if let bias { require(bias.shape == [outputs], "linear: bias shape \(bias.shape), expected [\(outputs)]") }
    let rows = x.count / max(inputs, 1)
    let out = Tensor(zeros: Array(x.shape.dropLast()) + [outputs])
    let transposed = layout == .outputsByInputs
    if let bias { for r in 0..<rows { (out.data + r * outputs).update(from: bias.data, count: outputs) } }
    gemm(transposeA: false, transposeB: transposed, M: rows, N: outputs, K: inputs, alpha: 1,
         A: x.data, lda: inputs, B: weight.data, ldb: transposed ? inputs : outputs,
         beta: bias == nil ? 0 : 1, C: out.data, ldc: outputs)
    return Tensor.record(out, inputs: [x, weight] + (bias.map { [$0] } ?? [])) { _, gradient in
        let dY = gradient.data
        if x.requiresGrad {
            gemm(transposeA: false, transposeB: !transposed, M: rows, N: inputs, K: outputs, alpha: 1,
                 A: dY, lda: outputs, B: weight.data, ldb: transposed ? inputs : outputs,
                 beta: 1, C: x.gradientStorage(), ldc: inputs)
        }
        if weight.requiresGrad {
            if transposed {  // dW (out, in) = dYᵀ·x
                gemm(transposeA: true, transposeB: false, M: outputs, N: inputs, K: rows, alpha: 1,
                     A: dY, lda: outputs, B: x.data, ldb: inputs, beta: 1, C: weight.gradientStorage(), ldc: inputs)
            } else {  // dW (in, out) = xᵀ·dY
                gemm(transposeA: true, transposeB: false, M: inputs, N: outputs, K: rows, alpha: 1,
                     A: x.data, lda: inputs, B: dY, ldb: outputs, beta: 1, C: weight.gradientStorage(), ldc: outputs)
            }
        }
        if let bias, bias.requiresGrad {
            sumRows(dY, rows: rows, inner: outputs, into: bias.gradientStorage())
        }
    }
}
