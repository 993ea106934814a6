// Finite-difference checks of the encoder's ops: bidirectional attention (with padding, across
// 64-row blocks, with dropout) and the exact (erf) GELU.

import Foundation
import Tensors
import Testing

@Suite("Encoder op gradients")
struct EncoderGradientTests {
    @Test("bidirectional self-attention, with and without a padding mask", arguments: [false, true])
    func bidirectional(masked: Bool) {
        let (B, T, C, NH) = (2, 5, 6, 2)
        let qkv = randomTensor([B, T, 3 * C], seed: 23, low: -1.5, high: 1.5)
        // Right padding in the second sequence (as encoders batch).
        let mask = masked ? Tensor(shape: [B, T], values: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]) : nil
        checkGradients("bidirectional attention", inputs: [qkv], maximumElements: 200) {
            var generator = RandomGenerator(seed: 1)
            return bidirectionalSelfAttention($0[0], heads: NH, paddingMask: mask, generator: &generator)
        }
    }

    @Test("bidirectional attention sees later keys: the first position depends on the last")
    func seesTheFuture() {
        var generator = RandomGenerator(seed: 1)
        let qkv = randomTensor([1, 4, 6], seed: 5)
        let before = withNoGrad { bidirectionalSelfAttention(qkv, heads: 1, generator: &generator) }.scalars
        let causal = withNoGrad { causalSelfAttention(qkv, heads: 1) }.scalars
        #expect(Array(before.prefix(2)) != Array(causal.prefix(2)))
        qkv.data[3 * 6 + 4] += 1  // the last token's value
        let after = withNoGrad { bidirectionalSelfAttention(qkv, heads: 1, generator: &generator) }.scalars
        #expect(before[0..<2] != after[0..<2])
    }

    @Test("bidirectional attention across 64-row blocks, with padding and dropout")
    func longWithDropout() {
        let qkv = randomTensor([2, 67, 6], seed: 47)
        let mask = Tensor(shape: [2, 67], values: Array(repeating: 1, count: 67) + Array(repeating: 1, count: 60) + Array(repeating: 0, count: 7))
        checkGradients("bidirectional attention T=67", inputs: [qkv], maximumElements: 60) {
            var generator = RandomGenerator(seed: 1)
            return bidirectionalSelfAttention($0[0], heads: 2, paddingMask: mask, generator: &generator)
        }
        checkGradients("bidirectional attention dropout", inputs: [qkv], maximumElements: 60) {
            var generator = RandomGenerator(seed: 8)  // the same mask every evaluation
            return bidirectionalSelfAttention($0[0], heads: 2, paddingMask: mask, dropoutProbability: 0.3, generator: &generator)
        }
    }

    @Test("exact GELU: values against 0.5·x·(1 + erf(x/√2)) and its gradient")
    func geluErf() {
        let x = randomTensor([70], seed: 31, low: -4, high: 4)
        checkGradients("geluErf", inputs: [x]) { $0[0].geluErf() }
        let values = withNoGrad { Tensor(shape: [2], values: [0.3, -1.7]).geluErf() }.scalars
        #expect(abs(values[0] - 0.18537343) < 1e-6 && abs(values[1] - -0.07576129) < 1e-6)
        // The vector path (16 at a time) agrees with libm's erf elementwise.
        let many = randomTensor([4096], seed: 3, low: -6, high: 6)
        let fast = withNoGrad { many.geluErf() }.scalars
        let worst = zip(many.scalars, fast).map { abs(0.5 * $0 * (1 + erf($0 / 2.0.squareRoot().float)) - $1) }.max()!
        #expect(worst < 1e-6)
    }
}

private extension Double { var float: Float { Float(self) } }
