// The multi-label classification loss against hand-computed values and finite differences.

import Foundation
import Alignment
import NN
import Tensors
import Testing

@Suite("Classification losses")
struct ClassificationLossTests {
    @Test("binary cross-entropy on logits: mean over every (text, label) of −[y log σ(x) + (1 − y) log σ(−x)]")
    func binaryCrossEntropy() {
        // softplus(−2) + softplus(−1) + softplus(0) + softplus(−3) = 0.1269280 + 0.3132617 + 0.6931472 + 0.0485874.
        let logits = Tensor(shape: [2, 2], values: [2, -1, 0, 3])
        let loss = multiLabelBinaryCrossEntropy(logits: logits, targets: [1, 0, 1, 1])
        #expect(abs(loss.item - 0.29548108) < 1e-6)
        // Soft targets: y = 0.5 at logit 0 gives log 2.
        #expect(abs(multiLabelBinaryCrossEntropy(logits: Tensor(shape: [1, 1], values: [0]), targets: [0.5]).item - 0.6931472) < 1e-6)
        // Large logits stay finite.
        #expect(multiLabelBinaryCrossEntropy(logits: Tensor(shape: [1, 2], values: [200, -200]), targets: [0, 1]).item.isFinite)
    }

    @Test("its gradient is (σ(x) − y) / (B·K)")
    func gradient() {
        let logits = Tensor(shape: [2, 2], values: [2, -1, 0, 3], requiresGrad: true)
        multiLabelBinaryCrossEntropy(logits: logits, targets: [1, 0, 1, 1]).backward()
        let x: [Float] = [2, -1, 0, 3], y: [Float] = [1, 0, 1, 1]
        let expected: [Float] = (0..<4).map { i in (1 / (1 + Foundation.exp(-x[i])) - y[i]) / 4 }
        for (a, b) in zip(logits.grad!.scalars, expected) { #expect(abs(a - b) < 1e-6) }
    }
}
