// When the reward job fits the reward model's gain and bias (`normalize`), as lm-human-preferences'
// `normalize_before` and `normalize_after`.

/// Never, before training, after it, or both.
public enum NormalizationTiming: String, SettingChoice {
    case none, before, after, both

    /// Whether to normalize before training.
    public var before: Bool { self == .before || self == .both }
    /// Whether to normalize after training.
    public var after: Bool { self == .after || self == .both }
}
