// Reward-model training: pairwise preferences (Bradley–Terry), labelled texts (binary logistic
// or K-class softmax with a label → reward map), and best-of-N labels (lm-human-preferences'
// best_of_4), on the shared training loop, with TRL's metric names.

import Datasets
import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// Reward-model hyper-parameters: its own fields and the shared ``TrainingSchedule``
/// (lm-human-preferences' learning rate 5e-5, 20 % held out), read and written as one flat mapping.
@dynamicMemberLookup
public struct RewardConfiguration: Equatable, Sendable, ScheduledConfiguration, FieldListSettings {
    /// Longest input in tokens (prompt + response); longer inputs keep their end.
    public var maxLength = 512
    /// Pairwise only: the margin m in −log σ(r_chosen − r_rejected − m).
    public var margin: Float = 0
    /// Labelled only: the reward of each label (e.g. {happy: 1, sad: -1}); nil: labels sorted,
    /// the last one 1 and the others 0 (binary: the second label is positive).
    public var labelRewards: [String: Float]?
    /// When reward normalization (lm-human-preferences) fits gain and bias: never, before, after or both.
    public var normalize = NormalizationTiming.none
    /// Policy samples the normalization is fitted on (lm-human-preferences `normalize_samples`).
    public var normalizationSamples = 256
    /// How they are sampled — as the PPO run that follows samples (lm-human-preferences fits gain
    /// and bias on the policy's own responses): tokens per response, temperature, and whether EOS
    /// ends a response (false: fixed-length responses, EOS an ordinary token). Defaults: the
    /// `lm_human_preferences_sentiment` preset's 24, 0.7 and false.
    public var normalizationResponseLength = 24
    public var normalizationTemperature: Float = 0.7
    public var normalizationStopAtEndOfSequence = false
    /// Labelled data without prompts: the first this many tokens of each text serve as prompts.
    public var normalizationPromptLength = 8
    /// Train gain and bias with the head (lm-human-preferences' `reward_norm/gain` and `bias` are
    /// trainable variables); false keeps them as normalization set them.
    public var trainGainBias = false
    /// Train without dropout (lm-human-preferences builds the reward model with
    /// `do_dropout=False`; TRL's RewardConfig `disable_dropout` defaults to true).
    public var disableDropout = true
    /// Batching, steps, optimizer, evaluation, checkpoints, seed (also the head's initialisation).
    public var training = TrainingSchedule(learningRate: 5e-5, validFraction: 0.2)

    /// The defaults.
    public init() {}

