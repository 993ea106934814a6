// Matrix products, row-major, through the system BLAS.
//
// C (M×N) = alpha · op(A) · op(B) + beta · C, where op(A) is M×K and op(B) is K×N.
// The BLAS library runs single-threaded (see `BLAS.configure()`); `gemm` splits C into row (or
// column) blocks over `ThreadPool.shared`, so BLAS threads are never nested inside the pool.

import CBLAS
import Foundation

/// The system BLAS: its configuration, and the choice of fast kernels.
public enum BLAS {
    /// Run once before the first product: the BLAS library gets one thread of its own; our pool
    /// provides the parallelism.
    public static let configured: Bool = {
        rlhf_blas_set_threads(1)
        return true
    }()

    /// Runs `body` with the BLAS library's own threading set to `threads`, then restores one
    /// thread. For measurements only: nothing may run on `ThreadPool.shared` meanwhile.
    public static func withLibraryThreads<R>(_ threads: Int, _ body: () -> R) -> R {
        configure()
        rlhf_blas_set_threads(Int32(threads))
        defer { rlhf_blas_set_threads(1) }
        return body()
    }

    /// Sets the BLAS library to one thread (idempotent; every GEMM entry point calls it).
    @inline(__always)
    public static func configure() { _ = configured }

    /// The number of threads the BLAS library itself would use for one call (1 once configured;
    /// −1 where the library cannot say).
    public static var libraryThreads: Int { Int(rlhf_blas_get_threads()) }

    /// The kernel set OpenBLAS chose at load time ("Haswell", "SkylakeX", "Zen", …).
    public static var coreName: String { String(cString: rlhf_blas_core_name()) }

    /// The BLAS build configuration string.
    public static var buildConfiguration: String { String(cString: rlhf_blas_config()) }

    /// True when the CPU executes AVX-512F.
    public static var cpuHasAVX512: Bool { rlhf_cpu_has_avx512f() != 0 }

    /// The `OPENBLAS_CORETYPE` value that selects the fastest kernels OpenBLAS has for this CPU,
    /// or nil when OpenBLAS's own choice is already the best one (no AVX-512, or not OpenBLAS).
    ///
    /// Debian's OpenBLAS 0.3.21 picks its Haswell (AVX2) kernels on AVX-512 CPUs it does not know
    /// by model number; `SKYLAKEX` selects the AVX-512 ones (about 1.8× faster sgemm).
    /// `RLHF_PREFERRED_CORETYPE` overrides the choice.
    public static var preferredCoreType: String? {
        if let forced = ProcessInfo.processInfo.environment["RLHF_PREFERRED_CORETYPE"], !forced.isEmpty {
            return forced  // for tests of the re-exec path, or to force a kernel set
        }
        #if os(Linux) && arch(x86_64)
        return cpuHasAVX512 ? "SKYLAKEX" : nil
        #else
        return nil
        #endif
    }

    /// Re-executes the current process with `OPENBLAS_CORETYPE` set when the CPU has faster
    /// OpenBLAS kernels than the ones loaded and the user did not choose a core type.
    ///
    /// OpenBLAS reads the variable once, when the library loads, so the only way to change the
    /// kernels of a running process is to start it again. Returns normally when no re-exec is
    /// needed (or it failed, in which case the slower kernels stay in use).
    public static func reexecWithFastKernelsIfNeeded() {
        #if os(Linux)
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil,
              environment["RLHF_NO_REEXEC"] == nil,
              let core = preferredCoreType,
              coreName.lowercased() != core.lowercased()
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("RLHF_NO_REEXEC", "1", 1)
        let arguments = CommandLine.arguments
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cArguments.append(nil)
        execv("/proc/self/exe", cArguments)
        // execv returned: it failed. Keep running with the kernels we have.
        for pointer in cArguments { free(pointer) }
        #endif
    }
}

/// Row-major single-precision GEMM on one thread: C = alpha·op(A)·op(B) + beta·C.
///
/// - Parameters:
///   - transposeA: use Aᵀ; A is stored K×M (lda ≥ M) instead of M×K (lda ≥ K).
///   - transposeB: use Bᵀ; B is stored N×K (ldb ≥ K) instead of K×N (ldb ≥ N).
///   - M, N, K: op(A) is M×K, op(B) is K×N, C is M×N (ldc ≥ N).
@inlinable
public func gemmSerial(
    transposeA: Bool, transposeB: Bool, M: Int, N: Int, K: Int,
    alpha: Float, A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
    beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int
) {
    if M == 0 || N == 0 { return }
    if K == 0 {
        for i in 0..<M { for j in 0..<N { C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j] } }
        return
    }
    BLAS.configure()
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}

