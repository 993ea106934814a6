// Products with very few rows (token-by-token decoding): C (M×N) = alpha·A·op(B) + beta·C for
// M ≤ `skinnyRowLimit`, reading B exactly once. BLAS sgemm packs all of B on every call (three
// passes over a memory-bound operand) and its sgemv reads B once per row of A; here each thread
// streams its share of B once for all rows. Shapes: A (M, K) row-major with lda; B (K, N) or, with
// transposeB, (N, K); C (M, N) with ldc.

/// The most rows `skinnyGEMM` handles; larger products go to BLAS.
public let skinnyRowLimit = 4

/// C = alpha·A·op(B) + beta·C for M ≤ `skinnyRowLimit`, split over the pool by columns of C.
public func skinnyGEMM(
    transposeB: Bool, M: Int, N: Int, K: Int, alpha: Float, A: UnsafePointer<Float>, lda: Int,
    B: UnsafePointer<Float>, ldb: Int, beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int
) {
    require(M >= 1 && M <= skinnyRowLimit, "skinnyGEMM: \(M) rows, expected 1...\(skinnyRowLimit)")
    let minimumChunk = max(16, (1 << 16) / max(K, 1))
    ThreadPool.shared.parallelFor(N, minimumChunk: minimumChunk) { columns in
        if transposeB {
            skinnyDotRows(M: M, K: K, alpha: alpha, A: A, lda: lda, B: B, ldb: ldb, beta: beta, C: C, ldc: ldc, columns: columns)
        } else {
            skinnyAxpyRows(M: M, K: K, alpha: alpha, A: A, lda: lda, B: B, ldb: ldb, beta: beta, C: C, ldc: ldc, columns: columns)
        }
    }
}

/// B is (N, K): each output column n is a dot product of row n of B with each row of A.
@inline(__always)
func skinnyDotRows(
    M: Int, K: Int, alpha: Float, A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
    beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int, columns: Range<Int>
) {
    for n in columns {
        let row = B + n * ldb
        for m in 0..<M {
            let a = A + m * lda
            var s0 = FloatVector(), s1 = FloatVector()
            var k = 0
            while k + 32 <= K {
                s0 = s0.addingProduct(a.vector(at: k), row.vector(at: k))
                s1 = s1.addingProduct(a.vector(at: k + 16), row.vector(at: k + 16))
                k += 32
            }
            while k + 16 <= K { s0 = s0.addingProduct(a.vector(at: k), row.vector(at: k)); k += 16 }
            var total = (s0 + s1).sum()
            while k < K { total += a[k] * row[k]; k += 1 }
            let target = C + m * ldc + n
            target.pointee = alpha * total + (beta == 0 ? 0 : beta * target.pointee)
        }
    }
}

/// B is (K, N): C[m, columns] += A[m, k]·B[k, columns] row by row of B, accumulating in C.
@inline(__always)
func skinnyAxpyRows(
    M: Int, K: Int, alpha: Float, A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
    beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int, columns: Range<Int>
) {
    let width = columns.count, start = columns.lowerBound
    let accumulator = UnsafeMutablePointer<Float>.allocate(capacity: M * width)
    defer { accumulator.deallocate() }
    accumulator.initialize(repeating: 0, count: M * width)
    for k in 0..<K {
        let row = B + k * ldb + start
        for m in 0..<M {
            let scale = A[m * lda + k]
            if scale == 0 { continue }
            let acc = accumulator + m * width
            var j = 0
            while j + 16 <= width {
                acc.storeVector(acc.vector(at: j).addingProduct(row.vector(at: j), scale), at: j)
                j += 16
            }
            while j < width { acc[j] += scale * row[j]; j += 1 }
        }
    }
    for m in 0..<M {
        let target = C + m * ldc + start, acc = accumulator + m * width
        for j in 0..<width { target[j] = alpha * acc[j] + (beta == 0 ? 0 : beta * target[j]) }
    }
}
