// Teacher forcing for any encoder-decoder, as transformers' `*ForConditionalGeneration` does it
// with `labels`: the decoder reads the labels shifted right from its start token (−100 read as the
// pad id) and the loss is the mean cross-entropy over the labels that are not −100.
// Shapes: B batch, S source tokens, T target tokens, V vocabulary.

import Foundation
import Tensors

extension EncoderDecoderLanguageModel {
    /// transformers' `_shift_right`: the start id, then each row's labels but the last, −100 read
    /// as the pad id. - labels: (B, T). Returns (B, T).
    public func decoderInputs(labels: IndexTensor) -> IndexTensor {
        let (B, T) = (labels.shape[0], labels.shape[1])
        let pad = Int32(modelConfiguration.padTokenId ?? 0)
        var values = [Int32](repeating: Int32(decoderStartTokenId), count: B * T)
        for b in 0..<B {
            for t in 1..<max(T, 1) {
                let label = labels.values[b * T + t - 1]
                values[b * T + t] = label == -100 ? pad : label
            }
        }
        return IndexTensor(shape: [B, T], values: values)
    }

    /// Logits (B, T, V) of the decoder fed the shifted labels, and the mean cross-entropy over the
    /// labels that are not −100 (differentiable unless called under `withNoGrad`).
    /// - Parameters:
    ///   - sources: (B, S) source ids, right-padded; mask: (B, S), 1 for real tokens.
    ///   - labels: (B, T) target ids, −100 where nothing is predicted.
    public func teacherForced(sources: IndexTensor, mask: Tensor, labels: IndexTensor) -> (logits: Tensor, loss: Tensor) {
        let encoded = encode(sources, mask: mask)
        let logits = logits(decoded: decoderStates(decoderInputs(labels: labels), encoded: encoded, encoderMask: mask, cache: nil))
        return (logits, crossEntropy(logits, targets: labels))
    }
}
