// Supervised fine-tuning (TRL's SFTTrainer with completion-only loss): prompt/response sequences,
// loss on the response and its end-of-sequence token only, shuffled epochs, a held-out split
// whose response-token loss is logged before training and at each evaluation.

import Datasets
import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// SFT hyper-parameters. JSON/YAML names are snake_case.
public struct SFTConfiguration: Codable, Equatable, Sendable, TrainingLoopSettings {
    /// Longest sequence, prompt + response + end-of-sequence (≤ n_positions + 1, since the last
    /// token is only a target).
    public var maxLength = 512
    /// What to do when the response alone does not fit: error, truncate or skip.
    public var longResponses = LongResponsePolicy.error
    /// Sequences per micro-batch.
    public var batchSize = 8
    /// Micro-batches per optimizer step.
    public var gradientAccumulationSteps = 1
    /// Passes over the training examples (used when `max_steps` is not given).
    public var epochs = 1
    /// Optimizer steps to run; nil: `epochs` passes.
    public var maxSteps: Int?
    /// Peak learning rate.
    public var learningRate: Float = 5e-5
    /// "linear", "cosine", "noam" or "constant".
    public var schedule = "linear"
    /// Linear warmup steps.
    public var warmupSteps = 0
    /// Linear/cosine floor as a fraction of the peak.
    public var minimumLearningRateRatio: Float = 0
    /// AdamW decoupled weight decay (matrices only).
    public var weightDecay: Float = 0
    /// AdamW β₁.
    public var beta1: Float = 0.9
    /// AdamW β₂.
    public var beta2: Float = 0.999
    /// Global gradient-norm clip (0: none).
    public var gradientClip: Float = 1
    /// Fraction of the examples (a seeded shuffle) held out for validation.
    public var validFraction = 0.1
    /// Steps between evaluations (0: only at the start and the end).
    public var evalInterval = 100
    /// Steps between metric lines.
    public var logInterval = 10
    /// Steps between checkpoints (a checkpoint is also written at the end and at each new best).
    public var checkpointInterval = 500
    /// Stop after this many evaluations without a better valid loss (nil: never).
    public var earlyStoppingPatience: Int?
    /// Newest checkpoints kept (the best one is kept as well).
    public var keepCheckpoints = 2
    /// Seed of the split and of the epoch shuffles.
    public var seed: UInt64 = 42

    enum CodingKeys: String, CodingKey {
        case maxLength = "max_length", longResponses = "long_responses", batchSize = "batch_size"
        case gradientAccumulationSteps = "gradient_accumulation_steps", epochs, maxSteps = "max_steps"
        case learningRate = "learning_rate", schedule, warmupSteps = "warmup_steps", minimumLearningRateRatio = "min_lr_ratio"
        case weightDecay = "weight_decay", beta1, beta2, gradientClip = "grad_clip", validFraction = "valid_fraction"
        case evalInterval = "eval_interval", logInterval = "log_interval", checkpointInterval = "checkpoint_interval"
        case earlyStoppingPatience = "early_stopping_patience", keepCheckpoints = "keep_checkpoints", seed
    }

    /// Defaults as Hugging Face's Trainer where they apply (linear decay, no weight decay).
    public init() {}

    /// The schedule named by `schedule` over `totalSteps` updates.
    public func learningRateSchedule(totalSteps: Int) throws -> LearningRateSchedule {
        try LearningRateSchedule.named(schedule, warmupSteps: warmupSteps, totalSteps: totalSteps, minimumRatio: minimumLearningRateRatio)
    }
}

/// Fine-tunes a GPT-2 on prompt/response sequences in a run directory.
public final class SFTTrainer {
    /// The model being trained.
    public let model: GPT2LMHeadModel
    /// Hyper-parameters.
    public let configuration: SFTConfiguration
    /// Where checkpoints and metrics go.
    public let run: RunDirectory
    /// Saved with every checkpoint when given.
    public let tokenizer: (any Tokenizer)?
    /// The training and held-out sequences.
    public let train: [SFTSequence], valid: [SFTSequence]
    /// The id used to pad inputs (never a target).
    public let padding: Int32

