// What one PPO update (all epochs of minibatches over an iteration's rollouts) did.

/// What one PPO update did: each epoch's row order, each minibatch's statistics in order (epoch by
/// epoch), and their mean under lm-human-preferences' names.
public struct PPOUpdate: Sendable {
    /// Each epoch's permutation of the rollouts.
    public let orders: [[Int]]
    /// Each minibatch's statistics, taken before its optimizer step.
    public let minibatches: [PPOStatistics]
    /// The field-by-field mean over the minibatches.
    public var statistics: PPOStatistics { .mean(minibatches) }
    /// `statistics` under lm-human-preferences' `ppo/*` names.
    public var metrics: [String: Double] { statistics.metrics }
}
