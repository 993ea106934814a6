// The learning-rate schedules a trainer's `schedule` field can name.

import NN

/// A learning-rate schedule by name: warmup, then the shape.
public enum ScheduleKind: String, SettingChoice {
    /// Linear warmup, then linear decay to `min_lr_ratio` of the peak (HF's default; lm-human-preferences).
    case linear
    /// Linear warmup, then half a cosine down to `min_lr_ratio` of the peak (nanoGPT).
    case cosine
    /// Linear warmup, then decay as 1/√step (the Transformer paper's).
    case noam
    /// The peak throughout.
    case constant

    /// The schedule over `totalSteps` updates.
    public func schedule(warmupSteps: Int, totalSteps: Int, minimumRatio: Float) -> LearningRateSchedule {
        switch self {
        case .cosine: return .cosine(warmupSteps: warmupSteps, totalSteps: totalSteps, minimumRatio: minimumRatio)
        case .linear: return .linear(warmupSteps: warmupSteps, totalSteps: totalSteps, minimumRatio: minimumRatio)
        case .noam: return .noam(warmupSteps: max(warmupSteps, 1))
        case .constant: return .constant
        }
    }
}
