// Naive-vs-fast checks: each fast kernel against its reference, on shapes that reach the
// parallel, blocked and SIMD-tail paths.

import Foundation
import Kernels
import Testing

@Suite("Kernels against their references")
struct KernelReferenceTests {
    @Test("gemm matches the triple loop for every transpose combination and split direction",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmReferenceCheck(transposes: (Bool, Bool)) {
        let (ta, tb) = transposes
        // (M, N, K): tiny (serial), many rows (row split), few rows many columns (column split).
        // (1, 2304, 768) and (4, 1000, 77) take the skinny path used when decoding.
        for (M, N, K) in [(3, 5, 7), (131, 67, 45), (5, 1031, 61), (1, 2304, 768), (4, 1000, 77), (2, 70, 33)] {
            let a = values(M * K, seed: 1), b = values(K * N, seed: 2)
            var fast = values(M * N, seed: 3), slow = fast
            let lda = ta ? M : K, ldb = tb ? K : N
            gemm(transposeA: ta, transposeB: tb, M: M, N: N, K: K, alpha: 0.5, A: a, lda: lda, B: b, ldb: ldb,
                 beta: 0.25, C: &fast, ldc: N)
            gemmReference(transposeA: ta, transposeB: tb, M: M, N: N, K: K, alpha: 0.5, A: a, lda: lda, B: b, ldb: ldb,
                          beta: 0.25, C: &slow, ldc: N)
            #expect(closeness(fast, slow, absolute: 1e-4) <= 1, "gemm \(M)x\(N)x\(K) ta=\(ta) tb=\(tb)")
        }
    }

    /// Runs `check` on every input, in 16-lane vectors (the last one padded with zeros).
    func eachLane(_ inputs: [Float], _ check: (FloatVector, Int) -> Void) {
        var padded = inputs
        while padded.count % 16 != 0 { padded.append(0) }
        for start in stride(from: 0, to: padded.count, by: 16) {
            let x = FloatVector(padded[start..<start + 16])
            for lane in 0..<16 where start + lane < inputs.count { check(x, lane) }
        }
    }

    @Test("vector exp, tanh and sigmoid agree with libm, special values included")
    func vectorMath() {
        var inputs = values(4096, seed: 4, low: -90, high: 90) + values(4096, seed: 5, low: -3, high: 3)
        inputs += [0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 0.6, -0.65, 88.6, 88.72, -87.2, 100, -100, .infinity, -.infinity]
        eachLane(inputs) { x, lane in
            let e = vectorExp(x), t = vectorTanh(x), s = vectorSigmoid(x)
            let v = x[lane]
            let expected = Foundation.exp(v)
            if v < -87.3 {
                #expect(e[lane] == 0, "exp(\(v)) flushes to 0 below −87.3 (results under 1.22e-38)")
            } else if expected.isInfinite {
                #expect(e[lane] == expected, "exp(\(v)) = \(e[lane])")
            } else {
                #expect(abs(e[lane] - expected) <= 2e-7 * expected, "exp(\(v)) = \(e[lane]), libm \(expected)")
            }
            let tanh = Foundation.tanh(v)
            #expect(abs(t[lane] - tanh) <= 2e-7 * max(Swift.abs(tanh), 1e-30) || abs(t[lane] - tanh) <= 1.2e-7, "tanh(\(v)) = \(t[lane]), libm \(tanh)")
            #expect(abs(s[lane] - 1 / (1 + Foundation.exp(-v))) <= 2e-7, "sigmoid(\(v))")
        }
        // Relative accuracy of tanh near 0 (where 1 − 2/(e^{2x} + 1) cancels).
        #expect(vectorTanh(FloatVector(repeating: 1e-6))[0] == Foundation.tanh(Float(1e-6)))
        #expect(vectorTanh(FloatVector(repeating: -1e-30))[0] == -1e-30)
    }

    @Test("vector square root is within 1 ulp of libm, and exact on special values")
    func vectorRoot() {
        let inputs = values(4096, seed: 6, low: 0, high: 1000) + values(512, seed: 7, low: 0, high: 1e-30)
            + [0, -0.0, 1e-20, 1e-38, Float(1e-40 as Double), .leastNonzeroMagnitude, 4, 2, .infinity, -4, -1e-30, .nan]
        eachLane(inputs) { x, lane in
            let root = vectorSquareRoot(x)[lane]
            let expected = x[lane].squareRoot()
            if expected.isNaN {
                #expect(root.isNaN, "sqrt(\(x[lane])) = \(root)")
            } else {
                #expect(root == expected || abs(root - expected) <= expected.ulp, "sqrt(\(x[lane])) = \(root), libm \(expected)")
            }
        }
        #expect(vectorSquareRoot(FloatVector(repeating: 4))[0] == 2)
    }

    @Test("GELU forward and backward against the scalar tanh formula")
    func gelu() {
        let count = 70_001  // two chunks and a scalar tail
        let x = values(count, seed: 7, low: -8, high: 8)
        var y = [Float](repeating: 0, count: count)
        geluForward(x, &y, count: count)
        let reference = x.map(geluReferenceValue)
        #expect(closeness(y, reference, absolute: 2e-6, relative: 1e-5) <= 1)
        let dy = values(count, seed: 8)
        var dx = [Float](repeating: 0.5, count: count)
        geluBackward(x, dy, &dx, count: count)
        let expected = (0..<count).map { 0.5 + geluReferenceDerivative(x[$0]) * dy[$0] }
        #expect(closeness(dx, expected, absolute: 2e-6, relative: 1e-5) <= 1)
    }

    @Test("layer norm against the Double reference", arguments: [(3, 17), (1024, 768), (5, 1)])
    func layerNorm(shape: (Int, Int)) {
        let (N, C) = shape
        let x = values(N * C, seed: 9, low: -3, high: 3), w = values(C, seed: 10), b = values(C, seed: 11)
        var out = [Float](repeating: 0, count: N * C), reference = out
        var mean = [Float](repeating: 0, count: N), rstd = mean
        layerNormForward(x, weight: w, bias: b, out: &out, mean: &mean, rstd: &rstd, rows: N, channels: C, epsilon: 1e-5)
        layerNormReference(x, weight: w, bias: b, out: &reference, rows: N, channels: C, epsilon: 1e-5)
        #expect(closeness(out, reference, absolute: 1e-4, relative: 1e-4) <= 1)
    }

    @Test("layer norm backward is deterministic and equals a serial pass")
    func layerNormBackwardDeterminism() {
        let (N, C) = (300, 40)
        let x = values(N * C, seed: 12), w = values(C, seed: 13), b = values(C, seed: 14), dout = values(N * C, seed: 15)
        var out = [Float](repeating: 0, count: N * C)
        var mean = [Float](repeating: 0, count: N), rstd = mean
        layerNormForward(x, weight: w, bias: b, out: &out, mean: &mean, rstd: &rstd, rows: N, channels: C, epsilon: 1e-5)
        func run() -> [Float] {
            var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C), db = dw
            layerNormBackward(x, weight: w, mean: mean, rstd: rstd, dout: dout, dx: &dx, dweight: &dw, dbias: &db, rows: N, channels: C)
            return dx + dw + db
        }
        let first = run()
        #expect(run() == first)
        // dbias is the column sum of dout.
        let dbias = Array(first.suffix(C))
        let columnSums = (0..<C).map { j in (0..<N).reduce(Float(0)) { $0 + dout[$1 * C + j] } }
        #expect(closeness(dbias, columnSums, absolute: 1e-4) <= 1)
    }

