// Finite-difference checks of the encoder-decoder ops: scored attention (separate query, key and
// value; an additive bias shared by the batch or per item; key padding; causal windows; dropout)
// and RMS layer normalization.

import Foundation
import Tensors
import Testing

@Suite("Scored attention and RMS norm gradients")
struct ScoredAttentionGradientTests {
    @Test("scored attention: query, key, value and a shared bias, with key padding, bidirectional and causal",
          arguments: [false, true])
    func scored(causal: Bool) {
        let (B, Tq, Tk, NH, HS) = (2, 3, 5, 2, 3)
        let (tq, tk) = causal ? (Tk, Tk) : (Tq, Tk)  // causal self-attention has as many queries as keys
        let query = randomTensor([B, tq, NH * HS], seed: 1, low: -1.5, high: 1.5)
        let key = randomTensor([B, tk, NH * HS], seed: 2, low: -1.5, high: 1.5)
        let value = randomTensor([B, tk, NH * HS], seed: 3)
        let bias = randomTensor([NH, tq, tk], seed: 4)
        let mask = Tensor(shape: [B, tk], values: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
        checkGradients("scored attention causal=\(causal)", inputs: [query, key, value, bias], maximumElements: 60) {
            scoredAttention(query: $0[0], key: $0[1], value: $0[2], heads: NH, bias: $0[3], keyMask: mask, causal: causal, scale: 0.7)
        }
    }

    @Test("scored attention: a per-item bias (B, NH, Tq, Tk), dropout, and the default 1/√HS scale")
    func perItemBiasAndDropout() {
        let (B, Tq, Tk, NH, HS) = (2, 4, 3, 2, 2)
        let query = randomTensor([B, Tq, NH * HS], seed: 11), key = randomTensor([B, Tk, NH * HS], seed: 12)
        let value = randomTensor([B, Tk, NH * HS], seed: 13), bias = randomTensor([B, NH, Tq, Tk], seed: 14)
        checkGradients("scored attention per-item bias", inputs: [query, key, value, bias], maximumElements: 60) {
            scoredAttention(query: $0[0], key: $0[1], value: $0[2], heads: NH, bias: $0[3])
        }
        checkGradients("scored attention dropout", inputs: [query, key, value, bias], maximumElements: 60) {
            var generator = RandomGenerator(seed: 9)  // the same mask at every evaluation
            return scoredAttention(query: $0[0], key: $0[1], value: $0[2], heads: NH, bias: $0[3], dropoutProbability: 0.3, generator: &generator)
        }
    }

    @Test("causal scored attention: a query never depends on later keys; the bias shifts scores")
    func causalWindow() {
        let query = randomTensor([1, 3, 2], seed: 5), key = randomTensor([1, 3, 2], seed: 6), value = randomTensor([1, 3, 2], seed: 7)
        let before = withNoGrad { scoredAttention(query: query, key: key, value: value, heads: 1, causal: true) }.scalars
        value.data[2 * 2] += 1  // the last key's value
        let after = withNoGrad { scoredAttention(query: query, key: key, value: value, heads: 1, causal: true) }.scalars
        #expect(Array(before.prefix(4)) == Array(after.prefix(4)) && before[4] != after[4])
        // A large bias on key 0 makes every query copy value 0.
        let bias = Tensor(shape: [1, 3, 3], values: [40, 0, 0, 40, 0, 0, 40, 0, 0])
        let copied = withNoGrad { scoredAttention(query: query, key: key, value: value, heads: 1, bias: bias) }.scalars
        for t in 0..<3 { #expect(abs(copied[2 * t] - value.data[0]) < 1e-5 && abs(copied[2 * t + 1] - value.data[1]) < 1e-5) }
    }

    @Test("RMS norm: values against x/√(mean x² + ε)·w and gradients in x and w, across the SIMD tail")
    func rmsNormGradients() {
        let x = randomTensor([3, 19], seed: 21, low: -2, high: 2), weight = randomTensor([19], seed: 22, low: 0.5, high: 1.5)
        checkGradients("rmsNorm", inputs: [x, weight], maximumElements: 80) { rmsNorm($0[0], weight: $0[1], epsilon: 1e-6) }
        let out = withNoGrad { rmsNorm(x, weight: weight, epsilon: 1e-6) }.scalars
        for row in 0..<3 {
            let values = (0..<19).map { Double(x.data[row * 19 + $0]) }
            let rstd = 1 / (values.reduce(0) { $0 + $1 * $1 } / 19 + 1e-6).squareRoot()
            for j in 0..<19 { #expect(abs(Double(out[row * 19 + j]) - values[j] * rstd * Double(weight.data[j])) < 1e-5) }
        }
    }
}
