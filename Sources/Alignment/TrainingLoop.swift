// The optimisation loop shared by the supervised trainers (pretraining, SFT, reward models):
// micro-batches with weighted gradient accumulation, clipping, AdamW on a schedule, metric lines, evaluation,
// early stopping keeping the best checkpoint, atomic checkpoints and exact resume.

import Datasets
import Foundation
import Kernels
import Models
import NN
import Tensors
import Tokenizers

/// The settings the shared loop reads; each trainer's configuration provides them.
public protocol TrainingLoopSettings {
    /// The optimizer and its learning-rate schedule.
    var optimizer: OptimizerSettings { get }
    /// Steps between metric lines, evaluations (0: only at the end), and checkpoints.
    var logInterval: Int { get }
    var evalInterval: Int { get }
    var checkpointInterval: Int { get }
    /// Stop after this many evaluations without a better valid loss (nil: never).
    var earlyStoppingPatience: Int? { get }
    /// Newest checkpoints kept (the best one is kept as well).
    var keepCheckpoints: Int { get }
    /// Seed of the trainer's random stream (batch order or windows).
    var seed: UInt64 { get }
}

/// One micro-batch: inputs and next-token targets, (B, T); targets of −100 are not trained on.
public struct LanguageModelBatch: Sendable {
    /// Token ids fed to the model, (B, T).
    public var inputs: IndexTensor
    /// The token each position must predict, (B, T); −100 where nothing is predicted.
    public var targets: IndexTensor
    /// Real (non-padding) input tokens, for the tokens-per-second figure.
    public var tokenCount: Int

    /// A micro-batch; `tokenCount` defaults to every input position.
    public init(inputs: IndexTensor, targets: IndexTensor, tokenCount: Int? = nil) {
        self.inputs = inputs
        self.targets = targets
        self.tokenCount = tokenCount ?? inputs.count
    }

    /// Positions with a target (not −100).
    public var targetCount: Int { targets.values.reduce(0) { $0 + ($1 == -100 ? 0 : 1) } }
}

/// The loop itself, over any model and any kind of micro-batch; a trainer supplies each step's
/// micro-batches, the loss of one, and its evaluation.
struct TrainingLoop<Settings: TrainingLoopSettings, Batch> {
    let model: any TrainableModel
    let settings: Settings
    let run: RunDirectory
    let tokenizer: (any Tokenizer)?
    let maxSteps: Int
    /// Writes files besides the model's into each checkpoint folder (e.g. reward normalization).
    var saveExtras: ((URL) throws -> Void)? = nil
    /// Whether the model trains in training mode (dropout on); DPO and reward models turn it
    /// off, as TRL and lm-human-preferences do.
    var dropout = true
    /// Parameters trained beside the model's (e.g. a reward model's gain and bias), by name;
    /// they are in the optimizer and its saved state.
    var extraParameters: [(name: String, tensor: Tensor)] = []