    @Test("softmax and log-softmax against the Double reference", arguments: [false, true])
    func softmax(log: Bool) {
        let (N, V) = (7, 1001)
        var x = values(N * V, seed: 16, low: -20, high: 20)
        x[5] = -.infinity  // a masked logit
        var y = [Float](repeating: 0, count: N * V), reference = y
        softmaxForward(x, &y, rows: N, columns: V, log: log)
        softmaxReference(x, &reference, rows: N, columns: V, log: log)
        #expect(closeness(y, reference, absolute: log ? 1e-4 : 1e-7, relative: 1e-4) <= 1)
    }

    @Test("cross-entropy, token log-probabilities and entropy against Double references")
    func vocabulary() {
        let (N, V) = (9, 50257)
        let logits = values(N * V, seed: 17, low: -10, high: 10)
        var targets: [Int32] = (0..<N).map { Int32(($0 * 7919) % V) }
        targets[3] = -100
        var losses = [Float](repeating: 0, count: N), reference = losses, lse = losses
        crossEntropyForward(logits: logits, targets: targets, ignoreIndex: -100, losses: &losses, lse: &lse, rows: N, vocabulary: V)
        crossEntropyReference(logits: logits, targets: targets, ignoreIndex: -100, losses: &reference, rows: N, vocabulary: V)
        #expect(closeness(losses, reference, absolute: 1e-4) <= 1)
        #expect(losses[3] == 0)
        var logp = [Float](repeating: 0, count: N)
        targets[3] = 11
        tokenLogProbabilityForward(logits: logits, targets: targets, logProbabilities: &logp, lse: &lse, rows: N, vocabulary: V)
        crossEntropyReference(logits: logits, targets: targets, ignoreIndex: -100, losses: &reference, rows: N, vocabulary: V)
        #expect(closeness(logp, reference.map { -$0 }, absolute: 1e-4) <= 1)
        var h = [Float](repeating: 0, count: N)
        entropyForward(logits: logits, entropy: &h, lse: &lse, rows: N, vocabulary: V)
        for row in 0..<N {
            let rowLogits = logits[(row * V)..<((row + 1) * V)].map(Double.init)
            let m = rowLogits.max()!
            let z = rowLogits.reduce(0) { $0 + Foundation.exp($1 - m) }
            let expected = -rowLogits.reduce(0) { total, x in
                let logp = x - m - Foundation.log(z)
                return total + Foundation.exp(logp) * logp
            }
            #expect(abs(Double(h[row]) - expected) <= 1e-4 * max(1, expected))
        }
    }