    /// The PPO sampling settings normalization samples with (response length, temperature, EOS).
    public var normalizationSampling: PPOConfiguration {
        var c = PPOConfiguration()
        c.maxNewTokens = normalizationResponseLength
        c.minNewTokens = 0
        c.temperature = normalizationTemperature
        c.topK = 0
        c.topP = 1
        c.stopAtEndOfSequence = normalizationStopAtEndOfSequence
        c.truncateToken = nil
        c.stop = []
        c.chunkSize = 16
        return c
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
    /// Gain and bias as trainable scalars (1), read from and written back to `model.head`.
    let gain: Tensor, bias: Tensor

    /// Splits `examples` (all of `objective`'s kind) with a seeded shuffle.
    /// - Throws: ``RunError`` for an empty part or an example of another kind.
    public init(model: RewardModel, examples: [RewardExample], objective: RewardObjective,
                configuration: RewardConfiguration, run: RunDirectory, dataName: String = "data") throws {
        for example in examples {
            let matches: Bool
            switch (example, objective) {
            case (.pair, .pairwise), (.labelled, .labelled), (.bestOf, .bestOfN): matches = true
            default: matches = false
            }
            guard matches else { throw RunError.invalidData(path: dataName, problem: "an example does not fit the \(objective.rawValue) objective") }
        }
        let modelConfiguration = model.classifier.modelConfiguration
        for example in examples {
            let sequences: [[Int32]]
            switch example {
            case let .pair(c, r): sequences = [c, r]
            case let .labelled(t, _): sequences = [t]
            case let .bestOf(s, _): sequences = s
            }
            for sequence in sequences {
                guard !sequence.isEmpty, sequence.count <= modelConfiguration.positions else {
                    throw RunError.invalidData(path: dataName, problem: "a text has \(sequence.count) tokens; it must have 1...\(modelConfiguration.positions) (n_positions); lower max_length")
                }
                if let bad = sequence.first(where: { $0 < 0 || Int($0) >= modelConfiguration.vocabularySize }) {
                    throw RunError.tokenOutsideVocabulary(path: dataName, token: Int(bad), vocabularySize: modelConfiguration.vocabularySize)
                }
            }
            if case let .labelled(_, label) = example, label >= max(model.classifier.score.weight.shape[0], 2) {
                throw RunError.invalidData(path: dataName, problem: "label index \(label) does not fit the head's \(model.classifier.score.weight.shape[0]) outputs")
            }
        }
        if configuration.trainGainBias && model.classifier.score.weight.shape[0] > 1 {
            throw RunError.invalidSetting(field: "train_gain_bias", source: "config", problem: "is true, but this head has \(model.classifier.score.weight.shape[0]) outputs (labelled data with more than 2 labels, rewards from label_rewards): gain and bias apply to a scalar reward only")
        }
        let (train, valid) = try configuration.training.split(examples, dataName: dataName)
        self.model = model
        self.configuration = configuration
        self.objective = objective
        self.run = run
        self.train = train
        self.valid = valid
        gain = Tensor(shape: [1], values: [model.head.gain], requiresGrad: configuration.trainGainBias)
        bias = Tensor(shape: [1], values: [model.head.bias], requiresGrad: configuration.trainGainBias)
    }

    /// Optimizer steps in the run (``TrainingSchedule/totalSteps(examples:)``).
    public var totalSteps: Int { configuration.training.totalSteps(examples: train.count) }

    /// Rewards with the current gain and bias, (N), differentiable (in gain and bias too when
    /// `train_gain_bias`): raw · gain + bias.
    func rewards(_ sequences: [[Int32]]) -> Tensor {
        let raw = model.rawRewards(sequences)
        guard configuration.trainGainBias else { return raw * model.head.gain + model.head.bias }
        let N = raw.count
        let ones = Tensor(repeating: 1, shape: [N, 1])
        return (matmul(raw.reshaped([N, 1]), gain.reshaped([1, 1])) + matmul(ones, bias.reshaped([1, 1]))).reshaped([N])
    }

    /// Copies the trained gain and bias into `model.head` (what reward_model.json saves).
    func syncHead() {
        guard configuration.trainGainBias else { return }
        model.head.gain = gain.item
        model.head.bias = bias.item
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
        defer { if !configuration.disableDropout { model.classifier.setTraining(true) } }
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
        configuration.training.nextMicroBatches(examples: train.count, salt: 0x3E3, state: &state).map { $0.map { train[$0] } }
    }

    /// Trains for ``totalSteps`` steps (or until early stopping), evaluating at step 0 first;
    /// each checkpoint is a `*ForSequenceClassification` directory with reward_model.json.
    @discardableResult
    public func train(resume: Bool = false, progress: ((TrainingProgress) throws -> Void)? = nil) throws -> TrainerState {
        var loop = TrainingLoop<TrainingSchedule, [RewardExample]>(
            model: model.classifier, settings: configuration.training, run: run, tokenizer: model.tokenizer, maxSteps: totalSteps)
        loop.dropout = !configuration.disableDropout
        loop.saveExtras = { [self] folder in
            syncHead()
            try model.saveHead(in: folder)
        }
        if resume, let checkpoint = run.newestCheckpoint() {
            model.head = try RewardModel.load(from: checkpoint.url).head
            gain.data[0] = model.head.gain
            bias.data[0] = model.head.bias
        }
        if configuration.trainGainBias { loop.extraParameters = [("reward_norm.gain", gain), ("reward_norm.bias", bias)] }
        let state = try loop.train(resume: resume, evaluateAtStart: true, nextStep: nextStep, weight: \.count,
                                   tokens: { $0.reduce(0) { $0 + $1.tokenCount } }, loss: loss, evaluate: evaluate, progress: progress)
        syncHead()
        return state
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

extension RewardConfiguration {
    public static var fields: [SettingField<RewardConfiguration>] { [
        .field("max_length", \.maxLength, "Longest input in tokens (prompt + response); longer inputs keep their end."),
        .field("margin", \.margin, "Pairwise only: the margin m in −log σ(r_chosen − r_rejected − m)."),
        .optional("label_rewards", \.labelRewards, "Labelled only: each label's reward, e.g. {happy: 1, sad: -1}; null: the last label 1, others 0.",
                  type: "mapping"),
        .choice("normalize", \.normalize, "Fit gain and bias so policy samples score mean 0, std 1 (lm-human-preferences)."),
        .field("normalization_samples", \.normalizationSamples, "Policy samples normalization is fitted on."),
        .field("normalization_response_length", \.normalizationResponseLength, "Tokens per normalization sample."),
        .field("normalization_prompt_length", \.normalizationPromptLength, "Labelled data: the first this many tokens of each text serve as prompts."),
        .field("normalization_temperature", \.normalizationTemperature, "Temperature of the normalization samples."),
        .field("normalization_stop_at_eos", \.normalizationStopAtEndOfSequence, "Whether EOS ends a normalization sample (false: fixed length)."),
        .field("train_gain_bias", \.trainGainBias, "Train gain and bias with the head (false: kept as normalization set them)."),
        .field("disable_dropout", \.disableDropout, "Train without dropout (lm-human-preferences; TRL's default)."),
        .embedded(\.training),
    ] }
}
