// PPO's training statistics, as openai/lm-human-preferences' `PPOTrainer.loss` defines them per
// minibatch and `record_step_stats` averages and names them (`ppo/...`).

import Tensors

/// One minibatch's PPO statistics (or their mean over an iteration's minibatches).
public struct PPOStatistics: Equatable, Sendable {
    /// mean max(−A·ratio, −A·clip(ratio)) (`ppo/loss/policy`), ½·mean max of the squared value
    /// errors (`ppo/loss/value`), and policy + vf_coef·value (− ent_coef·entropy) (`ppo/loss/total`).
    public var policyLoss = 0.0, valueLoss = 0.0, totalLoss = 0.0
    /// Mean per-token entropy of the sampled distribution (`ppo/policy/entropy`).
    public var entropy = 0.0
    /// ½·mean (log π − log π_old)² (`ppo/policy/approxkl`) and the clipped share (`ppo/policy/clipfrac`).
    public var approxKL = 0.0, clipFraction = 0.0
    /// Mean and biased variance of the value targets R = A + V_old (`ppo/returns/mean`, `ppo/returns/var`).
    public var returnsMean = 0.0, returnsVariance = 0.0
    /// Mean current prediction (`ppo/val/vpred`), mean (v − R)² with the current prediction
    /// (`ppo/val/error`), and the clipped share (`ppo/val/clipfrac`).
    public var valuePrediction = 0.0, valueError = 0.0, valueClipFraction = 0.0
    /// Mean and biased variance of the rollout's values V_old (`ppo/val/mean`, `ppo/val/var`).
    public var valuesMean = 0.0, valuesVariance = 0.0

    /// Zeros.
    public init() {}

    /// The field-by-field mean of `list` (lm-human-preferences averages each statistic over the
    /// iteration's minibatches); zeros for an empty list.
    public static func mean(_ list: [PPOStatistics]) -> PPOStatistics {
        guard !list.isEmpty else { return PPOStatistics() }
        var sum = PPOStatistics()
        for s in list {
            sum.policyLoss += s.policyLoss; sum.valueLoss += s.valueLoss; sum.totalLoss += s.totalLoss
            sum.entropy += s.entropy; sum.approxKL += s.approxKL; sum.clipFraction += s.clipFraction
            sum.returnsMean += s.returnsMean; sum.returnsVariance += s.returnsVariance
            sum.valuePrediction += s.valuePrediction; sum.valueError += s.valueError; sum.valueClipFraction += s.valueClipFraction
            sum.valuesMean += s.valuesMean; sum.valuesVariance += s.valuesVariance
        }
        let n = Double(list.count)
        return PPOStatistics(policyLoss: sum.policyLoss / n, valueLoss: sum.valueLoss / n, totalLoss: sum.totalLoss / n,
                             entropy: sum.entropy / n, approxKL: sum.approxKL / n, clipFraction: sum.clipFraction / n,
                             returnsMean: sum.returnsMean / n, returnsVariance: sum.returnsVariance / n,
                             valuePrediction: sum.valuePrediction / n, valueError: sum.valueError / n,
                             valueClipFraction: sum.valueClipFraction / n, valuesMean: sum.valuesMean / n,
                             valuesVariance: sum.valuesVariance / n)
    }

    init(policyLoss: Double, valueLoss: Double, totalLoss: Double, entropy: Double, approxKL: Double, clipFraction: Double,
         returnsMean: Double, returnsVariance: Double, valuePrediction: Double, valueError: Double, valueClipFraction: Double,
         valuesMean: Double, valuesVariance: Double) {
        (self.policyLoss, self.valueLoss, self.totalLoss) = (policyLoss, valueLoss, totalLoss)
        (self.entropy, self.approxKL, self.clipFraction) = (entropy, approxKL, clipFraction)
        (self.returnsMean, self.returnsVariance) = (returnsMean, returnsVariance)
        (self.valuePrediction, self.valueError, self.valueClipFraction) = (valuePrediction, valueError, valueClipFraction)
        (self.valuesMean, self.valuesVariance) = (valuesMean, valuesVariance)
    }

    /// Adds a pass's losses and diagnostics, weighted by its share of the minibatch's tokens.
    mutating func accumulate(_ loss: PPOMinibatchLoss, weight: Double) {
        policyLoss += Double(loss.policy.policyLoss.item) * weight
        valueLoss += Double(loss.value.valueLoss.item) * weight
        totalLoss += Double(loss.total.item) * weight
        entropy += Double(loss.entropy.item) * weight
        approxKL += Double(loss.policy.approxKL) * weight
        clipFraction += Double(loss.policy.clipFraction) * weight
        valuePrediction += Double(loss.value.meanPrediction) * weight
        valueError += Double(loss.value.error) * weight
        valueClipFraction += Double(loss.value.clipFraction) * weight
    }

    /// Records the moments of the minibatch's value targets and of the rollout's values.
    mutating func recordTargets(returns: [Float], oldValues: [Float]) {
        returnsMean = Alignment.mean(returns)
        returnsVariance = variance(returns)
        valuesMean = Alignment.mean(oldValues)
        valuesVariance = variance(oldValues)
    }

    /// 1 − `ppo/val/error` / `ppo/returns/var` (lm-human-preferences computes it from the averaged
    /// statistics: the share of the returns' variance the current value predictions explain).
    public var varianceExplained: Double { 1 - valueError / max(returnsVariance, 1e-12) }

    /// The statistics under lm-human-preferences' metric names, `ppo/val/var_explained` included.
    public var metrics: [String: Double] {
        ["ppo/loss/policy": policyLoss, "ppo/loss/value": valueLoss, "ppo/loss/total": totalLoss,
         "ppo/policy/entropy": entropy, "ppo/policy/approxkl": approxKL, "ppo/policy/clipfrac": clipFraction,
         "ppo/returns/mean": returnsMean, "ppo/returns/var": returnsVariance,
         "ppo/val/vpred": valuePrediction, "ppo/val/error": valueError, "ppo/val/clipfrac": valueClipFraction,
         "ppo/val/mean": valuesMean, "ppo/val/var": valuesVariance, "ppo/val/var_explained": varianceExplained]
    }
}
