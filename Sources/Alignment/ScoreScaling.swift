// How PPO scales the reward function's scores before using them (`scale_reward`).

/// Scores as given, or divided by their running standard deviation.
public enum ScoreScaling: String, SettingChoice {
    /// The scores as the reward function (after penalty and clipping) gives them.
    case none
    /// Divided by the standard deviation of every score so far (Welford; ``RunningMoments``), as trlX's `scale_reward: running`.
    case running
}
