// The reward job's `objective` field: a reward objective, or "auto" to tell it from the data.

/// A ``RewardObjective`` by name, or `auto`.
public enum RewardObjectiveChoice: String, SettingChoice {
    /// From the first record's keys.
    case auto
    /// Preference pairs.
    case pairwise
    /// Labelled texts.
    case labelled
    /// Best-of-N labels.
    case bestOfN = "best_of_n"

    /// The objective named; nil for `auto`.
    public var objective: RewardObjective? {
        switch self {
        case .auto: return nil
        case .pairwise: return .pairwise
        case .labelled: return .labelled
        case .bestOfN: return .bestOfN
        }
    }
}
