// The settings every example-based trainer (SFT, reward model, DPO) shares: batching, steps,
// optimizer, schedule, evaluation, checkpoints and seed. Each trainer's configuration embeds one
// and flattens it into the same YAML mapping, so a job file stays one flat list of fields.

import Datasets
import Foundation
import Kernels
import NN

/// Batching, optimisation and run settings, with the YAML names of HF's TrainingArguments.
@dynamicMemberLookup
public struct TrainingSchedule: Equatable, Sendable, TrainingLoopSettings, FieldListSettings {
    /// Examples per micro-batch (sequences, pairs, texts, queries).
    public var batchSize = 8
    /// Micro-batches per optimizer step.
    public var gradientAccumulationSteps = 1
    /// Passes over the training examples (used when `max_steps` is not given).
    public var epochs = 1
    /// Optimizer steps to run; nil: `epochs` passes.
    public var maxSteps: Int?
    /// The optimizer and its learning-rate schedule (fields read through: `schedule.learningRate`).
    public var optimizer: OptimizerSettings
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

    /// HF Trainer-like defaults (linear decay, no weight decay) with the trainer's own learning
    /// rate and held-out fraction.
    public init(learningRate: Float, validFraction: Double) {
        self.optimizer = OptimizerSettings(learningRate: learningRate)
        self.validFraction = validFraction
    }

    /// HF Trainer's defaults (decoding starts from them).
    public init() { self.init(learningRate: 5e-5, validFraction: 0.1) }

    public static var fields: [SettingField<TrainingSchedule>] { [
        .field("batch_size", \.batchSize, "Examples per micro-batch (sequences, pairs, texts)."),
        .field("gradient_accumulation_steps", \.gradientAccumulationSteps, "Micro-batches per optimizer step."),
        .field("epochs", \.epochs, "Passes over the training examples (when max_steps is null)."),
        .optional("max_steps", \.maxSteps, "Optimizer steps to run; null: epochs passes.", type: "integer"),
        .embedded(\.optimizer),
        .field("valid_fraction", \.validFraction, "Fraction of the examples (a seeded shuffle) held out for valid/loss."),
        .field("eval_interval", \.evalInterval, "Steps between evaluations (0: only at the start and the end)."),
        .field("log_interval", \.logInterval, "Steps between metric lines."),
        .field("checkpoint_interval", \.checkpointInterval, "Steps between checkpoints (also at the end and at each new best)."),
        .optional("early_stopping_patience", \.earlyStoppingPatience, "Stop after this many evaluations without a better valid loss; null: never.", type: "integer"),
        .field("keep_checkpoints", \.keepCheckpoints, "Newest checkpoints kept (the best one is kept as well)."),
        .field("seed", \.seed, "Seed of the split, the epoch shuffles and any new weights."),
    ] }

    /// An optimizer setting, by name (`schedule.learningRate`).
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<OptimizerSettings, Value>) -> Value {
        get { optimizer[keyPath: keyPath] }
        set { optimizer[keyPath: keyPath] = newValue }
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
        guard batchSize >= 1 else { throw RunError.invalidSetting(field: "batch_size", source: "config", problem: "is \(batchSize); it must be at least 1") }
        try optimizer.validate()
        guard (0..<1).contains(validFraction) else {
            throw RunError.invalidSetting(field: "valid_fraction", source: "config", problem: "must be in [0, 1), got \(validFraction)")
        }
        let (train, valid) = Datasets.Split.trainValidation(examples, validationFraction: validFraction, seed: seed)
        guard !train.isEmpty else {
            throw RunError.emptyData(path: dataName, problem: "no training examples (\(examples.count) in all, valid_fraction \(validFraction))")
        }
        if validFraction > 0 && valid.isEmpty {
            throw RunError.invalidData(path: dataName, problem: "\(examples.count) examples are too few to hold out valid_fraction \(validFraction); lower it to 0 or add examples")
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
