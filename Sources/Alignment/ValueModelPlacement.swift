// Where PPO's value function lives (`value_model`).

/// A value head on the policy's own trunk, or a separate value model.
public enum ValueModelPlacement: String, SettingChoice {
    /// A value head on the policy trunk (TRL's `v_head.summary.*`), trained with the policy.
    case shared
    /// A separate copy of the initial model with its own value head (lm-human-preferences).
    case separate
}