    @Test("fused attention against one-query-at-a-time attention", arguments: [false, true])
    func attention(masked: Bool) {
        let (B, T, C, NH) = (2, 131, 24, 3)  // three 64-row blocks
        let qkv = values(B * T * 3 * C, seed: 18, low: -2, high: 2)
        var mask = [Float](repeating: 1, count: B * T)
        if masked { for t in 0..<5 { mask[T + t] = 0 }; mask[7] = 0 }  // left padding; one hole
        var out = [Float](repeating: 0, count: B * T * C), reference = out
        var probabilities = [Float](repeating: 0, count: B * NH * T * T)
        mask.withUnsafeBufferPointer { m in
            attentionForward(qkv: qkv, out: &out, probabilities: &probabilities, paddingMask: masked ? m.baseAddress : nil,
                             batch: B, time: T, channels: C, heads: NH)
            attentionReference(qkv: qkv, out: &reference, paddingMask: masked ? m.baseAddress : nil,
                               batch: B, time: T, channels: C, heads: NH)
        }
        #expect(closeness(out, reference, absolute: 1e-5, relative: 1e-4) <= 1)
        // Rows of probabilities sum to 1, except for queries that see no key.
        for row in 0..<(B * NH * T) {
            let total = probabilities[(row * T)..<((row + 1) * T)].reduce(0, +)
            let b = row / (NH * T), t = row % T
            let sees = (0...t).contains { !masked || mask[b * T + $0] != 0 }
            #expect(abs(total - (sees ? 1 : 0)) < 1e-5)
        }
    }

