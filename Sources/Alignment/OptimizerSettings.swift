// The optimizer and learning-rate settings every trainer shares (pretraining, SFT, reward, DPO,
// classifier, PPO), declared once with HF TrainingArguments' and lm-human-preferences' YAML
// names and flattened into each job's mapping.

import Kernels
import NN

/// AdamW and its learning-rate schedule.
public struct OptimizerSettings: Equatable, Sendable, FieldListSettings {
    /// Peak learning rate.
    public var learningRate: Float
    /// The schedule's shape after warmup.
    public var schedule: ScheduleKind
    /// Linear warmup steps (optimizer steps; PPO: iterations).
    public var warmupSteps: Int
    /// Linear/cosine floor as a fraction of the peak.
    public var minimumLearningRateRatio: Float
    /// AdamW decoupled weight decay (matrices only).
    public var weightDecay: Float
    /// Adam's β₁ and β₂.
    public var beta1: Float, beta2: Float
    /// Adam's ε and where it goes: PyTorch's (torch.optim.AdamW) or TensorFlow's
    /// (tf.train.AdamOptimizer, as lm-human-preferences uses it).
    public var adamEpsilon: Float
    public var epsilonPlacement: AdamEpsilonPlacement
    /// Global gradient-norm clip per optimizer step (0: none).
    public var gradientClip: Float

    /// A trainer's defaults; those not given are HF Trainer's (linear, no warmup or weight decay,
    /// β 0.9/0.999, ε 1e-8 PyTorch-style, clip 1).
    public init(learningRate: Float, schedule: ScheduleKind = .linear, warmupSteps: Int = 0, minimumLearningRateRatio: Float = 0,
                weightDecay: Float = 0, beta1: Float = 0.9, beta2: Float = 0.999, adamEpsilon: Float = 1e-8,
                epsilonPlacement: AdamEpsilonPlacement = .pytorch, gradientClip: Float = 1) {
        self.learningRate = learningRate
        self.schedule = schedule
        self.warmupSteps = warmupSteps
        self.minimumLearningRateRatio = minimumLearningRateRatio
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.adamEpsilon = adamEpsilon
        self.epsilonPlacement = epsilonPlacement
        self.gradientClip = gradientClip
    }

    /// HF Trainer's defaults with a learning rate of 1e-3 (decoding starts from them).
    public init() { self.init(learningRate: 1e-3) }

    public static var fields: [SettingField<OptimizerSettings>] { [
        .field("learning_rate", \.learningRate, "Peak learning rate."),
        .choice("schedule", \.schedule, "Learning-rate shape after warmup (linear and cosine decay to min_lr_ratio of the peak)."),
        .field("warmup_steps", \.warmupSteps, "Linear warmup, in optimizer steps (PPO: iterations)."),
        .field("min_lr_ratio", \.minimumLearningRateRatio, "Floor of the linear/cosine decay, as a fraction of the peak."),
        .field("weight_decay", \.weightDecay, "AdamW decoupled weight decay (matrices only)."),
        .field("beta1", \.beta1, "Adam β₁."),
        .field("beta2", \.beta2, "Adam β₂."),
        .field("adam_eps", \.adamEpsilon, "Adam ε."),
        .choice("eps_placement", \.epsilonPlacement, "Where ε goes: PyTorch's AdamW or TensorFlow's AdamOptimizer (lm-human-preferences)."),
        .field("grad_clip", \.gradientClip, "Global gradient-norm clip per optimizer step (0: none)."),
    ] }

    /// The AdamW configuration these settings describe.
    public var adamW: AdamWConfiguration {
        AdamWConfiguration(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: adamEpsilon, weightDecay: weightDecay,
                           epsilonPlacement: epsilonPlacement)
    }

    /// The learning-rate schedule over `totalSteps` updates.
    public func learningRateSchedule(totalSteps: Int) -> LearningRateSchedule {
        schedule.schedule(warmupSteps: warmupSteps, totalSteps: totalSteps, minimumRatio: minimumLearningRateRatio)
    }

    /// Checks the ranges; the error names the field.
    /// - Throws: ``RunError/invalidSetting(field:source:problem:)`` (source "config").
    public func validate() throws {
        func fail(_ field: String, _ problem: String) throws -> Never { throw RunError.invalidSetting(field: field, source: "config", problem: problem) }
        if !(learningRate >= 0) || !learningRate.isFinite { try fail("learning_rate", "is \(learningRate); it must be ≥ 0") }
        if warmupSteps < 0 { try fail("warmup_steps", "is \(warmupSteps); it must be ≥ 0") }
        if !(0...1).contains(minimumLearningRateRatio) { try fail("min_lr_ratio", "is \(minimumLearningRateRatio); it must be in [0, 1]") }
        if !(adamEpsilon > 0) || !adamEpsilon.isFinite { try fail("adam_eps", "is \(adamEpsilon); it must be positive") }
        if !(0..<1).contains(beta1) { try fail("beta1", "is \(beta1); it must be in [0, 1)") }
        if !(0..<1).contains(beta2) { try fail("beta2", "is \(beta2); it must be in [0, 1)") }
        if !(gradientClip >= 0) { try fail("grad_clip", "is \(gradientClip); it must be ≥ 0 (0: no clipping)") }
    }

}

extension AdamEpsilonPlacement: SettingChoice {}
