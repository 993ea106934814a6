// Reward-model training: pairwise preferences (Bradley–Terry), labelled texts (binary logistic
// or K-class softmax with a label → reward map), and best-of-N labels (lm-human-preferences'
// best_of_4), on the shared training loop, with TRL's metric names.

import Datasets
import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// Reward-model hyper-parameters. JSON/YAML names are snake_case.
public struct RewardConfiguration: Codable, Equatable, Sendable, TrainingLoopSettings {
    /// Longest input in tokens (prompt + response); longer inputs keep their end.
    public var maxLength = 512
    /// Pairwise only: the margin m in −log σ(r_chosen − r_rejected − m).
    public var margin: Float = 0
    /// Labelled only: the reward of each label (e.g. {happy: 1, sad: -1}); nil: labels sorted,
    /// the last one 1 and the others 0 (binary: the second label is positive).
    public var labelRewards: [String: Float]?
    /// Examples per micro-batch (pairs, texts, or queries with their N samples).
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
    /// AdamW β₁, β₂.
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    /// Global gradient-norm clip (0: none).
    public var gradientClip: Float = 1
    /// Fraction of the examples (a seeded shuffle) held out.
    public var validFraction = 0.2
    /// Steps between evaluations (0: only at the start and the end).
    public var evalInterval = 100
    /// Steps between metric lines.
    public var logInterval = 10
    /// Steps between checkpoints.
    public var checkpointInterval = 500
    /// Stop after this many evaluations without a better valid loss (nil: never).
    public var earlyStoppingPatience: Int?
    /// Newest checkpoints kept (the best one is kept as well).
    public var keepCheckpoints = 2
    /// Seed of the split, the epoch shuffles and the head's initialisation.
    public var seed: UInt64 = 42
    /// Reward normalization (lm-human-preferences): "none", "before", "after" or "both".
    public var normalize = "none"
    /// Policy samples the normalization is fitted on.
    public var normalizationSamples = 256
    /// Tokens per sampled response.
    public var normalizationResponseLength = 32
    /// Labelled data without prompts: the first this many tokens of each text serve as prompts.
    public var normalizationPromptLength = 8

    enum CodingKeys: String, CodingKey {
        case maxLength = "max_length", margin, labelRewards = "label_rewards", batchSize = "batch_size"
        case gradientAccumulationSteps = "gradient_accumulation_steps", epochs, maxSteps = "max_steps"
        case learningRate = "learning_rate", schedule, warmupSteps = "warmup_steps", minimumLearningRateRatio = "min_lr_ratio"
        case weightDecay = "weight_decay", beta1, beta2, gradientClip = "grad_clip", validFraction = "valid_fraction"
        case evalInterval = "eval_interval", logInterval = "log_interval", checkpointInterval = "checkpoint_interval"
        case earlyStoppingPatience = "early_stopping_patience", keepCheckpoints = "keep_checkpoints", seed
        case normalize, normalizationSamples = "normalization_samples"
        case normalizationResponseLength = "normalization_response_length", normalizationPromptLength = "normalization_prompt_length"
    }

    /// Defaults as Hugging Face's Trainer where they apply; lm-human-preferences' learning rate.
    public init() {}

    /// The schedule named by `schedule` over `totalSteps` updates.
    public func learningRateSchedule(totalSteps: Int) throws -> LearningRateSchedule {
        try LearningRateSchedule.named(schedule, warmupSteps: warmupSteps, totalSteps: totalSteps, minimumRatio: minimumLearningRateRatio)
    }

    /// Whether to normalize before / after training; an unknown value is an error naming the field.
    public func normalizationTimes() throws -> (before: Bool, after: Bool) {
        switch normalize {
        case "none": return (false, false)
        case "before": return (true, false)
        case "after": return (false, true)
        case "both": return (true, true)
        default: throw RunError(path: "config", message: "field 'normalize' is '\(normalize)'; expected none, before, after or both")
        }
    }
}

/// One reward-model training example, tokenized.
public enum RewardExample: Sendable, Equatable {
    /// A preference: chosen and rejected texts (prompt included).
    case pair(chosen: [Int32], rejected: [Int32])
    /// A text and its label's index (binary: 1 is the positive label).
    case labelled(tokens: [Int32], label: Int)
    /// N samples of one query and the index of the best.
    case bestOf(samples: [[Int32]], best: Int)
}

/// The three objectives.
public enum RewardObjective: String, Codable, Sendable {
    /// Bradley–Terry on preference pairs.
    case pairwise
    /// Labelled texts: binary logistic (2 labels) or K-class softmax.
    case labelled
    /// Softmax over N samples, the best one the target.
    case bestOfN = "best_of_n"
}

