// The settings every example-based trainer (SFT, reward model, DPO) shares: batching, steps,
// optimizer, schedule, evaluation, checkpoints and seed. Each trainer's configuration embeds one
// and flattens it into the same YAML mapping, so a job file stays one flat list of fields.

import Datasets
import Foundation
import Kernels
import NN

/// Batching, optimisation and run settings, with the YAML names of HF's TrainingArguments.
public struct TrainingSchedule: Codable, Equatable, Sendable, TrainingLoopSettings {
    /// Examples per micro-batch (sequences, pairs, texts, queries).
    public var batchSize = 8
    /// Micro-batches per optimizer step.
    public var gradientAccumulationSteps = 1
    /// Passes over the training examples (used when `max_steps` is not given).
    public var epochs = 1
    /// Optimizer steps to run; nil: `epochs` passes.
    public var maxSteps: Int?
    /// Peak learning rate.
    public var learningRate: Float
    /// "linear", "cosine", "noam" or "constant".
    public var schedule = "linear"
    /// Linear warmup steps.
    public var warmupSteps = 0
    /// Linear/cosine floor as a fraction of the peak.
    public var minimumLearningRateRatio: Float = 0
    /// AdamW decoupled weight decay (matrices only), β₁, β₂.
    public var weightDecay: Float = 0
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    /// Adam's ε and where it goes: "pytorch" (torch.optim.AdamW, ε 1e-8 by default) or
    /// "tensorflow" (tf.train.AdamOptimizer as openai/lm-human-preferences uses it, with ε 1e-5).
    public var adamEpsilon: Float = 1e-8
    public var epsilonPlacement = AdamEpsilonPlacement.pytorch
    /// Global gradient-norm clip (0: none).
    public var gradientClip: Float = 1
    /// Fraction of the examples (a seeded shuffle) held out.
    public var validFraction: Double
    /// Steps between evaluations (0: only at the start and the end), metric lines, checkpoints.
    public var evalInterval = 100
    public var logInterval = 10
    public var checkpointInterval = 500
    /// Stop after this many evaluations without a better valid loss (nil: never).
    public var earlyStoppingPatience: Int?
    /// Newest checkpoints kept (the best one is kept as well).
    public var keepCheckpoints = 2
    /// Seed of the split, the epoch shuffles and any new weights.
    public var seed: UInt64 = 42

    enum CodingKeys: String, CodingKey {
        case batchSize = "batch_size", gradientAccumulationSteps = "gradient_accumulation_steps", epochs, maxSteps = "max_steps"
        case learningRate = "learning_rate", schedule, warmupSteps = "warmup_steps", minimumLearningRateRatio = "min_lr_ratio"
        case weightDecay = "weight_decay", beta1, beta2, adamEpsilon = "adam_eps", epsilonPlacement = "eps_placement"
        case gradientClip = "grad_clip", validFraction = "valid_fraction"
        case evalInterval = "eval_interval", logInterval = "log_interval", checkpointInterval = "checkpoint_interval"
        case earlyStoppingPatience = "early_stopping_patience", keepCheckpoints = "keep_checkpoints", seed
    }

    /// HF Trainer-like defaults (linear decay, no weight decay) with the trainer's own learning
    /// rate and held-out fraction.
    public init(learningRate: Float, validFraction: Double) {
        self.learningRate = learningRate
        self.validFraction = validFraction
    }

    /// The schedule named by `schedule` over `totalSteps` updates.
    public func learningRateSchedule(totalSteps: Int) throws -> LearningRateSchedule {
        try LearningRateSchedule.named(schedule, warmupSteps: warmupSteps, totalSteps: totalSteps, minimumRatio: minimumLearningRateRatio)
    }

    /// Optimizer steps for `examples` training examples: `max_steps`, or `epochs` passes of
    /// `batch_size × gradient_accumulation_steps` examples.
    public func totalSteps(examples: Int) -> Int {
        if let maxSteps { return maxSteps }
        let perStep = batchSize * max(gradientAccumulationSteps, 1)
        return max(epochs, 0) * ((examples + perStep - 1) / perStep)
    }

    /// The example indices of the next step's micro-batches, from per-epoch seeded shuffles of
    /// `examples` (``nextIndices(count:size:seed:state:)``); `salt` keeps trainers' orders apart.
    func nextMicroBatches(examples: Int, salt: UInt64, state: inout TrainerState) -> [[Int]] {
        (0..<max(gradientAccumulationSteps, 1)).map { _ in
            nextIndices(count: batchSize, size: examples, seed: seed &+ salt, state: &state)
        }
    }

    /// Checks the batch size and the held-out fraction, then splits `examples` with a shuffle
    /// seeded by `seed` into training and held-out parts.
    /// - Throws: ``RunError`` naming the field, or naming `dataName` when a part comes out empty.
    func split<Example>(_ examples: [Example], dataName: String) throws -> (train: [Example], valid: [Example]) {
        guard batchSize >= 1 else { throw RunError(path: "config", message: "field 'batch_size' is \(batchSize); it must be at least 1") }
        guard adamEpsilon > 0, adamEpsilon.isFinite else { throw RunError(path: "config", message: "field 'adam_eps' is \(adamEpsilon); it must be positive") }
        guard (0..<1).contains(validFraction) else {
            throw RunError(path: "config", message: "field 'valid_fraction' must be in [0, 1), got \(validFraction)")
        }
        let (train, valid) = Datasets.Split.trainValidation(examples, validationFraction: validFraction, seed: seed)
        guard !train.isEmpty else {
            throw RunError(path: dataName, message: "no training examples (\(examples.count) in all, valid_fraction \(validFraction))")
        }
        if validFraction > 0 && valid.isEmpty {
            throw RunError(path: dataName, message: "\(examples.count) examples are too few to hold out valid_fraction \(validFraction); lower it to 0 or add examples")
        }
        return (train, valid)
    }
}

/// A trainer configuration that embeds a ``TrainingSchedule``: its fields read and write
/// through (`configuration.batchSize`), and it is coded flat, beside the trainer's own fields.
public protocol ScheduledConfiguration {
    /// The shared settings.
    var training: TrainingSchedule { get set }
}

extension ScheduledConfiguration {
    /// A shared setting, by name (`configuration.learningRate`).
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<TrainingSchedule, Value>) -> Value {
        get { training[keyPath: keyPath] }
        set { training[keyPath: keyPath] = newValue }
    }
}