    /// Trains until `maxSteps` or early stopping. With `resume`, first restores the newest
    /// checkpoint (weights, optimizer moments, trainer state and dropout stream).
    /// - Parameters:
    ///   - evaluateAtStart: log the evaluation at step 0 (before any update) on a fresh start.
    ///   - nextStep: the micro-batches of the next optimizer step; it advances the state's data
    ///     stream (generator, epoch, position).
    ///   - weight: a micro-batch's share of its step (targets, pairs, examples): losses and
    ///     metrics are averaged with these weights, so accumulation equals one big batch.
    ///   - tokens: a micro-batch's real tokens, for the tokens-per-second figure.
    ///   - loss: a micro-batch's mean loss (to differentiate) and its metrics (means over the batch).
    ///   - evaluate: held-out metrics in evaluation mode (`valid/loss` drives early stopping and
    ///     the best checkpoint); empty without a held-out set.
    /// - Returns: the final state (also written to final/).
    func train(resume: Bool, evaluateAtStart: Bool,
               nextStep: (inout TrainerState) throws -> [Batch],
               weight: (Batch) -> Int, tokens: (Batch) -> Int,
               loss: (Batch) -> (loss: Tensor, metrics: [String: Double]),
               evaluate: () -> [String: Double],
               progress: ((TrainingProgress) throws -> Void)?) throws -> TrainerState {
        try settings.optimizer.validate()
        let schedule = settings.optimizer.learningRateSchedule(totalSteps: maxSteps)
        let optimizer = AdamW(parameters: model.namedParameters() + extraParameters, configuration: settings.optimizer.adamW)
        try run.prepareForWriting()
        var state = TrainerState(generator: RandomGenerator(seed: settings.seed), dropoutGenerator: model.source.generator)
        if resume, let checkpoint = run.newestCheckpoint() {
            try model.loadSafeTensors(from: checkpoint.url.appendingPathComponent("model.safetensors"), strict: false)
            try optimizer.loadState(from: checkpoint.url.appendingPathComponent("optimizer.safetensors"))
            state = try TrainerState.load(from: checkpoint.url)
            if let dropout = state.dropoutGenerator { model.source.generator = dropout }
        }
        // A fresh start empties metrics.jsonl; a resumed one keeps the lines up to its checkpoint.
        let log = try MetricsLog(url: run.metricsURL, resumeStep: state.step > 0 ? state.step : -1)
        if evaluateAtStart && state.step == 0 {
            let metrics = evaluate()
            if !metrics.isEmpty { try log.append(step: 0, metrics) }
        }
        model.setTraining(dropout)
        // A run that already stopped early stays stopped when resumed.
        let alreadyStopped = settings.earlyStoppingPatience.map { state.evaluationsWithoutImprovement >= $0 } ?? false
        while state.step < maxSteps && !alreadyStopped {
            let step = state.step + 1
            let started = DispatchTime.now().uptimeNanoseconds
            let batches = try nextStep(&state)
            let total = max(batches.reduce(0) { $0 + weight($1) }, 1)
            var sums: [String: Double] = [:]
            var tokenCount = 0
            for batch in batches {
                let share = weight(batch)
                tokenCount += tokens(batch)
                guard share > 0 else { continue }
                let (value, metrics) = loss(batch)
                sums["train/loss", default: 0] += Double(value.item) * Double(share)
                for (name, metric) in metrics { sums[name, default: 0] += metric * Double(share) }
                (value * (Float(share) / Float(total))).backward()
            }
            if settings.optimizer.gradientClip > 0 { clipGradientNorm(optimizer.parameters.map(\.tensor), maxNorm: settings.optimizer.gradientClip) }
            let learningRate = schedule.learningRate(base: settings.optimizer.learningRate, step: step)
            optimizer.step(learningRate: learningRate)
            optimizer.zeroGrad()
            state.step = step
            let trainLoss = Float((sums["train/loss"] ?? 0) / Double(total))
            var metrics: [String: Double] = [:]
            if step % max(settings.logInterval, 1) == 0 || step == maxSteps {
                for (name, sum) in sums { metrics[name] = sum / Double(total) }
                metrics["train/learning_rate"] = Double(learningRate)
            }
            var evaluated: Float?
            var improved = false, stop = false
            if (settings.evalInterval > 0 && step % settings.evalInterval == 0) || step == maxSteps {
                let results = evaluate()
                metrics.merge(results) { _, new in new }
                if let value = results["valid/loss"] {
                    evaluated = Float(value)
                    if state.bestValidLoss.map({ value < $0 }) ?? true {
                        state.bestValidLoss = value
                        state.bestStep = step
                        state.evaluationsWithoutImprovement = 0
                        improved = true
                    } else {
                        state.evaluationsWithoutImprovement += 1
                        if let patience = settings.earlyStoppingPatience, state.evaluationsWithoutImprovement >= patience { stop = true }
                    }
                }
            }
            if !metrics.isEmpty { try log.append(step: step, metrics) }
            if step % max(settings.checkpointInterval, 1) == 0 || improved || stop || step == maxSteps {
                state.dropoutGenerator = model.source.generator
                try saveCheckpoint(to: run.checkpointURL(step: step), state: state, optimizer: optimizer)
                run.pruneCheckpoints(keepingNewest: max(settings.keepCheckpoints, 1), alsoKeeping: Set([state.bestStep].compactMap { $0 }))
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            try progress?(TrainingProgress(step: step, maxSteps: maxSteps, loss: trainLoss, validLoss: evaluated,
                                           tokensPerSecond: Double(tokenCount) / max(seconds, 1e-9)))
            if stop { break }
        }
        state.dropoutGenerator = model.source.generator
        try saveCheckpoint(to: run.finalURL, state: state, optimizer: optimizer)
        return state
    }

    /// Writes weights, tokenizer, extras, optimizer state and trainer state into `folder`, atomically.
    func saveCheckpoint(to folder: URL, state: TrainerState, optimizer: AdamW) throws {
        try run.writeAtomically(to: folder) { temporary in
            try model.save(to: temporary, tokenizer: tokenizer)
            try saveExtras?(temporary)
            try optimizer.saveState(to: temporary.appendingPathComponent("optimizer.safetensors"))
            try state.save(in: temporary)
        }
    }
}

extension TrainingLoop where Batch == LanguageModelBatch {
    /// The causal-LM case (`model` is `languageModel`): loss is the mean cross-entropy over a
    /// batch's targets, weighted by their count; the evaluation is `valid/loss`.
    func train(languageModel model: any CausalLanguageModel, resume: Bool, evaluateAtStart: Bool, nextStep: (inout TrainerState) throws -> [LanguageModelBatch],
               validLoss: () -> Float?, progress: ((TrainingProgress) throws -> Void)?) throws -> TrainerState {
        precondition(model === self.model, "train(languageModel:) must be given the loop's own model")
        return try train(resume: resume, evaluateAtStart: evaluateAtStart, nextStep: nextStep,
                         weight: \.targetCount, tokens: \.tokenCount,
                         loss: { (crossEntropy(model($0.inputs), targets: $0.targets), [:]) },
                         evaluate: { validLoss().map { ["valid/loss": Double($0)] } ?? [:] }, progress: progress)
    }
}


/// The next `count` indices of 0..<`size` in per-epoch seeded shuffles (epoch e uses the seed
/// `seed &+ e`), continuing into the next epoch when one runs out; advances `state.epoch` and
/// `state.dataPosition`, so a resumed run draws exactly what an uninterrupted one would.
func nextIndices(count: Int, size: Int, seed: UInt64, state: inout TrainerState) -> [Int] {
    precondition(size > 0, "nextIndices: nothing to draw from")
    var order = Datasets.Split.shuffled(Array(0..<size), seed: seed &+ UInt64(state.epoch))
    var indices: [Int] = []
    indices.reserveCapacity(count)
    while indices.count < count {
        if state.dataPosition >= order.count {
            state.epoch += 1
            state.dataPosition = 0
            order = Datasets.Split.shuffled(Array(0..<size), seed: seed &+ UInt64(state.epoch))
        }
        indices.append(order[state.dataPosition])
        state.dataPosition += 1
    }
    return indices
}
