// Direct preference optimisation (TRL's DPOTrainer): chosen and rejected responses scored in one
// concatenated pass, sequence log-prob = sum over response tokens (prompt masked), reference
// log-probs computed once and cached (or reference-free), sigmoid / IPO / conservative losses,
// an optional NLL term on the chosen response, TRL's metric names, on the shared training loop.
// Any ``AutoregressiveModel`` trains: an encoder-decoder as TRL's `is_encoder_decoder` (the
// prompt is the encoder's source, each response a decoder target), through the same batched
// teacher-forced pass.

import Datasets
import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// DPO hyper-parameters (TRL's DPOConfig names): its own fields and the shared
/// ``TrainingSchedule`` (TRL's learning rate 1e-6, 10 % held out), read and written flat.
@dynamicMemberLookup
public struct DPOConfiguration: Equatable, Sendable, ScheduledConfiguration, FieldListSettings {
    /// β: the strength of the implicit KL constraint.
    public var beta: Float = 0.1
    /// `.sigmoid` (DPO; conservative DPO with label_smoothing > 0) or `.ipo`.
    public var lossType = DPOLossType.sigmoid
    /// ε of conservative DPO.
    public var labelSmoothing: Float = 0
    /// Weight of an NLL term on the chosen responses (RPO; TRL 0.x's `rpo_alpha`, TRL 1.16's
    /// `loss_type: [sigmoid, sft]` with `loss_weights: [1, rpo_alpha]`): the mean −log π over the
    /// batch's chosen tokens. 0: none.
    public var rpoAlpha: Float = 0
    /// Train against a uniform reference (log π_ref = 0, so `rewards/*` are β·log π; TRL 1.16 has
    /// no such switch, and gives the same numbers when handed reference log-probs of 0).
    public var referenceFree = false
    /// Longest prompt (its end is kept) and longest prompt + response (the response's end is cut).
    public var maxPromptLength = 128
    public var maxLength = 256
    /// Train without dropout (TRL's default `disable_dropout: true`).
    public var disableDropout = true
    /// Batching, steps, optimizer (TRL's DPO default lr 1e-6; small models need more), evaluation, seed.
    public var training = TrainingSchedule(learningRate: 1e-6, validFraction: 0.1)

    /// TRL's DPOConfig defaults.
    public init() {}

}

/// A tokenized preference pair with its cached reference log-probabilities.
public struct DPOExample: Sendable, Equatable {
    /// Prompt tokens (shared), and each response's tokens (EOS appended).
    public var prompt: [Int32], chosen: [Int32], rejected: [Int32]
    /// log π_ref of each response (sum, or mean for IPO), filled in once before training.
    public var referenceChosen: Float = 0, referenceRejected: Float = 0

    /// A pair; the reference log-probs are filled in by ``DPOTrainer``.
    public init(prompt: [Int32], chosen: [Int32], rejected: [Int32]) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }
}

/// Trains a policy with DPO in a run directory.
public final class DPOTrainer {
    /// The policy and the frozen reference (nil when reference-free).
    public let policy: any AutoregressiveModel
    public let reference: (any AutoregressiveModel)?
    /// Settings, the run folder, the tokenizer saved with checkpoints.
    public let configuration: DPOConfiguration
    public let run: RunDirectory
    public let tokenizer: (any Tokenizer)?
    /// Training and held-out pairs, reference log-probs filled in.
    public private(set) var train: [DPOExample], valid: [DPOExample]

