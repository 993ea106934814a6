// The benchmark suite behind `rlhf bench`: rooflines first (sgemm, copy), then each kernel's
// forward and backward time as a fraction of the relevant roofline.

import Foundation
import Kernels

/// The kernel benchmarks, in the order `rlhf bench` runs them.
public enum KernelBenchmarks {
    /// Every benchmark name `--only` accepts.
    public static let names = ["blas", "sgemm", "copy", "attention", "layernorm", "gelu", "softmax", "crossentropy", "adamw"]

    /// Runs the benchmarks (all, or those in `only`), handing each record to `emit` as soon as it
    /// is measured. The rooflines (sgemm, copy) are measured whenever a later benchmark needs them.
    public static func run(shapes: BenchmarkShapes = BenchmarkShapes(), only: Set<String>? = nil, emit: (BenchmarkRecord) -> Void) {
        let wanted = { (name: String) in only == nil || only!.contains(name) }
        let needsGemm = ["sgemm", "attention"].contains(where: wanted)
        let needsCopy = ["copy", "layernorm", "gelu", "softmax", "crossentropy", "adamw"].contains(where: wanted)
        if wanted("blas") { emit(blasRecord()) }
        var gflops = 0.0, bandwidth = 0.0
        if needsGemm {
            let record = sgemmRecord(shapes)
            gflops = record.1
            if wanted("sgemm") { emit(record.0) }
        }
        if needsCopy {
            let record = copyRecord(shapes)
            bandwidth = record.1
            if wanted("copy") { emit(record.0) }
        }
        if wanted("attention") { emit(attentionRecord(shapes, gflops: gflops)) }
        if wanted("layernorm") { emit(layerNormRecord(shapes, bandwidth: bandwidth)) }
        if wanted("gelu") { emit(geluRecord(shapes, bandwidth: bandwidth)) }
        if wanted("softmax") { emit(softmaxRecord(shapes, bandwidth: bandwidth)) }
        if wanted("crossentropy") { emit(crossEntropyRecord(shapes, bandwidth: bandwidth)) }
        if wanted("adamw") { emit(adamWRecord(shapes, bandwidth: bandwidth)) }
    }

    /// sgemm GFLOPS at n × n × n on the shared pool (the roofline the other benchmarks use).
    public static func measureSGEMM(size n: Int = 1024, repetitions: Int = 10) -> Double {
        let a = BenchBuffer(n * n), b = BenchBuffer(n * n), c = BenchBuffer(n * n)
        defer { a.free(); b.free(); c.free() }
        let seconds = medianSeconds(repetitions: repetitions) {
            gemm(transposeA: false, transposeB: false, M: n, N: n, K: n, alpha: 1, A: a.pointer, lda: n,
                 B: b.pointer, ldb: n, beta: 0, C: c.pointer, ldc: n)
        }
        return 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9
    }

    static func blasRecord() -> BenchmarkRecord {
        BLAS.configure()
        let environment = ProcessInfo.processInfo.environment
        return BenchmarkRecord(name: "blas", fields: [
            ("core", .text(BLAS.coreName)),
            ("config", .text(BLAS.buildConfiguration)),
            ("cpu_avx512", .flag(BLAS.cpuHasAVX512)),
            ("openblas_coretype", .text(environment["OPENBLAS_CORETYPE"] ?? "")),
            ("preferred_coretype", .text(BLAS.preferredCoreType ?? "")),
            ("pool_threads", .integer(ThreadPool.shared.threadCount)),
            ("heap_reuse", .flag(HeapReuse.isEnabled)),
        ])
    }

