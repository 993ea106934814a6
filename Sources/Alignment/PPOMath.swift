// The arithmetic of PPO for language models, as openai/lm-human-preferences does it: generalized
// advantage estimation, whitening, and the fixed and adaptive KL controllers.

import Foundation

/// Generalized advantage estimation (Schulman et al. 2016) over one response.
///
/// δ_t = r_t + γ·V_{t+1} − V_t (V after the last token is 0), A_t = δ_t + γλ·A_{t+1}, and the
/// value targets are R_t = A_t + V_t.
/// - Parameters:
///   - rewards: per-token rewards r_t.
///   - values: per-token value predictions V_t, same count.
/// - Returns: advantages and returns, one per token.
public func generalizedAdvantageEstimation(rewards: [Float], values: [Float], gamma: Float, lambda: Float) -> (advantages: [Float], returns: [Float]) {
    precondition(rewards.count == values.count, "GAE: \(rewards.count) rewards for \(values.count) values")
    var advantages = [Float](repeating: 0, count: rewards.count)
    var lastAdvantage: Float = 0
    for t in stride(from: rewards.count - 1, through: 0, by: -1) {
        let nextValue: Float = t + 1 < values.count ? values[t + 1] : 0
        let delta = rewards[t] + gamma * nextValue - values[t]
        lastAdvantage = delta + gamma * lambda * lastAdvantage
        advantages[t] = lastAdvantage
    }
    return (advantages, zip(advantages, values).map { $0 + $1 })
}

/// (x − mean) / √(var + 1e-8) with the biased variance; with `shiftMean` false the mean is added
/// back (lm-human-preferences' `whiten(rewards, shift_mean=False)`).
/// - Parameters:
///   - values: the numbers to whiten.
///   - shiftMean: whether the result has mean 0 (true) or keeps the original mean (false).
public func whiten(_ values: [Float], shiftMean: Bool = true) -> [Float] {
    guard !values.isEmpty else { return [] }
    let n = Double(values.count)
    let mean = values.reduce(0.0) { $0 + Double($1) } / n
    let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
    let scale = 1 / (variance + 1e-8).squareRoot()
    return values.map { Float((Double($0) - mean) * scale + (shiftMean ? 0 : mean)) }
}

/// How the KL coefficient β evolves.
public enum KLController: Codable, Equatable, Sendable {
    /// β stays at its initial value.
    case fixed
    /// Ziegler et al. 2019 (lm-human-preferences' AdaptiveKLController): after each iteration,
    /// e = clip(KL/target − 1, −0.2, 0.2) and β ← β·(1 + e·n/horizon), n the rollouts in the iteration.
    case adaptive(target: Double, horizon: Double)

    /// The new coefficient after an iteration.
    /// - Parameters:
    ///   - coefficient: β now.
    ///   - kl: the batch mean of per-sequence KL(π‖π_ref).
    ///   - steps: rollouts in the iteration (n).
    public func updated(_ coefficient: Double, kl: Double, steps: Int) -> Double {
        switch self {
        case .fixed:
            return coefficient
        case let .adaptive(target, horizon):
            let error = min(max(kl / target - 1, -0.2), 0.2)
            return coefficient * (1 + error * Double(steps) / horizon)
        }
    }
}