/// Trains a reward model in a run directory.
public final class RewardTrainer {
    /// The model being trained (classifier, tokenizer, head).
    public let model: RewardModel
    /// Hyper-parameters.
    public let configuration: RewardConfiguration
    /// What is optimised.
    public let objective: RewardObjective
    /// Where checkpoints and metrics go.
    public let run: RunDirectory
    /// The training and held-out examples.
    public let train: [RewardExample], valid: [RewardExample]

    /// Splits `examples` (all of `objective`'s kind) with a seeded shuffle.
    /// - Throws: ``RunError`` for an empty part or an example of another kind.
    public init(model: RewardModel, examples: [RewardExample], objective: RewardObjective,
                configuration: RewardConfiguration, run: RunDirectory, dataName: String = "data") throws {
        guard configuration.batchSize >= 1 else {
            throw RunError(path: "config", message: "field 'batch_size' is \(configuration.batchSize); it must be at least 1")
        }
        guard (0..<1).contains(configuration.validFraction) else {
            throw RunError(path: "config", message: "field 'valid_fraction' must be in [0, 1), got \(configuration.validFraction)")
        }
        for example in examples {
            let matches: Bool
            switch (example, objective) {
            case (.pair, .pairwise), (.labelled, .labelled), (.bestOf, .bestOfN): matches = true
            default: matches = false
            }
            guard matches else { throw RunError(path: dataName, message: "an example does not fit the \(objective.rawValue) objective") }
        }
        let modelConfiguration = model.classifier.transformer.configuration
        for example in examples {
            let sequences: [[Int32]]
            switch example {
            case let .pair(c, r): sequences = [c, r]
            case let .labelled(t, _): sequences = [t]
            case let .bestOf(s, _): sequences = s
            }
            for sequence in sequences {
                guard !sequence.isEmpty, sequence.count <= modelConfiguration.positions else {
                    throw RunError(path: dataName, message: "a text has \(sequence.count) tokens; it must have 1...\(modelConfiguration.positions) (n_positions); lower max_length")
                }
                if let bad = sequence.first(where: { $0 < 0 || Int($0) >= modelConfiguration.vocabularySize }) {
                    throw RunError(path: dataName, message: "token id \(bad) is outside the model's vocabulary 0..<\(modelConfiguration.vocabularySize) (does the tokenizer belong to this model?)")
                }
            }
            if case let .labelled(_, label) = example, label >= max(model.classifier.score.weight.shape[0], 2) {
                throw RunError(path: dataName, message: "label index \(label) does not fit the head's \(model.classifier.score.weight.shape[0]) outputs")
            }
        }
        let (train, valid) = Datasets.Split.trainValidation(examples, validationFraction: configuration.validFraction, seed: configuration.seed)
        guard !train.isEmpty else { throw RunError(path: dataName, message: "no training examples (\(examples.count) in all, valid_fraction \(configuration.validFraction))") }
        if configuration.validFraction > 0 && valid.isEmpty {
            throw RunError(path: dataName, message: "\(examples.count) examples are too few to hold out valid_fraction \(configuration.validFraction); lower it to 0 or add examples")
        }
        self.model = model
        self.configuration = configuration
        self.objective = objective
        self.run = run
        self.train = train
        self.valid = valid
    }

    /// Optimizer steps in the run: `max_steps`, or `epochs` passes.
    public var totalSteps: Int {
        if let maxSteps = configuration.maxSteps { return maxSteps }
        let perStep = configuration.batchSize * max(configuration.gradientAccumulationSteps, 1)
        return max(configuration.epochs, 0) * ((train.count + perStep - 1) / perStep)
    }

    /// Rewards with the current gain and bias, (N), differentiable.
    func rewards(_ sequences: [[Int32]]) -> Tensor {
        model.rawRewards(sequences) * model.head.gain + model.head.bias
    }