    static func sgemmRecord(_ s: BenchmarkShapes) -> (BenchmarkRecord, Double) {
        let n = s.gemmSize
        let gflops = measureSGEMM(size: n, repetitions: s.repetitions * 2)
        let a = BenchBuffer(n * n), b = BenchBuffer(n * n), c = BenchBuffer(n * n)
        defer { a.free(); b.free(); c.free() }
        let single = medianSeconds(repetitions: s.repetitions) {
            gemmSerial(transposeA: false, transposeB: false, M: n, N: n, K: n, alpha: 1, A: a.pointer, lda: n,
                       B: b.pointer, ldb: n, beta: 0, C: c.pointer, ldc: n)
        }
        // OpenBLAS's own threading, for comparison with our row split. It changes a global
        // setting, so the tiny smoke-test shapes (run beside other tests) skip it.
        let library = n < 256 ? Double.nan : BLAS.withLibraryThreads(ThreadPool.shared.threadCount) {
            medianSeconds(repetitions: s.repetitions) {
                gemmSerial(transposeA: false, transposeB: false, M: n, N: n, K: n, alpha: 1, A: a.pointer, lda: n,
                           B: b.pointer, ldb: n, beta: 0, C: c.pointer, ldc: n)
            }
        }
        let flops = 2 * Double(n) * Double(n) * Double(n)
        return (BenchmarkRecord(name: "sgemm", fields: [
            ("m", .integer(n)), ("n", .integer(n)), ("k", .integer(n)), ("ms", .number(flops / gflops / 1e6)),
            ("gflops", .number(gflops)), ("gflops_one_thread", .number(flops / single / 1e9)),
            ("gflops_blas_own_threads", .number(flops / library / 1e9)),
            ("threads", .integer(ThreadPool.shared.threadCount)), ("core", .text(BLAS.coreName)),
        ]), gflops)
    }

    static func copyRecord(_ s: BenchmarkShapes) -> (BenchmarkRecord, Double) {
        let count = s.copyBytes / 4
        let source = BenchBuffer(count), destination = BenchBuffer(count)
        defer { source.free(); destination.free() }
        let seconds = medianSeconds(repetitions: s.repetitions) {
            ThreadPool.shared.parallelFor(count, minimumChunk: 1 << 16) { range in
                (destination.pointer + range.lowerBound).update(from: source.pointer + range.lowerBound, count: range.count)
            }
        }
        let bandwidth = 2 * Double(count * 4) / seconds / 1e9
        return (BenchmarkRecord(name: "copy", fields: [
            ("bytes", .integer(count * 4)), ("ms", .number(seconds * 1e3)),
            ("gbps", .number(bandwidth)), ("convention", .text("bytes read + bytes written")),
        ]), bandwidth)
    }

    /// A forward/backward record for a memory-bound kernel.
    static func memoryRecord(
        _ name: String, shape: [Int], forwardSeconds: Double, backwardSeconds: Double,
        forwardBytes: Double, backwardBytes: Double, bandwidth: Double
    ) -> BenchmarkRecord {
        let forwardRate = forwardBytes / forwardSeconds / 1e9, backwardRate = backwardBytes / backwardSeconds / 1e9
        return BenchmarkRecord(name: name, fields: [
            ("shape", .text(shape.map(String.init).joined(separator: "x"))),
            ("forward_ms", .number(forwardSeconds * 1e3)), ("backward_ms", .number(backwardSeconds * 1e3)),
            ("forward_gbps", .number(forwardRate)), ("backward_gbps", .number(backwardRate)),
            ("forward_fraction_of_copy", .number(forwardRate / bandwidth)),
            ("backward_fraction_of_copy", .number(backwardRate / bandwidth)),
            ("copy_gbps", .number(bandwidth)),
        ])
    }

