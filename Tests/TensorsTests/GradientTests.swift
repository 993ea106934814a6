// A finite-difference gradient check of every differentiable op, on small odd shapes.

import Testing
import Tensors

@Suite("Finite-difference gradients")
struct GradientTests {
    @Test("add, sub, mul, div with broadcasting", arguments: [[3, 5], [2, 3, 5]])
    func arithmetic(shape: [Int]) {
        let a = randomTensor(shape, seed: 1)
        let b = randomTensor(shape, seed: 2)
        let bias = randomTensor([5], seed: 3)
        let positive = randomTensor([5], seed: 4, low: 0.5, high: 1.5)
        checkGradients("add", inputs: [a, b]) { $0[0] + $0[1] }
        checkGradients("sub", inputs: [a, b]) { $0[0] - $0[1] }
        checkGradients("mul", inputs: [a, b]) { $0[0] * $0[1] }
        checkGradients("div", inputs: [a, positive]) { $0[0] / $0[1] }
        checkGradients("add broadcast", inputs: [a, bias]) { $0[0] + $0[1] }
        checkGradients("sub broadcast left", inputs: [bias, a]) { $0[0] - $0[1] }
        checkGradients("mul broadcast", inputs: [a, bias]) { $0[0] * $0[1] }
        checkGradients("div broadcast", inputs: [a, positive]) { $0[0] / $0[1] }
        checkGradients("bias add", inputs: [a, bias]) { $0[0].addingBias($0[1]) }
        checkGradients("scale and shift", inputs: [a]) { 2.5 * $0[0] - 0.5 }
        checkGradients("reverse subtract", inputs: [a]) { 1 - $0[0] / 3 }
    }

    @Test("size-1 dimensions, scalar broadcasting, suffix masks")
    func degenerateShapes() {
        let scalar = Tensor(scalar: 0.7)
        let a = randomTensor([3, 5], seed: 40)
        checkGradients("scalar broadcast mul", inputs: [a, scalar]) { $0[0] * $0[1] }
        checkGradients("scalar broadcast sub", inputs: [scalar, a]) { $0[0] - $0[1] }
        let column = randomTensor([4, 1], seed: 41)
        checkGradients("C=1 layer norm input", inputs: [column]) { ($0[0] * 2).sum(axis: 1) }
        let x1 = randomTensor([1, 1, 6], seed: 42)
        checkGradients("T=1 attention", inputs: [x1]) { causalSelfAttention($0[0], heads: 2) }
        let v1 = randomTensor([3, 1], seed: 43)
        checkGradients("V=1 cross-entropy", inputs: [v1]) { crossEntropy($0[0], targets: IndexTensor(shape: [3], values: [0, 0, 0] as [Int32])) }
        checkGradients("V=1 softmax", inputs: [v1]) { $0[0].logSoftmax() }
        let x = randomTensor([2, 3, 4], seed: 44)
        let suffixMask = Tensor(shape: [3, 4], values: (0..<12).map { $0 % 2 == 0 ? 1 : 0 })
        checkGradients("masked mean with a suffix mask", inputs: [x]) { maskedMean($0[0], mask: suffixMask) }
        let masked = Tensor(shape: [2, 5], values: [0.5, -.infinity, 1, 2, -1, 0, 0, -.infinity, 3, 1])
        let plain = randomTensor([2, 5], seed: 45)
        checkGradients("entropy with a −inf logit", inputs: [plain]) { entropy($0[0] + masked) }
    }

    @Test("same tensor used twice accumulates")
    func reuse() {
        let a = randomTensor([17], seed: 5)
        checkGradients("x*x + x", inputs: [a]) { $0[0] * $0[0] + $0[0] }
    }