    /// A batch's mean loss and its metrics (means over the batch), named as TRL's RewardTrainer
    /// and DPO logs them (`rewards/chosen`, `rewards/rejected`, `rewards/margins`, `rewards/accuracies`).
    public func loss(_ batch: [RewardExample]) -> (loss: Tensor, metrics: [String: Double]) {
        switch objective {
        case .pairwise:
            var chosen: [[Int32]] = [], rejected: [[Int32]] = []
            for case let .pair(c, r) in batch { chosen.append(c); rejected.append(r) }
            let all = rewards(chosen + rejected)
            let B = chosen.count
            let chosenRewards = all.slice(axis: 0, 0..<B), rejectedRewards = all.slice(axis: 0, B..<(2 * B))
            let margin = configuration.margin != 0 ? [Float](repeating: configuration.margin, count: B) : nil
            let loss = pairwiseRewardLoss(chosen: chosenRewards, rejected: rejectedRewards, margin: margin)
            let (c, r) = (chosenRewards.scalars, rejectedRewards.scalars)
            let accuracy = Double(zip(c, r).filter { $0 > $1 }.count) / Double(B)
            let meanChosen = Double(c.reduce(0, +)) / Double(B), meanRejected = Double(r.reduce(0, +)) / Double(B)
            return (loss, ["train/accuracy": accuracy, "rewards/chosen": meanChosen, "rewards/rejected": meanRejected,
                           "rewards/margins": meanChosen - meanRejected, "rewards/accuracies": accuracy])
        case .labelled:
            var tokens: [[Int32]] = [], labels: [Int] = []
            for case let .labelled(t, l) in batch { tokens.append(t); labels.append(l) }
            let K = model.classifier.score.weight.shape[0]
            if K == 1 {
                let scores = rewards(tokens)
                let loss = binaryRewardLoss(rewards: scores, positive: labels.map { $0 == 1 })
                let accuracy = zip(scores.scalars, labels).filter { ($0 > 0) == ($1 == 1) }.count
                return (loss, ["train/accuracy": Double(accuracy) / Double(labels.count)])
            }
            let (ids, lengths) = rightPadded(tokens, padding: model.padding)
            let logits = model.classifier.outputs(ids, lengths: lengths)
            let loss = crossEntropy(logits, targets: IndexTensor(shape: [labels.count], values: labels.map { Int32($0) }))
            let predicted = argmaxRows(logits.scalars, columns: K)
            return (loss, ["train/accuracy": Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)])
        case .bestOfN:
            var samples: [[Int32]] = [], best: [Int] = []
            var N = 0
            for case let .bestOf(s, b) in batch { samples += s; best.append(b); N = s.count }
            let scores = rewards(samples).reshaped([best.count, N])
            let loss = bestOfNRewardLoss(rewards: scores, best: best)
            let predicted = argmaxRows(scores.scalars, columns: N)
            return (loss, ["train/accuracy": Double(zip(predicted, best).filter { $0 == $1 }.count) / Double(best.count)])
        }
    }

    /// Held-out loss and accuracy (and, for pairs, the mean margin), in evaluation mode; empty
    /// without a held-out part.
    public func evaluate() -> [String: Double] {
        guard !valid.isEmpty else { return [:] }
        model.classifier.setTraining(false)
        defer { model.classifier.setTraining(true) }
        var sums: [String: Double] = [:]
        for start in stride(from: 0, to: valid.count, by: configuration.batchSize) {
            let batch = Array(valid[start..<min(start + configuration.batchSize, valid.count)])
            let (loss, metrics) = withNoGrad { self.loss(batch) }
            let n = Double(batch.count)
            sums["valid/loss", default: 0] += Double(loss.item) * n
            sums["valid/accuracy", default: 0] += (metrics["train/accuracy"] ?? 0) * n
            if let margin = metrics["rewards/margins"] { sums["valid/rewards/margins", default: 0] += margin * n }
        }
        return sums.mapValues { $0 / Double(valid.count) }
    }

    /// The micro-batches of the next step (seeded per-epoch shuffles, continuing across epochs).
    func nextStep(_ state: inout TrainerState) -> [[RewardExample]] {
        (0..<max(configuration.gradientAccumulationSteps, 1)).map { _ in
            nextIndices(count: configuration.batchSize, size: train.count, seed: configuration.seed &+ 0x3E3, state: &state).map { train[$0] }
        }
    }

    /// Trains for ``totalSteps`` steps (or until early stopping), evaluating at step 0 first;
    /// each checkpoint is a `GPT2ForSequenceClassification` directory with reward_model.json.
    @discardableResult
    public func train(resume: Bool = false, progress: ((TrainingProgress) throws -> Void)? = nil) throws -> TrainerState {
        var loop = TrainingLoop<RewardConfiguration, GPT2ForSequenceClassification, [RewardExample]>(
            model: model.classifier, settings: configuration, run: run, tokenizer: model.tokenizer, maxSteps: totalSteps)
        loop.saveExtras = { [model] folder in try model.saveHead(in: folder) }
        if resume, let checkpoint = run.newestCheckpoint() {
            model.head = try RewardModel.load(from: checkpoint.url).head
        }
        return try loop.train(resume: resume, evaluateAtStart: true, nextStep: nextStep, weight: \.count,
                              tokens: { $0.reduce(0) { $0 + $1.tokenCount } }, loss: loss, evaluate: evaluate, progress: progress)
    }
}

extension RewardExample {
    /// Tokens the example feeds the model.
    var tokenCount: Int {
        switch self {
        case let .pair(c, r): return c.count + r.count
        case let .labelled(t, _): return t.count
        case let .bestOf(s, _): return s.reduce(0) { $0 + $1.count }
        }
    }
}

/// The index of each row's largest value in a (rows, columns) buffer.
func argmaxRows(_ values: [Float], columns: Int) -> [Int] {
    stride(from: 0, to: values.count, by: columns).map { start in
        var best = 0
        for k in 1..<columns where values[start + k] > values[start + best] { best = k }
        return best
    }
}