    static func attentionRecord(_ s: BenchmarkShapes, gflops: Double) -> BenchmarkRecord {
        let (B, T, C, NH) = (s.batch, s.time, s.channels, s.heads)
        let HS = C / NH
        let qkv = BenchBuffer(B * T * 3 * C), out = BenchBuffer(B * T * C)
        let probabilities = BenchBuffer(B * NH * T * T), dout = BenchBuffer(B * T * C), dqkv = BenchBuffer(B * T * 3 * C)
        defer { [qkv, out, probabilities, dout, dqkv].forEach { $0.free() } }
        let forward = medianSeconds(repetitions: s.repetitions) {
            attentionForward(qkv: qkv.pointer, out: out.pointer, probabilities: probabilities.pointer,
                             paddingMask: nil, batch: B, time: T, channels: C, heads: NH)
        }
        let backward = medianSeconds(repetitions: s.repetitions) {
            attentionBackward(qkv: qkv.pointer, probabilities: probabilities.pointer, dout: dout.pointer,
                              dqkv: dqkv.pointer, batch: B, time: T, channels: C, heads: NH)
        }
        // Full products: forward Q·Kᵀ and P·V, backward dO·Vᵀ, dS·K, dSᵀ·Q, Pᵀ·dO, each 2·T²·HS per head.
        let perProduct = 2 * Double(B * NH) * Double(T) * Double(T) * Double(HS)
        let fullFlops = 6 * perProduct
        // Causal: only keys ≤ query are needed, T(T+1)/2 of T² entries.
        let causalFlops = fullFlops * Double(T + 1) / Double(2 * T)
        let total = forward + backward
        let rooflineSeconds = fullFlops / (gflops * 1e9)
        return BenchmarkRecord(name: "attention", fields: [
            ("shape", .text("B\(B) T\(T) C\(C) NH\(NH)")),
            ("forward_ms", .number(forward * 1e3)), ("backward_ms", .number(backward * 1e3)),
            ("total_ms", .number(total * 1e3)),
            ("full_gemm_gflop", .number(fullFlops / 1e9)), ("causal_gemm_gflop", .number(causalFlops / 1e9)),
            ("full_gemm_ms_at_roofline", .number(rooflineSeconds * 1e3)),
            ("causal_gemm_ms_at_roofline", .number(causalFlops / (gflops * 1e9) * 1e3)),
            ("ratio_to_full_gemm_time", .number(total / rooflineSeconds)),
            ("ratio_to_causal_gemm_time", .number(total / (causalFlops / (gflops * 1e9)))),
            ("sgemm_gflops", .number(gflops)),
        ])
    }

    static func layerNormRecord(_ s: BenchmarkShapes, bandwidth: Double) -> BenchmarkRecord {
        let N = s.batch * s.time, C = s.channels
        let x = BenchBuffer(N * C), out = BenchBuffer(N * C), w = BenchBuffer(C), b = BenchBuffer(C)
        let mean = BenchBuffer(N), rstd = BenchBuffer(N), dout = BenchBuffer(N * C), dx = BenchBuffer(N * C)
        let dw = BenchBuffer(C), db = BenchBuffer(C)
        defer { [x, out, w, b, mean, rstd, dout, dx, dw, db].forEach { $0.free() } }
        let forward = medianSeconds(repetitions: s.repetitions * 4) {
            layerNormForward(x.pointer, weight: w.pointer, bias: b.pointer, out: out.pointer, mean: mean.pointer,
                             rstd: rstd.pointer, rows: N, channels: C, epsilon: 1e-5)
        }
        let backward = medianSeconds(repetitions: s.repetitions * 4) {
            layerNormBackward(x.pointer, weight: w.pointer, mean: mean.pointer, rstd: rstd.pointer, dout: dout.pointer,
                              dx: dx.pointer, dweight: dw.pointer, dbias: db.pointer, rows: N, channels: C)
        }
        let tensor = Double(N * C * 4)
        return memoryRecord("layernorm", shape: [N, C], forwardSeconds: forward, backwardSeconds: backward,
                            forwardBytes: 2 * tensor, backwardBytes: 4 * tensor, bandwidth: bandwidth)
    }

    static func geluRecord(_ s: BenchmarkShapes, bandwidth: Double) -> BenchmarkRecord {
        let count = s.batch * s.time * 4 * s.channels
        let x = BenchBuffer(count), out = BenchBuffer(count), dout = BenchBuffer(count), dx = BenchBuffer(count)
        defer { [x, out, dout, dx].forEach { $0.free() } }
        let forward = medianSeconds(repetitions: s.repetitions * 4) { geluForward(x.pointer, out.pointer, count: count) }
        let backward = medianSeconds(repetitions: s.repetitions * 4) { geluBackward(x.pointer, dout.pointer, dx.pointer, count: count) }
        let tensor = Double(count * 4)
        return memoryRecord("gelu", shape: [s.batch, s.time, 4 * s.channels], forwardSeconds: forward,
                            backwardSeconds: backward, forwardBytes: 2 * tensor, backwardBytes: 4 * tensor, bandwidth: bandwidth)
    }