    @Test("unary functions")
    func unary() {
        let x = randomTensor([3, 17], seed: 6, low: -2, high: 2)
        let positive = randomTensor([3, 17], seed: 7, low: 0.3, high: 2)
        // Keep |x| away from relu's and abs's kink.
        let awayFromZero = Tensor(shape: [3, 17], values: x.scalars.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 })
        checkGradients("gelu", inputs: [x]) { $0[0].gelu() }
        checkGradients("relu", inputs: [awayFromZero]) { $0[0].relu() }
        checkGradients("tanh", inputs: [x]) { $0[0].tanh() }
        checkGradients("sigmoid", inputs: [x]) { $0[0].sigmoid() }
        checkGradients("exp", inputs: [x]) { $0[0].exp() }
        checkGradients("log", inputs: [positive]) { $0[0].log() }
        checkGradients("square", inputs: [x]) { $0[0].squared() }
        checkGradients("sqrt", inputs: [positive]) { $0[0].sqrt() }
        checkGradients("abs", inputs: [awayFromZero]) { $0[0].abs() }
        checkGradients("logSigmoid", inputs: [randomTensor([3, 17], seed: 8, low: -8, high: 8)]) { $0[0].logSigmoid() }
        checkGradients("negate", inputs: [x]) { -$0[0] }
    }

    @Test("clamp, minimum, maximum")
    func clipping() {
        // Values on a grid that avoids the clamp bounds and ties by more than the FD step.
        let a = Tensor(shape: [3, 7], values: (0..<21).map { Float($0 % 7) * 0.37 - 1.1 + Float($0 / 7) * 0.05 })
        let b = Tensor(shape: [3, 7], values: (0..<21).map { 0.9 - Float(($0 * 3) % 7) * 0.31 })
        checkGradients("clamp", inputs: [a]) { $0[0].clamped(min: -0.8, max: 0.7) }
        checkGradients("clamp below only", inputs: [a]) { $0[0].clamped(min: -0.3) }
        checkGradients("minimum", inputs: [a, b]) { minimum($0[0], $0[1]) }
        checkGradients("maximum", inputs: [a, b]) { maximum($0[0], $0[1]) }
    }

    @Test("matmul with every transpose combination", arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmulGradients(transposes: (Bool, Bool)) {
        let (ta, tb) = transposes
        let (M, K, N) = (3, 5, 4)
        let a = randomTensor([2] + (ta ? [K, M] : [M, K]), seed: 8)
        let b = randomTensor([2] + (tb ? [N, K] : [K, N]), seed: 9)
        let shared = randomTensor(tb ? [N, K] : [K, N], seed: 10)
        checkGradients("matmul batched", inputs: [a, b]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
        checkGradients("matmul shared", inputs: [a, shared]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
    }

    @Test("linear in both weight layouts, with and without bias")
    func linearGradients() {
        let x = randomTensor([2, 3, 5], seed: 11)
        let weight = randomTensor([7, 5], seed: 12)
        let weightT = randomTensor([5, 7], seed: 13)
        let bias = randomTensor([7], seed: 14)
        checkGradients("linear", inputs: [x, weight, bias]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        checkGradients("linear no bias", inputs: [x, weight]) { linear($0[0], weight: $0[1], bias: nil) }
        checkGradients("linear conv1d", inputs: [x, weightT, bias]) {
            linear($0[0], weight: $0[1], bias: $0[2], layout: .inputsByOutputs)
        }
    }

    @Test("layer norm")
    func layerNormGradients() {
        let x = randomTensor([3, 17], seed: 15, low: -2, high: 2)
        let w = randomTensor([17], seed: 16, low: 0.5, high: 1.5)
        let b = randomTensor([17], seed: 17)
        checkGradients("layerNorm", inputs: [x, w, b], epsilon: 5e-3) { layerNorm($0[0], weight: $0[1], bias: $0[2]) }
    }

    @Test("softmax and log-softmax")
    func softmaxGradients() {
        let x = randomTensor([3, 17], seed: 18, low: -2, high: 2)
        checkGradients("softmax", inputs: [x]) { $0[0].softmax() }
        checkGradients("logSoftmax", inputs: [x]) { $0[0].logSoftmax() }
    }

    @Test("causal self-attention, with and without a padding mask", arguments: [false, true])
    func attentionGradients(masked: Bool) {
        let (B, T, C, NH) = (2, 5, 6, 2)
        let qkv = randomTensor([B, T, 3 * C], seed: 19, low: -1.5, high: 1.5)
        // Left padding in the second sequence: two pads, then real tokens.
        let mask = masked ? Tensor(shape: [B, T], values: [1, 1, 1, 1, 1, 0, 0, 1, 1, 1]) : nil
        checkGradients("attention", inputs: [qkv], maximumElements: 200) {
            causalSelfAttention($0[0], heads: NH, paddingMask: mask)
        }
    }

    @Test("attention dropout with a fixed mask, across blocks and with padding")
    func attentionDropout() {
        let qkv = randomTensor([2, 67, 6], seed: 46)
        let mask = Tensor(shape: [2, 67], values: Array(repeating: 1, count: 67) + Array(repeating: 0, count: 3) + Array(repeating: 1, count: 64))
        checkGradients("attention dropout", inputs: [qkv], maximumElements: 60) {
            var generator = RandomGenerator(seed: 8)  // the same mask every evaluation
            return causalSelfAttention($0[0], heads: 2, paddingMask: mask, dropoutProbability: 0.3, generator: &generator)
        }
        var generator = RandomGenerator(seed: 8)
        let dropped = withNoGrad { causalSelfAttention(qkv, heads: 2, dropoutProbability: 0.3, generator: &generator) }
        let plain = withNoGrad { causalSelfAttention(qkv, heads: 2) }
        #expect(dropped.scalars != plain.scalars)
    }

    @Test("attention across several 64-row blocks")
    func attentionLong() {
        let qkv = randomTensor([1, 67, 6], seed: 20)
        checkGradients("attention T=67", inputs: [qkv], maximumElements: 60) { causalSelfAttention($0[0], heads: 1) }
    }

    @Test("embedding scatter-add with repeated ids")
    func embeddingGradients() {
        let table = randomTensor([7, 3], seed: 21)
        let ids = IndexTensor(shape: [2, 3], values: [1, 4, 1, 6, 0, 4] as [Int32])
        checkGradients("embedding", inputs: [table]) { embedding($0[0], ids: ids) }
    }

    @Test("dropout with a fixed mask")
    func dropoutGradients() {
        let x = randomTensor([3, 17], seed: 22)
        checkGradients("dropout", inputs: [x]) {
            var generator = RandomGenerator(seed: 5)  // the same mask every evaluation
            return dropout($0[0], probability: 0.3, generator: &generator)
        }
    }

    @Test("reshape, permute, transpose, slice, concat, gather")
    func layout() {
        let x = randomTensor([2, 3, 5], seed: 23)
        let y = randomTensor([2, 1, 5], seed: 24)
        checkGradients("reshape", inputs: [x]) { $0[0].reshaped([5, -1]) * $0[0].reshaped([5, 6]) }
        checkGradients("transpose", inputs: [x]) { $0[0].transposed(0, 2) }
        checkGradients("permute", inputs: [x]) { $0[0].permuted([1, 2, 0]) }
        checkGradients("slice middle", inputs: [x]) { $0[0].slice(axis: 1, 1..<3) }
        checkGradients("slice last", inputs: [x]) { $0[0].slice(axis: -1, 2..<5) }
        checkGradients("concat", inputs: [x, y]) { concat([$0[0], $0[1], $0[0]], axis: 1) }
        let index = IndexTensor(shape: [2, 3, 2], values: [0, 4, 4, 1, 2, 2, 3, 0, 1, 1, 0, 3] as [Int32])
        checkGradients("gather last axis", inputs: [x]) { gather($0[0], axis: 2, index: index) }
        let rows = IndexTensor(shape: [2, 2, 5], values: (0..<20).map { Int32(($0 * 7) % 3) })
        checkGradients("gather middle axis", inputs: [x]) { gather($0[0], axis: 1, index: rows) }
    }

    @Test("sum, mean, max, masked mean")
    func reductions() {
        let x = randomTensor([3, 4, 5], seed: 25)
        // Distinct values 0.05 apart, so no two are within the finite-difference step of a tie.
        var order = Array(0..<60)
        var generator = RandomGenerator(seed: 31)
        generator.shuffle(&order)
        let spread = Tensor(shape: [3, 4, 5], values: order.map { Float($0) * 0.05 - 1.5 })
        let mask = Tensor(shape: [3, 4, 5], values: (0..<60).map { $0 % 3 == 0 ? 0 : 1 })
        checkGradients("sum", inputs: [x]) { $0[0].sum() }
        checkGradients("mean", inputs: [x]) { $0[0].mean() }
        checkGradients("sum axis 1", inputs: [x]) { $0[0].sum(axis: 1) }
        checkGradients("mean last axis", inputs: [x]) { $0[0].mean(axis: -1, keepingAxis: true) }
        checkGradients("max axis 0", inputs: [spread]) { $0[0].max(axis: 0) }
        checkGradients("max axis 2", inputs: [spread]) { $0[0].max(axis: 2) }
        checkGradients("max all", inputs: [spread]) { $0[0].max() }
        checkGradients("masked mean", inputs: [x]) { maskedMean($0[0], mask: mask) }
        checkGradients("masked mean axis", inputs: [x]) { maskedMean($0[0], mask: mask, axis: -1) }
    }

    @Test("cross-entropy with an ignore index, token log-probabilities, entropy")
    func vocabularyLosses() {
        let logits = randomTensor([2, 3, 11], seed: 26, low: -2, high: 2)
        let targets = IndexTensor(shape: [2, 3], values: [3, -100, 10, 0, 5, -100] as [Int32])
        let tokens = IndexTensor(shape: [2, 3], values: [3, 7, 10, 0, 5, 1] as [Int32])
        checkGradients("crossEntropy mean", inputs: [logits]) { crossEntropy($0[0], targets: targets) }
        checkGradients("crossEntropy sum", inputs: [logits]) { crossEntropy($0[0], targets: targets, reduction: .sum) }
        checkGradients("crossEntropy none", inputs: [logits]) { crossEntropy($0[0], targets: targets, reduction: .none) }
        checkGradients("tokenLogProbabilities", inputs: [logits]) { tokenLogProbabilities($0[0], tokens: tokens) }
        checkGradients("entropy", inputs: [logits]) { entropy($0[0]) }
    }

    @Test("a small network: two linears, gelu, layer norm, cross-entropy")
    func composed() {
        let x = randomTensor([4, 6], seed: 27)
        let w1 = randomTensor([8, 6], seed: 28), w2 = randomTensor([5, 8], seed: 29)
        let g = Tensor(repeating: 1, shape: [8]), b = Tensor(zeros: [8])
        let targets = IndexTensor(shape: [4], values: [0, 4, 2, 1] as [Int32])
        checkGradients("network", inputs: [x, w1, w2, g, b]) {
            let h = layerNorm(linear($0[0], weight: $0[1], bias: nil).gelu(), weight: $0[3], bias: $0[4])
            return crossEntropy(linear(h, weight: $0[2], bias: nil), targets: targets)
        }
    }
}