    @Test("bidirectional attention against one-query-at-a-time attention over every key", arguments: [false, true])
    func bidirectionalAttention(masked: Bool) {
        let (B, T, C, NH) = (2, 131, 24, 3)  // three 64-row blocks
        let qkv = values(B * T * 3 * C, seed: 28, low: -2, high: 2)
        var mask = [Float](repeating: 1, count: B * T)
        if masked { for t in (T - 9)..<T { mask[T + t] = 0 }; mask[7] = 0 }  // right padding; one hole
        var out = [Float](repeating: 0, count: B * T * C), reference = out, causal = out
        var probabilities = [Float](repeating: 0, count: B * NH * T * T)
        mask.withUnsafeBufferPointer { m in
            attentionForward(qkv: qkv, out: &out, probabilities: &probabilities, paddingMask: masked ? m.baseAddress : nil,
                             batch: B, time: T, channels: C, heads: NH, causal: false)
            attentionReference(qkv: qkv, out: &reference, paddingMask: masked ? m.baseAddress : nil,
                               batch: B, time: T, channels: C, heads: NH, causal: false)
            attentionReference(qkv: qkv, out: &causal, paddingMask: masked ? m.baseAddress : nil,
                               batch: B, time: T, channels: C, heads: NH)
        }
        #expect(closeness(out, reference, absolute: 1e-5, relative: 1e-4) <= 1)
        #expect(closeness(out, causal, absolute: 1e-5, relative: 1e-4) > 1)
        // Every row sums to 1 and puts no weight on padding.
        for row in 0..<(B * NH * T) {
            let b = row / (NH * T)
            let total = probabilities[(row * T)..<((row + 1) * T)].reduce(0, +)
            #expect(abs(total - 1) < 1e-5)
            for key in 0..<T where mask[b * T + key] == 0 { #expect(probabilities[row * T + key] == 0) }
        }
    }

    @Test("the key/value cache, fed one token (or a chunk) at a time, equals full attention")
    func cachedAttention() {
        let (B, T, C, NH) = (2, 70, 12, 2)
        let HS = C / NH
        let qkv = values(B * T * 3 * C, seed: 19, low: -2, high: 2)
        var mask = [Float](repeating: 1, count: B * T)
        for t in 0..<3 { mask[t] = 0 }  // left padding in the first sequence
        var full = [Float](repeating: 0, count: B * T * C)
        var probabilities = [Float](repeating: 0, count: B * NH * T * T)
        attentionForward(qkv: qkv, out: &full, probabilities: &probabilities, paddingMask: mask,
                         batch: B, time: T, channels: C, heads: NH)
        var keys = [Float](repeating: 0, count: B * NH * T * HS), cachedValues = keys
        var incremental = [Float](repeating: 0, count: B * T * C)
        // A prompt chunk of 10 positions, then one position per step.
        var position = 0
        for length in [10] + Array(repeating: 1, count: T - 10) {
            var chunk = [Float](repeating: 0, count: B * length * 3 * C)
            for b in 0..<B {
                for t in 0..<length {
                    for j in 0..<(3 * C) { chunk[(b * length + t) * 3 * C + j] = qkv[(b * T + position + t) * 3 * C + j] }
                }
            }
            let visibleMask = (0..<B).flatMap { b in mask[(b * T)..<(b * T + position + length)] }
            var out = [Float](repeating: 0, count: B * length * C)
            attentionForwardCached(qkv: chunk, keyCache: &keys, valueCache: &cachedValues, capacity: T, past: position,
                                   paddingMask: visibleMask, out: &out, batch: B, newTokens: length, channels: C, heads: NH)
            for b in 0..<B {
                for t in 0..<length {
                    for j in 0..<C { incremental[(b * T + position + t) * C + j] = out[(b * length + t) * C + j] }
                }
            }
            position += length
        }
        #expect(closeness(incremental, full, absolute: 1e-5, relative: 1e-4) <= 1)
    }

    @Test("AdamW against the documented update, both ε placements",
          arguments: [AdamEpsilonPlacement.pytorch, .tensorflow])
    func adamW(placement: AdamEpsilonPlacement) {
        let count = 70_003
        var p = values(count, seed: 20), m = [Float](repeating: 0, count: count), v = m
        var pr = p, mr = m, vr = v
        for step in 1...3 {
            let g = values(count, seed: 21 + UInt64(step))
            adamWStep(parameters: &p, gradients: g, firstMoment: &m, secondMoment: &v, count: count, learningRate: 1e-2,
                      beta1: 0.9, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1, step: step, epsilonPlacement: placement)
            adamWReference(parameters: &pr, gradients: g, firstMoment: &mr, secondMoment: &vr, count: count, learningRate: 1e-2,
                           beta1: 0.9, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1, step: step, epsilonPlacement: placement)
        }
        #expect(closeness(p, pr, absolute: 1e-6, relative: 1e-5) <= 1)
        #expect(closeness(v, vr, absolute: 1e-9, relative: 1e-5) <= 1)
    }

    @Test("broadcast binary ops and their reductions against scalar loops")
    func broadcasting() {
        let (rows, inner) = (301, 37)
        let a = values(rows * inner, seed: 30), b = values(inner, seed: 31, low: 0.5, high: 2)
        for operation in [BinaryOperation.add, .subtract, .multiply, .divide, .minimum, .maximum] {
            var out = [Float](repeating: 0, count: rows * inner)
            binaryForward(operation, a, aCount: a.count, b, bCount: b.count, &out)
            let expected = (0..<(rows * inner)).map { operation.value(a[$0], b[$0 % inner]) }
            #expect(out == expected, "\(operation)")
            var reversed = [Float](repeating: 0, count: rows * inner)
            binaryForward(operation, b, aCount: b.count, a, bCount: a.count, &reversed)
            #expect(reversed == (0..<(rows * inner)).map { operation.value(b[$0 % inner], a[$0]) }, "\(operation) reversed")
            let dout = values(rows * inner, seed: 32)
            var da = [Float](repeating: 0, count: rows * inner), db = [Float](repeating: 0, count: inner)
            binaryBackward(operation, a, aCount: a.count, b, bCount: b.count, dout: dout, da: &da, db: &db)
            var expectedDb = [Double](repeating: 0, count: inner)
            for i in 0..<(rows * inner) {
                let (pa, pb) = operation.partials(a[i], b[i % inner])
                #expect(da[i] == pa * dout[i])
                expectedDb[i % inner] += Double(pb * dout[i])
            }
            #expect(closeness(db, expectedDb.map(Float.init), absolute: 1e-4) <= 1, "\(operation) broadcast gradient")
        }
    }

    @Test("permute, slice and gather against index arithmetic")
    func layout() {
        let shape = [2, 3, 4, 5]
        let x = (0..<120).map(Float.init)
        var out = [Float](repeating: 0, count: 120)
        permuteCopy(x, shape: shape, permutation: [2, 0, 3, 1], &out)
        // out shape (4, 2, 5, 3): out[i][j][k][l] = x[j][l][i][k]
        for i in 0..<4 { for j in 0..<2 { for k in 0..<5 { for l in 0..<3 {
            #expect(out[((i * 2 + j) * 5 + k) * 3 + l] == x[((j * 3 + l) * 4 + i) * 5 + k])
        } } } }
        var slice = [Float](repeating: 0, count: 2 * 2 * 20)
        sliceCopy(x, outer: 2, size: 3, inner: 20, start: 1, length: 2, &slice)
        #expect(slice[0] == 20 && slice[40] == 80)
        let index: [Int32] = [2, 0, 1, 1]
        var gathered = [Float](repeating: 0, count: 4)
        gatherForward(x, index: index, &gathered, outer: 2, size: 60, count: 2, inner: 1)
        #expect(gathered == [2, 0, 61, 61])
    }

    @Test("backward kernels against Double references, at sizes that split across threads")
    func backwardKernels() {
        // Softmax and log-softmax backward: dx = J·dy with J from y.
        let (N, V) = (5, 20_011)
        let x = values(N * V, seed: 60, low: -8, high: 8), dy = values(N * V, seed: 61)
        for log in [false, true] {
            var y = [Float](repeating: 0, count: N * V), dx = [Float](repeating: 0.25, count: N * V)
            softmaxForward(x, &y, rows: N, columns: V, log: log)
            softmaxBackward(y, dy: dy, dx: &dx, rows: N, columns: V, log: log)
            var expected = [Float](repeating: 0, count: N * V)
            for row in 0..<N {
                let r = (row * V)..<((row + 1) * V)
                let p = r.map { log ? Foundation.exp(Double(y[$0])) : Double(y[$0]) }
                let dot = zip(p, r).reduce(0.0) { $0 + (log ? 1 : $1.0) * Double(dy[$1.1]) }
                for (k, i) in r.enumerated() {
                    expected[i] = Float(0.25 + (log ? Double(dy[i]) - p[k] * dot : p[k] * (Double(dy[i]) - dot)))
                }
            }
            #expect(closeness(dx, expected, absolute: 1e-5, relative: 1e-4) <= 1, "softmax backward log=\(log)")
        }
        // Cross-entropy and entropy backward, with a −inf (masked) logit in one row.
        var logits = values(N * V, seed: 62, low: -5, high: 5)
        logits[V + 3] = -.infinity
        let targets: [Int32] = [1, 2, -100, 4, 5]
        var losses = [Float](repeating: 0, count: N), lse = losses
        crossEntropyForward(logits: logits, targets: targets, ignoreIndex: -100, losses: &losses, lse: &lse, rows: N, vocabulary: V)
        let dloss: [Float] = [0.5, -1, 2, 0.25, 1]
        var dlogits = [Float](repeating: 0, count: N * V)
        crossEntropyBackward(logits: logits, targets: targets, ignoreIndex: -100, lse: lse, dloss: dloss, dlogits: &dlogits, rows: N, vocabulary: V)
        var entropies = [Float](repeating: 0, count: N)
        entropyForward(logits: logits, entropy: &entropies, lse: &lse, rows: N, vocabulary: V)
        var dEntropy = [Float](repeating: 0, count: N * V)
        entropyBackward(logits: logits, entropy: entropies, lse: lse, dentropy: dloss, dlogits: &dEntropy, rows: N, vocabulary: V)
        var expectedCE = [Float](repeating: 0, count: N * V), expectedH = expectedCE
        for row in 0..<N {
            let r = (row * V)..<((row + 1) * V)
            let m = r.map { Double(logits[$0]) }.max()!
            let z = r.reduce(0.0) { $0 + Foundation.exp(Double(logits[$1]) - m) }
            let logZ = m + Foundation.log(z)
            let h = -r.reduce(0.0) { total, i in
                logits[i] == -.infinity ? total : total + Foundation.exp(Double(logits[i]) - logZ) * (Double(logits[i]) - logZ)
            }
            #expect(entropies[row].isFinite && abs(Double(entropies[row]) - h) <= 1e-4 * max(1, h), "entropy row \(row)")
            for i in r {
                let p = Foundation.exp(Double(logits[i]) - logZ)
                let logp = logits[i] == -.infinity ? 0 : Double(logits[i]) - logZ
                if targets[row] != -100 {
                    expectedCE[i] = Float(Double(dloss[row]) * (p - (i - row * V == Int(targets[row]) ? 1 : 0)))
                }
                expectedH[i] = Float(-Double(dloss[row]) * p * (logp + h))
            }
        }
        #expect(closeness(dlogits, expectedCE, absolute: 1e-6, relative: 1e-4) <= 1, "cross-entropy backward")
        #expect(closeness(dEntropy, expectedH, absolute: 1e-6, relative: 1e-4) <= 1, "entropy backward")
        // Unary, clamp and reduction backward passes over 70,003 elements (two chunks and a tail).
        let count = 70_003
        let u = values(count, seed: 63, low: 0.1, high: 3), du = values(count, seed: 64)
        for function in [UnaryFunction.relu, .tanh, .sigmoid, .exp, .log, .square, .sqrt, .abs] {
            var y = [Float](repeating: 0, count: count), dx = [Float](repeating: 0, count: count)
            unaryForward(function, u, &y, count: count)
            unaryBackward(function, x: u, y: y, dy: du, dx: &dx, count: count)
            let expectedY = u.map { function.value($0) }
            let expectedDx = (0..<count).map { function.derivative(x: u[$0], y: expectedY[$0]) * du[$0] }
            #expect(closeness(y, expectedY, absolute: 1e-6, relative: 1e-6) <= 1, "\(function) forward")
            #expect(closeness(dx, expectedDx, absolute: 1e-6, relative: 1e-5) <= 1, "\(function) backward")
        }
        var clamped = [Float](repeating: 0, count: count), dClamp = [Float](repeating: 0, count: count)
        clampForward(u, &clamped, count: count, lower: 0.5, upper: 2)
        clampBackward(u, dy: du, dx: &dClamp, count: count, lower: 0.5, upper: 2)
        #expect(clamped == u.map { min(max($0, 0.5), 2) })
        #expect(dClamp == (0..<count).map { u[$0] >= 0.5 && u[$0] <= 2 ? du[$0] : 0 })
        var sums = [Float](repeating: 0, count: 7 * 3), dSum = [Float](repeating: 0, count: 7 * 1001 * 3)
        let big = values(7 * 1001 * 3, seed: 65)
        reduceSum(big, outer: 7, size: 1001, inner: 3, &sums)
        reduceSumBackward(Array(sums), outer: 7, size: 1001, inner: 3, dx: &dSum)
        for o in 0..<7 { for n in 0..<3 {
            let exact = (0..<1001).reduce(0.0) { $0 + Double(big[(o * 1001 + $1) * 3 + n]) }
            #expect(abs(Double(sums[o * 3 + n]) - exact) < 1e-3)
            #expect(dSum[(o * 1001 + 500) * 3 + n] == sums[o * 3 + n])
        } }
    }

    @Test("attention backward (causal and bidirectional) against a Double reference built from the formulas", arguments: [true, false])
    func attentionBackwardReference(causal: Bool) {
        let (B, T, C, NH) = (2, 70, 8, 2)
        let HS = C / NH
        let qkv = values(B * T * 3 * C, seed: 70, low: -1.5, high: 1.5), dout = values(B * T * C, seed: 71)
        var mask = [Float](repeating: 1, count: B * T)
        for t in 0..<4 { mask[T + t] = 0 }
        var out = [Float](repeating: 0, count: B * T * C), probabilities = [Float](repeating: 0, count: B * NH * T * T)
        var dqkv = [Float](repeating: 0, count: B * T * 3 * C)
        attentionForward(qkv: qkv, out: &out, probabilities: &probabilities, paddingMask: mask, batch: B, time: T, channels: C, heads: NH, causal: causal)
        attentionBackward(qkv: qkv, probabilities: probabilities, dout: dout, dqkv: &dqkv, batch: B, time: T, channels: C, heads: NH, causal: causal)
        var expected = [Double](repeating: 0, count: B * T * 3 * C)
        let scale = 1 / Double(HS).squareRoot()
        func q(_ b: Int, _ t: Int, _ part: Int, _ h: Int, _ d: Int) -> Int { (b * T + t) * 3 * C + part * C + h * HS + d }
        for b in 0..<B { for h in 0..<NH {
            var p = [[Double]](repeating: [Double](repeating: 0, count: T), count: T)
            for i in 0..<T {
                let visible = (0...(causal ? i : T - 1)).filter { mask[b * T + $0] != 0 }
                if visible.isEmpty { continue }
                let scores = visible.map { j in (0..<HS).reduce(0.0) { $0 + Double(qkv[q(b, i, 0, h, $1)]) * Double(qkv[q(b, j, 1, h, $1)]) } * scale }
                let m = scores.max()!
                let z = scores.reduce(0.0) { $0 + Foundation.exp($1 - m) }
                for (k, j) in visible.enumerated() { p[i][j] = Foundation.exp(scores[k] - m) / z }
            }
            for i in 0..<T {
                let dO = (0..<HS).map { Double(dout[(b * T + i) * C + h * HS + $0]) }
                let dP = (0..<T).map { j in (0..<HS).reduce(0.0) { $0 + dO[$1] * Double(qkv[q(b, j, 2, h, $1)]) } }
                let dot = (0..<T).reduce(0.0) { $0 + p[i][$1] * dP[$1] }
                for j in 0..<T where p[i][j] != 0 {
                    let dS = p[i][j] * (dP[j] - dot)
                    for d in 0..<HS {
                        expected[q(b, i, 0, h, d)] += scale * dS * Double(qkv[q(b, j, 1, h, d)])
                        expected[q(b, j, 1, h, d)] += scale * dS * Double(qkv[q(b, i, 0, h, d)])
                        expected[q(b, j, 2, h, d)] += p[i][j] * dO[d]
                    }
                }
            }
        } }
        #expect(closeness(dqkv, expected.map(Float.init), absolute: 1e-5, relative: 1e-4) <= 1)
    }

    @Test("embedding lookup and scatter-add against index loops")
    func embedding() {
        let (V, C, N) = (13, 70, 40)
        let weight = values(V * C, seed: 42)
        let ids: [Int32] = (0..<N).map { Int32(($0 * 5) % 7) }  // repeated ids
        var out = [Float](repeating: 0, count: N * C)
        embeddingForward(weight: weight, ids: ids, out: &out, count: N, vocabulary: V, channels: C)
        for n in 0..<N { #expect(Array(out[(n * C)..<((n + 1) * C)]) == Array(weight[(Int(ids[n]) * C)..<((Int(ids[n]) + 1) * C)])) }
        let dout = values(N * C, seed: 43)
        var dweight = [Float](repeating: 0, count: V * C), expected = [Double](repeating: 0, count: V * C)
        embeddingBackward(ids: ids, dout: dout, dweight: &dweight, count: N, channels: C)
        for n in 0..<N { for j in 0..<C { expected[Int(ids[n]) * C + j] += Double(dout[n * C + j]) } }
        #expect(closeness(dweight, expected.map(Float.init), absolute: 1e-5) <= 1)
    }

    @Test("sums, sums of rows and maxima")
    func reductions() {
        let x = values(100_003, seed: 40)
        let exact = x.reduce(0.0) { $0 + Double($1) }
        #expect(abs(Double(sumElements(x, count: x.count)) - exact) < 1e-3)
        #expect(maximumElement(x, count: x.count) == x.max()!)
        var out = [Float](repeating: 0, count: 7), argmax = [Int32](repeating: 0, count: 7)
        let small = values(7 * 9, seed: 41)
        reduceMax(small, outer: 7, size: 9, inner: 1, &out, argmax: &argmax)
        for o in 0..<7 {
            let row = Array(small[(o * 9)..<(o * 9 + 9)])
            #expect(out[o] == row.max()! && Int(argmax[o]) == row.firstIndex(of: row.max()!)!)
        }
    }
}

@Suite("Scored attention against its reference")
struct ScoredAttentionReferenceTests {
    @Test("strided layouts (interleaved query, head-major keys), shared bias, key mask, causal offset: fast = naive",
          arguments: [nil, 0, 2] as [Int?])
    func scoredReference(offset: Int?) {
        let (B, NH, HS, Tq, Tk, capacity) = (2, 3, 5, 3, 6, 8)
        let query = values(B * Tq * NH * HS, seed: 1), key = values(B * NH * capacity * HS, seed: 2)
        let value = values(B * NH * capacity * HS, seed: 3), bias = values(NH * Tq * Tk, seed: 4)
        let mask: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        let queryLayout = HeadLayout.interleaved(time: Tq, width: NH * HS, headSize: HS)
        let cacheLayout = HeadLayout.headMajor(heads: NH, capacity: capacity, headSize: HS)
        let shape = ScoredAttentionShape(batch: B, heads: NH, headSize: HS, queries: Tq, keys: Tk, scale: 0.8, causalOffset: offset)
        var fast = [Float](repeating: 9, count: B * Tq * NH * HS), slow = fast
        var probabilities = [Float](repeating: 0, count: B * NH * Tq * Tk)
        scoredAttentionForward(query: query, queryLayout, key: key, cacheLayout, value: value, cacheLayout, out: &fast, queryLayout,
                               probabilities: &probabilities, bias: bias, biasBatchStride: 0, keyMask: mask, dropoutMask: nil, shape: shape)
        scoredAttentionReference(query: query, queryLayout, key: key, cacheLayout, value: value, cacheLayout, out: &slow, queryLayout,
                                 bias: bias, biasBatchStride: 0, keyMask: mask, shape: shape)
        #expect(closeness(fast, slow, absolute: 1e-5) <= 1)
        // Masked and future keys get no probability.
        for b in 0..<B {
            for i in 0..<Tq {
                for j in 0..<Tk where mask[b * Tk + j] == 0 || (offset.map { j > i + $0 } ?? false) {
                    for h in 0..<NH { #expect(probabilities[((b * NH + h) * Tq + i) * Tk + j] == 0) }
                }
            }
        }
    }
}
