// Named starting points for PPO's settings (`preset`), applied before the file and the overrides.

/// No preset, or a published run's settings.
public enum PPOPreset: String, SettingChoice {
    /// PPOConfiguration's own defaults.
    case none
    /// openai/lm-human-preferences' sentiment run (``PPOConfiguration/lmHumanPreferencesSentiment``).
    case lmHumanPreferencesSentiment = "lm_human_preferences_sentiment"

    /// The settings the preset starts from.
    public var configuration: PPOConfiguration {
        switch self {
        case .none: return PPOConfiguration()
        case .lmHumanPreferencesSentiment: return .lmHumanPreferencesSentiment
        }
    }
}