/// Row-major single-precision GEMM over `ThreadPool.shared`: C = alpha·op(A)·op(B) + beta·C.
///
/// Splits C into one block of rows per thread (or of columns, when C has few rows), each a
/// single-threaded BLAS call; small products run on the caller's thread. Arguments as `gemmSerial`.
public func gemm(
    transposeA: Bool, transposeB: Bool, M: Int, N: Int, K: Int,
    alpha: Float, A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
    beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int
) {
    let pool = ThreadPool.shared
    let work = M * N * K
    if M <= skinnyRowLimit && !transposeA && K > 0 && N >= 64 {
        // Token-by-token decoding: read B once for all rows (see SkinnyGEMM.swift).
        skinnyGEMM(transposeB: transposeB, M: M, N: N, K: K, alpha: alpha, A: A, lda: lda, B: B, ldb: ldb,
                   beta: beta, C: C, ldc: ldc)
        return
    }
    if pool.threadCount == 1 || work < 1 << 18 {
        gemmSerial(transposeA: transposeA, transposeB: transposeB, M: M, N: N, K: K, alpha: alpha,
                   A: A, lda: lda, B: B, ldb: ldb, beta: beta, C: C, ldc: ldc)
        return
    }
    if M >= N || M >= 16 * pool.threadCount {
        pool.parallelFor(M, minimumChunk: 16) { rows in
            let a = transposeA ? A + rows.lowerBound : A + rows.lowerBound * lda
            gemmSerial(transposeA: transposeA, transposeB: transposeB, M: rows.count, N: N, K: K,
                       alpha: alpha, A: a, lda: lda, B: B, ldb: ldb, beta: beta,
                       C: C + rows.lowerBound * ldc, ldc: ldc)
        }
    } else {
        pool.parallelFor(N, minimumChunk: 16) { columns in
            let b = transposeB ? B + columns.lowerBound * ldb : B + columns.lowerBound
            gemmSerial(transposeA: transposeA, transposeB: transposeB, M: M, N: columns.count, K: K,
                       alpha: alpha, A: A, lda: lda, B: b, ldb: ldb, beta: beta,
                       C: C + columns.lowerBound, ldc: ldc)
        }
    }
}

/// A batch of independent GEMMs with constant strides between matrices (elements, not bytes).
///
/// Runs whole matrices in parallel when the batch has at least as many items as threads, else each
/// product in parallel. Arguments as `gemmSerial`, plus `batch` and the three strides.
public func gemmBatched(
    batch: Int, transposeA: Bool, transposeB: Bool, M: Int, N: Int, K: Int,
    alpha: Float, A: UnsafePointer<Float>, lda: Int, strideA: Int,
    B: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int
) {
    let pool = ThreadPool.shared
    if batch >= pool.threadCount && batch > 1 {
        pool.parallelFor(batch) { items in
            for item in items {
                gemmSerial(transposeA: transposeA, transposeB: transposeB, M: M, N: N, K: K,
                           alpha: alpha, A: A + item * strideA, lda: lda, B: B + item * strideB,
                           ldb: ldb, beta: beta, C: C + item * strideC, ldc: ldc)
            }
        }
    } else {
        for item in 0..<batch {
            gemm(transposeA: transposeA, transposeB: transposeB, M: M, N: N, K: K, alpha: alpha,
                 A: A + item * strideA, lda: lda, B: B + item * strideB, ldb: ldb, beta: beta,
                 C: C + item * strideC, ldc: ldc)
        }
    }
}

/// Naive triple loop with the semantics of `gemm`, accumulating in Double: the reference the
/// tests compare the BLAS path against.
public func gemmReference(
    transposeA: Bool, transposeB: Bool, M: Int, N: Int, K: Int,
    alpha: Float, A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
    beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<M {
        for j in 0..<N {
            var sum = 0.0
            for k in 0..<K {
                let a = transposeA ? A[k * lda + i] : A[i * lda + k]
                let b = transposeB ? B[j * ldb + k] : B[k * ldb + j]
                sum += Double(a) * Double(b)
            }
            let previous = beta == 0 ? 0 : Double(beta) * Double(C[i * ldc + j])
            C[i * ldc + j] = Float(Double(alpha) * sum + previous)
        }
    }
}
