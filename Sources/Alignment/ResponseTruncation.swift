// lm-human-preferences' response truncation, as PPO's sampler applies it to each response.

/// What truncation did to one sampled response.
public enum ResponseTruncation: Equatable, Sendable {
    /// No truncate token is configured: the response is as sampled.
    case off
    /// Cut just after the truncate token at this index (at or after `truncate_after`).
    case cut(at: Int)
    /// No truncate token at or after `truncate_after`: the response is kept and gets the penalty score.
    case noToken

    /// Whether the response is scored with `penalty_reward` instead of its reward.
    public var isPenalized: Bool { self == .noToken }
}