    /// Splits the examples, and computes the reference log-probs of every response once.
    public init(policy: any AutoregressiveModel, reference: (any AutoregressiveModel)?, examples: [DPOExample], configuration: DPOConfiguration,
                run: RunDirectory, tokenizer: (any Tokenizer)? = nil, dataName: String = "data") throws {
        guard configuration.beta > 0 else { throw RunError.invalidSetting(field: "beta", source: "config", problem: "must be positive, got \(configuration.beta)") }
        guard (0..<0.5).contains(configuration.labelSmoothing) else { throw RunError.invalidSetting(field: "label_smoothing", source: "config", problem: "must be in [0, 0.5)") }
        guard configuration.referenceFree || reference != nil else { throw RunError.invalidSetting(field: "reference_free", source: "config", problem: "is false, so a reference model is needed") }
        let V = policy.modelConfiguration.vocabularySize
        // A causal LM takes a sequence of n_positions + 1 tokens: its last token is only a target.
        for (index, example) in examples.enumerated() {
            for (side, response) in [("chosen", example.chosen), ("rejected", example.rejected)] {
                let sequence = example.prompt + response
                if let problem = policy.teacherForcingProblem(promptLength: example.prompt.count, responseLength: response.count) {
                    throw RunError.invalidData(path: dataName, problem: "pair \(index + 1): prompt + \(side) is \(problem); lower max_length")
                }
                if let bad = sequence.first(where: { $0 < 0 || Int($0) >= V }) {
                    throw RunError.tokenOutsideVocabulary(path: dataName, token: Int(bad), vocabularySize: V)
                }
            }
            guard !example.prompt.isEmpty, !example.chosen.isEmpty, !example.rejected.isEmpty else {
                throw RunError.invalidData(path: dataName, problem: "a pair has an empty prompt or response after tokenization")
            }
        }
        var (train, valid) = try configuration.training.split(examples, dataName: dataName)
        self.policy = policy
        self.reference = configuration.referenceFree ? nil : reference
        self.configuration = configuration
        self.run = run
        self.tokenizer = tokenizer
        if let reference = self.reference {
            reference.setTraining(false)
            train = Self.withReference(train, reference: reference, configuration: configuration)
            valid = Self.withReference(valid, reference: reference, configuration: configuration)
        }
        self.train = train
        self.valid = valid
    }

    /// Fills in the reference log-probs, in batches, without gradients.
    static func withReference(_ examples: [DPOExample], reference: any AutoregressiveModel, configuration: DPOConfiguration) -> [DPOExample] {
        var result = examples
        for start in stride(from: 0, to: examples.count, by: configuration.batchSize) {
            let range = start..<min(start + configuration.batchSize, examples.count)
            let (chosen, rejected) = withNoGrad { sequenceLogProbabilities(reference, Array(examples[range]), configuration: configuration) }
            for (offset, index) in range.enumerated() {
                result[index].referenceChosen = chosen.scalars[offset]
                result[index].referenceRejected = rejected.scalars[offset]
            }
        }
        return result
    }

    /// Sequence log-probabilities of the chosen and rejected responses, each (B), from one pass
    /// over 2B rows: the sum over response tokens (IPO: the mean), prompt masked. The LM head
    /// runs only at the N positions that predict response tokens. (An encoder-decoder encodes
    /// each prompt for both of its rows and decodes each response: TRL's `is_encoder_decoder`.)
    static func sequenceLogProbabilities(_ model: any AutoregressiveModel, _ batch: [DPOExample],
                                         configuration: DPOConfiguration) -> (chosen: Tensor, rejected: Tensor) {
        let B = batch.count
        let grid = ResponseBatch(prompts: batch.map(\.prompt) + batch.map(\.prompt), responses: batch.map(\.chosen) + batch.map(\.rejected))
        let N = grid.responseCount
        let logits = model.outputLogits(model.responseStates(grid))
        let perToken = tokenLogProbabilities(logits, tokens: IndexTensor(shape: [N], values: grid.targets))
        // Row sums as a product with a (2B, N) 0/1 segment matrix (IPO: 1/length weights).
        var segment = [Float](repeating: 0, count: 2 * B * N)
        var start = 0
        for (row, length) in grid.lengths.enumerated() {
            let weight: Float = configuration.lossType == .ipo ? 1 / Float(max(length, 1)) : 1
            for j in start..<(start + length) { segment[row * N + j] = weight }
            start += length
        }
        let sums = matmul(Tensor(shape: [2 * B, N], values: segment), perToken.reshaped([N, 1])).reshaped([2 * B])
        return (sums.slice(axis: 0, 0..<B), sums.slice(axis: 0, B..<(2 * B)))
    }

