// Classifier losses: softmax cross-entropy for one label per text (`crossEntropy`), and binary
// cross-entropy on logits for any number of labels per text (torch's BCEWithLogitsLoss).

import Kernels
import Tensors

/// Multi-label loss, mean over all B·K elements (torch's `BCEWithLogitsLoss()`):
/// −[y·log σ(x) + (1 − y)·log σ(−x)], computed stably through log σ.
/// - Parameters:
///   - logits: (B, K).
///   - targets: (B·K) values in [0, 1], row-major (1: the text has label k).
/// - Returns: the scalar loss.
public func multiLabelBinaryCrossEntropy(logits: Tensor, targets: [Float]) -> Tensor {
    require(targets.count == logits.count, "multiLabelBinaryCrossEntropy: \(targets.count) targets for logits \(logits.shape)")
    let y = Tensor(shape: logits.shape, values: targets)
    let positive = logits.logSigmoid() * y
    let negative = (-logits).logSigmoid() * (1 - y)
    return -(positive + negative).mean()
}