    /// Splits `sequences` with a seeded shuffle into training and held-out parts.
    /// - Throws: ``RunError`` when a part is empty, a sequence is longer than the model's
    ///   positions allow, or a token is outside the vocabulary.
    public init(model: GPT2LMHeadModel, sequences: [SFTSequence], configuration: SFTConfiguration, run: RunDirectory,
                tokenizer: (any Tokenizer)? = nil, dataName: String = "data") throws {
        guard configuration.batchSize >= 1 else {
            throw RunError(path: "config", message: "field 'batch_size' is \(configuration.batchSize); it must be at least 1")
        }
        guard (0..<1).contains(configuration.validFraction) else {
            throw RunError(path: "config", message: "field 'valid_fraction' must be in [0, 1), got \(configuration.validFraction)")
        }
        let positions = model.configuration.positions
        if let long = sequences.first(where: { $0.tokens.count - 1 > positions }) {
            throw RunError(path: dataName, message: "a sequence has \(long.tokens.count) tokens, more than n_positions + 1 = \(positions + 1); lower max_length")
        }
        let V = model.configuration.vocabularySize
        if let bad = sequences.lazy.flatMap(\.tokens).first(where: { $0 < 0 || Int($0) >= V }) {
            throw RunError(path: dataName, message: "token id \(bad) is outside the model's vocabulary 0..<\(V)")
        }
        let (train, valid) = Datasets.Split.trainValidation(sequences, validationFraction: configuration.validFraction, seed: configuration.seed)
        guard !train.isEmpty else { throw RunError(path: dataName, message: "no training examples (\(sequences.count) in all, valid_fraction \(configuration.validFraction))") }
        if configuration.validFraction > 0 && valid.isEmpty {
            throw RunError(path: dataName, message: "\(sequences.count) examples are too few to hold out valid_fraction \(configuration.validFraction); lower it to 0 or add examples")
        }
        self.model = model
        self.configuration = configuration
        self.run = run
        self.tokenizer = tokenizer
        self.train = train
        self.valid = valid
        self.padding = Int32(model.configuration.eosTokenId ?? 0)
    }

    /// Optimizer steps in the run: `max_steps`, or `epochs` passes of `batch_size × accumulation` examples.
    public var totalSteps: Int {
        if let maxSteps = configuration.maxSteps { return maxSteps }
        let perStep = configuration.batchSize * max(configuration.gradientAccumulationSteps, 1)
        return max(configuration.epochs, 0) * ((train.count + perStep - 1) / perStep)
    }

    /// The micro-batches of the next step (seeded per-epoch shuffles, continuing across epochs).
    func nextStep(_ state: inout TrainerState) -> [LanguageModelBatch] {
        (0..<max(configuration.gradientAccumulationSteps, 1)).map { _ in
            let indices = nextIndices(count: configuration.batchSize, size: train.count, seed: configuration.seed &+ 0x5F7, state: &state)
            return SFTSequenceBuilder.batch(indices.map { train[$0] }, padding: padding)
        }
    }

    /// Mean cross-entropy per response token over the whole held-out part, in evaluation mode;
    /// nil without one.
    public func validLoss() -> Float? {
        guard !valid.isEmpty else { return nil }
        model.setTraining(false)
        defer { model.setTraining(true) }
        var total: Double = 0, count = 0
        for start in stride(from: 0, to: valid.count, by: configuration.batchSize) {
            let batch = SFTSequenceBuilder.batch(Array(valid[start..<min(start + configuration.batchSize, valid.count)]), padding: padding)
            let n = batch.targetCount
            guard n > 0 else { continue }
            total += Double(withNoGrad { crossEntropy(model(batch.inputs), targets: batch.targets, reduction: .sum) }.item)
            count += n
        }
        return count > 0 ? Float(total / Double(count)) : nil
    }

    /// Trains for ``totalSteps`` steps (or until early stopping), logging `valid/loss` at step 0
    /// first; with `resume`, continues exactly from the newest checkpoint. Returns the final state.
    @discardableResult
    public func train(resume: Bool = false, progress: ((TrainingProgress) throws -> Void)? = nil) throws -> TrainerState {
        let loop = TrainingLoop<SFTConfiguration, GPT2LMHeadModel, LanguageModelBatch>(model: model, settings: configuration, run: run, tokenizer: tokenizer, maxSteps: totalSteps)
        return try loop.train(resume: resume, evaluateAtStart: true, nextStep: nextStep, validLoss: validLoss, progress: progress)
    }
}
