// Softmax family and the fused vocabulary losses: cross-entropy, token log-probabilities, entropy.

import Kernels

extension Tensor {
    /// Softmax over the last dimension.
    public func softmax() -> Tensor { softmaxOp(log: false) }

    /// Log-softmax over the last dimension (x − logsumexp(x)).
    public func logSoftmax() -> Tensor { softmaxOp(log: true) }

    private func softmaxOp(log: Bool) -> Tensor {
        let V = shape.last ?? 1
        let N = count / Swift.max(V, 1)
        let out = Tensor(zeros: shape)
        softmaxForward(data, out.data, rows: N, columns: V, log: log)
        return Tensor.record(out, inputs: [self]) { [self] output, gradient in
            softmaxBackward(output.data, dy: gradient.data, dx: gradientStorage(), rows: N, columns: V, log: log)
        }
    }
}

/// How a per-token loss is reduced.
public enum LossReduction: Sendable {
    /// Mean over the tokens that are not ignored (torch's default).
    case mean
    /// Sum over all tokens.
    case sum
    /// One loss per token, the targets' shape.
    case none
}

/// Cross-entropy of `logits` (…, V) against `targets` (…); targets equal to `ignoreIndex` add
/// nothing (and are not counted by the mean). Fused log-softmax + gather: no V-sized buffer
/// besides the logits' gradient.
public func crossEntropy(
    _ logits: Tensor, targets: IndexTensor, ignoreIndex: Int32 = -100, reduction: LossReduction = .mean
) -> Tensor {
    let V = logits.shape.last ?? 0
    require(Array(logits.shape.dropLast()) == targets.shape, "crossEntropy: logits \(logits.shape) and targets \(targets.shape) disagree (expected targets \(Array(logits.shape.dropLast())))")
    let N = targets.count
    let losses = Tensor(zeros: targets.shape)
    let lse = TensorStorage(count: N)
    targets.values.withUnsafeBufferPointer {
        crossEntropyForward(logits: logits.data, targets: $0.baseAddress!, ignoreIndex: ignoreIndex,
                            losses: losses.data, lse: lse.pointer, rows: N, vocabulary: V)
    }
    let perToken = Tensor.record(losses, inputs: [logits]) { _, gradient in
        targets.values.withUnsafeBufferPointer {
            crossEntropyBackward(logits: logits.data, targets: $0.baseAddress!, ignoreIndex: ignoreIndex, lse: lse.pointer,
                                 dloss: gradient.data, dlogits: logits.gradientStorage(), rows: N, vocabulary: V)
        }
    }
    switch reduction {
    case .none: return perToken
    case .sum: return perToken.sum()
    case .mean:
        let counted = targets.values.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        return perToken.sum() * (1 / Float(Swift.max(counted, 1)))
    }
}

/// log softmax(logits)[token] for every position: logits (…, V), tokens (…) → (…).
/// Fused: no log-softmax tensor is materialized.
public func tokenLogProbabilities(_ logits: Tensor, tokens: IndexTensor) -> Tensor {
    let V = logits.shape.last ?? 0
    require(Array(logits.shape.dropLast()) == tokens.shape, "tokenLogProbabilities: logits \(logits.shape) and tokens \(tokens.shape) disagree")
    let N = tokens.count
    let out = Tensor(zeros: tokens.shape)
    let lse = TensorStorage(count: N)
    tokens.values.withUnsafeBufferPointer {
        tokenLogProbabilityForward(logits: logits.data, targets: $0.baseAddress!, logProbabilities: out.data,
                                   lse: lse.pointer, rows: N, vocabulary: V)
    }
    return Tensor.record(out, inputs: [logits]) { _, gradient in
        let negated = TensorStorage(count: N)
        for i in 0..<N { negated.pointer[i] = -gradient.data[i] }
        tokens.values.withUnsafeBufferPointer {
            crossEntropyBackward(logits: logits.data, targets: $0.baseAddress!, ignoreIndex: Int32.min, lse: lse.pointer,
                                 dloss: negated.pointer, dlogits: logits.gradientStorage(), rows: N, vocabulary: V)
        }
    }
}

/// Entropy −Σ p log p of softmax(logits) at every position: (…, V) → (…).
public func entropy(_ logits: Tensor) -> Tensor {
    let V = logits.shape.last ?? 0
    let N = logits.count / Swift.max(V, 1)
    let out = Tensor(zeros: Array(logits.shape.dropLast()))
    let lse = TensorStorage(count: N)
    entropyForward(logits: logits.data, entropy: out.data, lse: lse.pointer, rows: N, vocabulary: V)
    return Tensor.record(out, inputs: [logits]) { output, gradient in
        entropyBackward(logits: logits.data, entropy: output.data, lse: lse.pointer, dentropy: gradient.data,
                        dlogits: logits.gradientStorage(), rows: N, vocabulary: V)
    }
}