    /// A batch's loss and TRL's metrics: rewards/chosen, rewards/rejected, rewards/accuracies,
    /// rewards/margins, logps/chosen, logps/rejected, loss.
    public func loss(_ batch: [DPOExample]) -> (loss: Tensor, metrics: [String: Double]) {
        let (chosen, rejected) = Self.sequenceLogProbabilities(policy, batch, configuration: configuration)
        let result = dpoLoss(policyChosen: chosen, policyRejected: rejected, referenceChosen: batch.map(\.referenceChosen),
                             referenceRejected: batch.map(\.referenceRejected), beta: configuration.beta,
                             type: configuration.lossType, labelSmoothing: configuration.labelSmoothing)
        var loss = result.loss
        if configuration.rpoAlpha > 0 {
            // RPO's NLL term, as TRL 1.16's `loss_type: [sigmoid, sft]` with `loss_weights: [1, rpo_alpha]`
            // computes it: −log π over every chosen token of the batch, averaged over those tokens
            // (Σ_b Σ_t log π(y_w,t) / Σ_b |y_w|, not a mean of per-pair means).
            let sums = configuration.lossType == .ipo
                ? chosen * Tensor(shape: [batch.count], values: batch.map { Float($0.chosen.count) })  // IPO's are per-token means
                : chosen
            loss = loss + configuration.rpoAlpha * dpoNegativeLogLikelihood(chosenSums: sums, chosenTokens: batch.reduce(0) { $0 + $1.chosen.count })
        }
        let B = Double(batch.count)
        let (c, r) = (result.chosenRewards, result.rejectedRewards)
        let meanChosen = c.reduce(0.0) { $0 + Double($1) } / B, meanRejected = r.reduce(0.0) { $0 + Double($1) } / B
        return (loss, [
            "rewards/chosen": meanChosen, "rewards/rejected": meanRejected,
            "rewards/accuracies": Double(zip(c, r).filter { $0 > $1 }.count) / B, "rewards/margins": meanChosen - meanRejected,
            "logps/chosen": chosen.scalars.reduce(0.0) { $0 + Double($1) } / B, "logps/rejected": rejected.scalars.reduce(0.0) { $0 + Double($1) } / B,
            "loss": Double(loss.item),
        ])
    }

    /// Held-out loss, accuracy and margin (valid/loss, valid/rewards/accuracies, valid/rewards/margins).
    public func evaluate() -> [String: Double] {
        guard !valid.isEmpty else { return [:] }
        let wasTraining = !configuration.disableDropout
        policy.setTraining(false)
        defer { if wasTraining { policy.setTraining(true) } }
        var sums: [String: Double] = [:]
        for start in stride(from: 0, to: valid.count, by: configuration.batchSize) {
            let batch = Array(valid[start..<min(start + configuration.batchSize, valid.count)])
            let (_, metrics) = withNoGrad { loss(batch) }
            for (key, name) in [("loss", "valid/loss"), ("rewards/accuracies", "valid/rewards/accuracies"), ("rewards/margins", "valid/rewards/margins")] {
                sums[name, default: 0] += (metrics[key] ?? 0) * Double(batch.count)
            }
        }
        return sums.mapValues { $0 / Double(valid.count) }
    }

    /// Optimizer steps (``TrainingSchedule/totalSteps(examples:)``).
    public var totalSteps: Int { configuration.training.totalSteps(examples: train.count) }

    /// The micro-batches of the next step (seeded per-epoch shuffles, continuing across epochs).
    func nextStep(_ state: inout TrainerState) -> [[DPOExample]] {
        configuration.training.nextMicroBatches(examples: train.count, salt: 0xD90, state: &state).map { $0.map { train[$0] } }
    }

    /// Trains (evaluating at step 0 first); with `resume`, continues exactly from the newest checkpoint.
    @discardableResult
    public func train(resume: Bool = false, progress: ((TrainingProgress) throws -> Void)? = nil) throws -> TrainerState {
        var loop = TrainingLoop<TrainingSchedule, [DPOExample]>(model: policy, settings: configuration.training, run: run,
                                                                                 tokenizer: tokenizer, maxSteps: totalSteps)
        loop.dropout = !configuration.disableDropout
        return try loop.train(resume: resume, evaluateAtStart: true, nextStep: nextStep, weight: \.count,
                              tokens: { $0.reduce(0) { $0 + 2 * $1.prompt.count + $1.chosen.count + $1.rejected.count } },
                              loss: loss, evaluate: evaluate, progress: progress)
    }
}

extension DPOConfiguration {
    public static var fields: [SettingField<DPOConfiguration>] { [
        .field("beta", \.beta, "β: the strength of the implicit KL constraint."),
        .choice("loss_type", \.lossType, "sigmoid (DPO; conservative DPO with label_smoothing > 0) or ipo."),
        .field("label_smoothing", \.labelSmoothing, "ε of conservative DPO."),
        .field("rpo_alpha", \.rpoAlpha, "Weight of an NLL term on the chosen responses (RPO; 0: none)."),
        .field("reference_free", \.referenceFree, "Train against a uniform reference (log π_ref = 0)."),
        .field("max_prompt_length", \.maxPromptLength, "Longest prompt, in tokens (its end is kept)."),
        .field("max_length", \.maxLength, "Longest prompt + response, in tokens (the response's end is cut)."),
        .field("disable_dropout", \.disableDropout, "Train without dropout (TRL's default)."),
        .embedded(\.training),
    ] }
}
