// PPO's clipped surrogate and clipped value losses (Schulman et al. 2017; as
// openai/lm-human-preferences' `train_minibatch` writes them), over masked response tokens.

import Kernels
import Tensors

/// The clipped policy loss and its diagnostics.
public struct PolicyLossResult {
    /// mean over tokens of max(−A·ratio, −A·clip(ratio, 1 − ε, 1 + ε)).
    public var policyLoss: Tensor
    /// Fraction of tokens where the clipped term was the larger one.
    public var clipFraction: Float
    /// ½·mean((log π − log π_old)²).
    public var approxKL: Float
}

/// PPO's clipped surrogate objective, as a loss.
/// - Parameters:
///   - logProbabilities: log π(token) under the current policy, any shape (differentiable).
///   - oldLogProbabilities: log π_old(token) from the rollout, same shape.
///   - advantages: same shape.
///   - mask: 1 on response tokens, 0 elsewhere, same shape.
///   - clipRange: ε.
public func ppoPolicyLoss(logProbabilities: Tensor, oldLogProbabilities: Tensor, advantages: Tensor, mask: Tensor,
                          clipRange: Float) -> PolicyLossResult {
    require(logProbabilities.shape == oldLogProbabilities.shape && logProbabilities.shape == advantages.shape
            && logProbabilities.shape == mask.shape, "ppoPolicyLoss: shapes differ")
    let logRatio = logProbabilities - oldLogProbabilities.detached()
    let ratio = logRatio.exp()
    let A = advantages.detached()
    let unclipped = -A * ratio
    let clipped = -A * ratio.clamped(min: 1 - clipRange, max: 1 + clipRange)
    let policyLoss = maskedMean(maximum(unclipped, clipped), mask: mask)
    let (u, c, l, m) = (unclipped.scalars, clipped.scalars, logRatio.scalars, mask.scalars)
    var clipCount = 0.0, total = 0.0, squared = 0.0
    for i in m.indices where m[i] != 0 {
        total += 1
        if c[i] > u[i] { clipCount += 1 }
        squared += Double(l[i]) * Double(l[i])
    }
    let n = max(total, 1)
    return PolicyLossResult(policyLoss: policyLoss, clipFraction: Float(clipCount / n), approxKL: Float(0.5 * squared / n))
}

/// The clipped value loss and its diagnostics.
public struct ValueLossResult {
    /// ½·mean(max((v − R)², (clip(v, v_old − c, v_old + c) − R)²)).
    public var valueLoss: Tensor
    /// Fraction of tokens where the clipped error was the larger one.
    public var clipFraction: Float
    /// mean (v − R)².
    public var error: Float
    /// mean v.
    public var meanPrediction: Float
}

/// PPO's clipped value loss.
/// - Parameters:
///   - values: current predictions (differentiable), any shape.
///   - oldValues: the rollout's predictions, same shape.
///   - returns: targets R = advantages + old values, same shape.
///   - mask: 1 on response tokens, same shape.
///   - clipRange: c (cliprange_value).
public func ppoValueLoss(values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor, clipRange: Float) -> ValueLossResult {
    require(values.shape == oldValues.shape && values.shape == returns.shape && values.shape == mask.shape, "ppoValueLoss: shapes differ")
    let old = oldValues.detached(), R = returns.detached()
    // clip(v, old − c, old + c) = old + clamp(v − old, −c, c).
    let clippedValues = old + (values - old).clamped(min: -clipRange, max: clipRange)
    let unclippedLoss = (values - R).squared()
    let clippedLoss = (clippedValues - R).squared()
    let valueLoss = 0.5 * maskedMean(maximum(unclippedLoss, clippedLoss), mask: mask)
    let (u, c, v, m) = (unclippedLoss.scalars, clippedLoss.scalars, values.scalars, mask.scalars)
    var clipCount = 0.0, total = 0.0, error = 0.0, prediction = 0.0
    for i in m.indices where m[i] != 0 {
        total += 1
        if c[i] > u[i] { clipCount += 1 }
        error += Double(u[i])
        prediction += Double(v[i])
    }
    let n = max(total, 1)
    return ValueLossResult(valueLoss: valueLoss, clipFraction: Float(clipCount / n), error: Float(error / n),
                           meanPrediction: Float(prediction / n))
}
