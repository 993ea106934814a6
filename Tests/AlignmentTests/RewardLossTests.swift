// Reward losses against hand-computed values (softplus and log-sum-exp worked out by hand /
// Python's math module), their gradients against finite differences, and log σ's extremes.

import Alignment
import NN
import Tensors
import Testing

@Suite("Reward losses")
struct RewardLossTests {
    @Test("pairwise Bradley–Terry: mean of −log σ(r_c − r_r − m)")
    func pairwise() {
        // softplus(−1) = log(1 + e^−1) = 0.3132617, softplus(2) = 2.1269280 → mean 1.2200948.
        let loss = pairwiseRewardLoss(chosen: Tensor(shape: [2], values: [1, 0]), rejected: Tensor(shape: [2], values: [0, 2]))
        #expect(abs(loss.item - 1.2200948) < 1e-6)
        // With margin 0.5: softplus(−0.5) = 0.4740770, softplus(2.5) = 2.5788897 → 1.5264834.
        let withMargin = pairwiseRewardLoss(chosen: Tensor(shape: [2], values: [1, 0]), rejected: Tensor(shape: [2], values: [0, 2]),
                                            margin: [0.5, 0.5])
        #expect(abs(withMargin.item - 1.5264834) < 1e-6)
    }

    @Test("binary logistic: −log σ(r) for positive labels, −log σ(−r) for negative ones")
    func binary() {
        let rewards = Tensor(shape: [2], values: [2, -1])
        #expect(abs(binaryRewardLoss(rewards: rewards, positive: [true, true]).item - 0.7200948) < 1e-6)
        #expect(abs(binaryRewardLoss(rewards: rewards, positive: [true, false]).item - 0.2200948) < 1e-6)
    }

    @Test("best-of-N: softmax cross-entropy over the samples' rewards")
    func bestOfN() {
        // log(e + e² + e³ + e⁴) − 4 = 0.4401897; log 4 − 0 = 1.3862944 → mean 0.9132420.
        let rewards = Tensor(shape: [2, 4], values: [1, 2, 3, 4, 0, 0, 0, 0])
        #expect(abs(bestOfNRewardLoss(rewards: rewards, best: [3, 1]).item - 0.9132420) < 1e-6)
    }

    @Test("log σ is finite at ±100 and its gradient is σ(−x)")
    func logSigmoidExtremes() {
        let x = Tensor(shape: [3], values: [-100, 0, 100], requiresGrad: true)
        let y = x.logSigmoid()
        #expect(y.scalars[0] == -100)
        #expect(abs(y.scalars[1] + 0.6931472) < 1e-6)
        #expect(y.scalars[2] <= 0 && y.scalars[2] > -1e-30)
        y.sum().backward()
        #expect(x.grad!.scalars == [1, 0.5, 0])
    }

    @Test("gradients of the three losses match central finite differences")
    func gradients() {
        func check(_ values: [Float], shape: [Int], _ loss: (Tensor) -> Tensor) {
            let x = Tensor(shape: shape, values: values, requiresGrad: true)
            loss(x).backward()
            let analytic = x.grad!.scalars
            for i in values.indices {
                var plus = values, minus = values
                plus[i] += 1e-2
                minus[i] -= 1e-2
                let numeric = (withNoGrad { loss(Tensor(shape: shape, values: plus)) }.item
                    - withNoGrad { loss(Tensor(shape: shape, values: minus)) }.item) / 2e-2
                #expect(abs(numeric - analytic[i]) < 2e-3, "element \(i): \(numeric) vs \(analytic[i])")
            }
        }
        check([0.3, -1.2, 2.0, 0.7, -0.4, 1.1], shape: [6]) { x in
            pairwiseRewardLoss(chosen: x.slice(axis: 0, 0..<3), rejected: x.slice(axis: 0, 3..<6), margin: [0.2, 0, 1])
        }
        check([0.3, -1.2, 2.0], shape: [3]) { binaryRewardLoss(rewards: $0, positive: [true, false, true]) }
        check([0.3, -1.2, 2.0, 0.7, -0.4, 1.1, 0.0, 0.5], shape: [2, 4]) { bestOfNRewardLoss(rewards: $0, best: [2, 0]) }
    }
}
