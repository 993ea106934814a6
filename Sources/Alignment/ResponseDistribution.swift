// The distribution a sampler drew response tokens from, recomputed in a training pass: logits over
// the ids the sampler could choose, divided by the temperature, with end-of-sequence removed and
// the rest renormalized at the positions where it was banned (min_new_tokens). PPO's π_old, π and
// π_ref, and the evaluations' log-probs, all go through it, so that the ratio π/π_old and the KL
// compare the distributions the tokens actually came from.

import Models
import Tensors

/// How response tokens were sampled, as far as their log-probabilities are concerned.
struct ResponseDistribution {
    /// Logits are divided by it (0 or 1: unchanged).
    let temperature: Float
    /// Ids at or above this were never sampled (a padded embedding matrix); nil: every id.
    let vocabularyLimit: Int?
    /// The token banned at response indices below `bannedBefore` (EOS under min_new_tokens).
    let bannedToken: Int?
    /// Response indices below this could not draw `bannedToken` (min_new_tokens).
    let bannedBefore: Int

    /// Logits (N, V) → the logits of the sampled support, (N, V′), divided by the temperature.
    func scaled(_ logits: Tensor) -> Tensor {
        var logits = logits
        if let limit = vocabularyLimit, limit < logits.shape[1] { logits = logits.slice(axis: 1, 0..<limit) }
        // A greedy temperature counts as 1, as the sampler counts it.
        if temperature != 1 && temperature >= SamplingConfiguration.greedyBelow { logits = logits * (1 / temperature) }
        return logits
    }

    /// (N, V′) additive mask: −10⁹ at the banned token on the rows where it could not be drawn, 0
    /// elsewhere; nil when no row banned it.
    func bannedMask(_ grid: ResponseBatch, vocabulary V: Int) -> Tensor? {
        guard let bannedToken, bannedToken >= 0, bannedToken < V, bannedBefore > 0,
              grid.indices.contains(where: { Int($0) < bannedBefore }) else { return nil }
        var mask = [Float](repeating: 0, count: grid.responseCount * V)
        for (row, j) in grid.indices.enumerated() where Int(j) < bannedBefore { mask[row * V + bannedToken] = -1e9 }
        return Tensor(shape: [grid.responseCount, V], values: mask)
    }

    /// log p(response token) and, when asked, the entropy of p, each (N), from `logits` (N, V) that
    /// predict the response tokens of `grid` (``AutoregressiveModel/outputLogits(_:)``): over the sampled ids, at the temperature,
    /// without the banned token where it was banned (its logit pushed to −10⁹, so the rest is
    /// renormalized exactly as the sampler renormalized it). Differentiable (the entropy only
    /// when `entropyDifferentiable`).
    func evaluate(_ logits: Tensor, grid: ResponseBatch, entropyToo: Bool, entropyDifferentiable: Bool = false) -> (logProbabilities: Tensor, entropy: Tensor?) {
        var logits = scaled(logits)
        if let mask = bannedMask(grid, vocabulary: logits.shape[1]) { logits = logits + mask }
        let logProbabilities = tokenLogProbabilities(logits, tokens: IndexTensor(shape: [grid.responseCount], values: grid.targets))
        guard entropyToo else { return (logProbabilities, nil) }
        return (logProbabilities, entropyDifferentiable ? Tensors.entropy(logits) : withNoGrad { Tensors.entropy(logits) })
    }

    /// log p(response tokens) of a batch's pairs under `model` (one teacher-forced pass), (N),
    /// without gradients.
    func logProbabilities(_ model: any AutoregressiveModel, grid: ResponseBatch) -> Tensor {
        withNoGrad {
            evaluate(model.outputLogits(model.responseStates(grid)), grid: grid, entropyToo: false).logProbabilities
        }
    }
}