    static func softmaxRecord(_ s: BenchmarkShapes, bandwidth: Double) -> BenchmarkRecord {
        let N = s.batch * s.time, V = s.vocabulary
        let x = BenchBuffer(N * V), y = BenchBuffer(N * V), dy = BenchBuffer(N * V), dx = BenchBuffer(N * V)
        defer { [x, y, dy, dx].forEach { $0.free() } }
        let forward = medianSeconds(repetitions: s.repetitions) { softmaxForward(x.pointer, y.pointer, rows: N, columns: V, log: false) }
        softmaxForward(x.pointer, y.pointer, rows: N, columns: V, log: false)
        let backward = medianSeconds(repetitions: s.repetitions) {
            softmaxBackward(y.pointer, dy: dy.pointer, dx: dx.pointer, rows: N, columns: V, log: false)
        }
        let tensor = Double(N * V * 4)
        return memoryRecord("softmax", shape: [N, V], forwardSeconds: forward, backwardSeconds: backward,
                            forwardBytes: 2 * tensor, backwardBytes: 4 * tensor, bandwidth: bandwidth)
    }

    static func crossEntropyRecord(_ s: BenchmarkShapes, bandwidth: Double) -> BenchmarkRecord {
        let N = s.batch * s.time, V = s.vocabulary
        let logits = BenchBuffer(N * V), dlogits = BenchBuffer(N * V)
        let losses = BenchBuffer(N), lse = BenchBuffer(N), dloss = BenchBuffer(N, value: { _ in 1 / 1024 })
        let targets = UnsafeMutablePointer<Int32>.allocate(capacity: N)
        for i in 0..<N { targets[i] = Int32((i * 7919) % V) }
        defer { [logits, dlogits, losses, lse, dloss].forEach { $0.free() }; targets.deallocate() }
        let forward = medianSeconds(repetitions: s.repetitions) {
            crossEntropyForward(logits: logits.pointer, targets: targets, ignoreIndex: -100, losses: losses.pointer,
                                lse: lse.pointer, rows: N, vocabulary: V)
        }
        let backward = medianSeconds(repetitions: s.repetitions) {
            crossEntropyBackward(logits: logits.pointer, targets: targets, ignoreIndex: -100, lse: lse.pointer,
                                 dloss: dloss.pointer, dlogits: dlogits.pointer, rows: N, vocabulary: V)
        }
        let tensor = Double(N * V * 4)
        return memoryRecord("crossentropy", shape: [N, V], forwardSeconds: forward, backwardSeconds: backward,
                            forwardBytes: tensor, backwardBytes: 3 * tensor, bandwidth: bandwidth)
    }

    static func adamWRecord(_ s: BenchmarkShapes, bandwidth: Double) -> BenchmarkRecord {
        let count = s.parameters
        let p = BenchBuffer(count), g = BenchBuffer(count), m = BenchBuffer(count, value: { _ in 0 }), v = BenchBuffer(count, value: { _ in 0 })
        defer { [p, g, m, v].forEach { $0.free() } }
        var step = 0
        let seconds = medianSeconds(repetitions: s.repetitions) {
            step += 1
            adamWStep(parameters: p.pointer, gradients: g.pointer, firstMoment: m.pointer, secondMoment: v.pointer,
                      count: count, learningRate: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, step: step)
        }
        let bytes = 7 * Double(count * 4)
        let rate = bytes / seconds / 1e9
        return BenchmarkRecord(name: "adamw", fields: [
            ("parameters", .integer(count)), ("step_ms", .number(seconds * 1e3)), ("gbps", .number(rate)),
            ("fraction_of_copy", .number(rate / bandwidth)), ("copy_gbps", .number(bandwidth)),
            ("pytorch_fused_reference_ms", .number(59)),
        ])
    }
}
