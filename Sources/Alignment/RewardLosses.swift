// Reward-model losses: pairwise Bradley–Terry (with an optional margin, as Llama 2's reward
// model), binary labels (logistic), and best-of-N (openai/lm-human-preferences' `best_of_4`:
// softmax cross-entropy over the N samples' rewards). K-class labels use `crossEntropy`.

import Kernels
import Tensors

/// Pairwise Bradley–Terry loss, mean over pairs: −log σ(r_chosen − r_rejected − margin).
/// - Parameters:
///   - chosen: rewards of the preferred responses, (B).
///   - rejected: rewards of the other responses, (B).
///   - margin: per-pair margins, (B); nil means 0.
/// - Returns: the scalar loss.
public func pairwiseRewardLoss(chosen: Tensor, rejected: Tensor, margin: [Float]? = nil) -> Tensor {
    var difference = chosen - rejected
    if let margin {
        require(margin.count == chosen.count, "pairwiseRewardLoss: \(margin.count) margins for \(chosen.count) pairs")
        difference = difference - Tensor(shape: chosen.shape, values: margin)
    }
    return -difference.logSigmoid().mean()
}

/// Binary logistic loss on a scalar reward, mean over examples:
/// −[y log σ(r) + (1 − y) log σ(−r)] with y ∈ {0, 1} (1: the label with the higher reward).
/// - Parameters:
///   - rewards: (B).
///   - positive: whether each example carries the positive label, (B).
/// - Returns: the scalar loss.
public func binaryRewardLoss(rewards: Tensor, positive: [Bool]) -> Tensor {
    require(positive.count == rewards.count, "binaryRewardLoss: \(positive.count) labels for \(rewards.count) rewards")
    let sign = Tensor(shape: rewards.shape, values: positive.map { $0 ? 1 : -1 })
    return -(rewards * sign).logSigmoid().mean()
}

/// Best-of-N loss (lm-human-preferences' `best_of_4`): the N samples' rewards are logits of a
/// softmax, and the labelled best sample is the target; mean over queries.
/// - Parameters:
///   - rewards: (B, N).
///   - best: the index of the best sample of each query, (B), each in 0..<N.
/// - Returns: the scalar loss.
public func bestOfNRewardLoss(rewards: Tensor, best: [Int]) -> Tensor {
    require(rewards.rank == 2 && best.count == rewards.shape[0], "bestOfNRewardLoss: rewards \(rewards.shape) and \(best.count) labels")
    require(best.allSatisfy { (0..<rewards.shape[1]).contains($0) }, "bestOfNRewardLoss: a best index is outside 0..<\(rewards.shape[1])")
    return crossEntropy(rewards, targets: IndexTensor(shape: [best.count], values: best.map { Int32($0) }))
}
