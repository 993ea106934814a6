// Encoder-decoder pretraining on a token stream with T5's span corruption: the pretraining job's
// path for models whose ``EncoderDecoderLanguageModel`` conformance says they read a source and
// write a target (T5). Windows of `block_size` tokens from the training part, each corrupted with
// its own draws from the run's seeded stream, through the shared loop (accumulation, schedule,
// evaluation on fixed valid windows, early stopping, atomic checkpoints, exact resume).
// Shapes: B batch, S source tokens, T target tokens.

import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// One micro-batch of source → target pairs: sources right-padded, labels −100 where padded.
public struct SourceTargetBatch {
    /// (B, S) source ids.
    public var sources: IndexTensor
    /// (B, S): 1 for real source tokens.
    public var mask: Tensor
    /// (B, T) target ids; −100 where nothing is predicted.
    public var labels: IndexTensor

    /// Pads `pairs` (sources with `padding`, labels with −100).
    public init(pairs: [(source: [Int32], target: [Int32])], padding: Int32) {
        let B = pairs.count
        let S = max(pairs.map(\.source.count).max() ?? 1, 1), T = max(pairs.map(\.target.count).max() ?? 1, 1)
        var ids = [Int32](repeating: padding, count: B * S), mask = [Float](repeating: 0, count: B * S)
        var labels = [Int32](repeating: -100, count: B * T)
        for (b, pair) in pairs.enumerated() {
            for (s, id) in pair.source.enumerated() { ids[b * S + s] = id; mask[b * S + s] = 1 }
            for (t, id) in pair.target.enumerated() { labels[b * T + t] = id }
        }
        sources = IndexTensor(shape: [B, S], values: ids)
        self.mask = Tensor(shape: [B, S], values: mask)
        self.labels = IndexTensor(shape: [B, T], values: labels)
    }

    /// Labels that count (not −100).
    public var targetCount: Int { labels.values.reduce(0) { $0 + ($1 == -100 ? 0 : 1) } }
    /// Real source tokens plus counted targets, for the tokens-per-second figure.
    public var tokenCount: Int { Int(mask.scalars.reduce(0, +)) + targetCount }
}

/// Pretrains an encoder-decoder with span corruption in a run directory.
public final class SpanCorruptionTrainer {
    /// The model being trained.
    public let model: any EncoderDecoderLanguageModel
    /// Hyper-parameters (`block_size` is the raw window before corruption).
    public let configuration: PretrainConfiguration
    /// The objective.
    public let corruption: SpanCorruption
    /// Where checkpoints and metrics go.
    public let run: RunDirectory
    /// Saved with every checkpoint when given.
    public let tokenizer: (any Tokenizer)?
    let train: [Int32], valid: [Int32]

    /// Splits `tokens` contiguously (as the causal pretrainer does); both parts must hold a window.
    /// - Throws: ``RunError`` naming the setting or the corpus.
    public init(model: any EncoderDecoderLanguageModel, tokens: [Int32], corruption: SpanCorruption, configuration: PretrainConfiguration,
                run: RunDirectory, tokenizer: (any Tokenizer)? = nil, corpusName: String = "corpus") throws {
        let T = configuration.blockSize
        guard T >= 2 else { throw RunError.invalidSetting(field: "block_size", source: "config", problem: "is \(T); span corruption needs at least 2") }
        let lengths = corruption.lengths(window: T)
        if let problem = model.contextProblem(promptLength: lengths.source - 1, newTokens: lengths.target) {  // the source ends with its </s>
            throw RunError.invalidSetting(field: "block_size", source: "config", problem: "is \(T): \(problem)")
        }
        guard corruption.spanCount(length: T) <= corruption.sentinels.count else {
            throw RunError.invalidSetting(field: "block_size", source: "config",
                                          problem: "windows of \(T) tokens have \(corruption.spanCount(length: T)) noise spans, but the tokenizer has \(corruption.sentinels.count) sentinels (<extra_id_N>)")
        }
        guard corruption.noiseDensity > 0 && corruption.noiseDensity < 1 else {
            throw RunError.invalidSetting(field: "noise_density", source: "config", problem: "must be in (0, 1), got \(corruption.noiseDensity)")
        }
        guard corruption.meanNoiseSpanLength >= 1 else {
            throw RunError.invalidSetting(field: "mean_noise_span_length", source: "config", problem: "must be ≥ 1, got \(corruption.meanNoiseSpanLength)")
        }
        if T - corruption.noiseCount(length: T) < corruption.spanCount(length: T) {
            throw RunError.invalidSetting(field: "noise_density", source: "config",
                                          problem: "is \(corruption.noiseDensity): windows of \(T) tokens keep \(T - corruption.noiseCount(length: T)), fewer than their \(corruption.spanCount(length: T)) noise spans need; lower noise_density or raise mean_noise_span_length")
        }
        let V = model.modelConfiguration.vocabularySize
        (train, valid) = try splitCorpus(tokens, window: T, what: "one window of \(T)", validFraction: configuration.validFraction,
                                         vocabularySize: V, corpusName: corpusName)
        if let bad = (corruption.sentinels + [corruption.endOfSequence]).first(where: { $0 < 0 || Int($0) >= V }) {
            throw RunError.tokenOutsideVocabulary(path: corpusName, token: Int(bad), vocabularySize: V)
        }
        self.model = model
        self.configuration = configuration
        self.corruption = corruption
        self.run = run
        self.tokenizer = tokenizer
    }

    /// B random windows of `source`, each corrupted with draws from `generator`.
    func batch(from source: [Int32], generator: inout RandomGenerator) throws -> SourceTargetBatch {
        let T = configuration.blockSize
        var pairs: [(source: [Int32], target: [Int32])] = []
        for _ in 0..<configuration.batchSize {
            let start = generator.nextInt(below: source.count - T)
            pairs.append(try corruption.corrupt(Array(source[start..<(start + T)]), generator: &generator))
        }
        return SourceTargetBatch(pairs: pairs, padding: Int32(model.modelConfiguration.padTokenId ?? 0))
    }

    /// Mean loss over `eval_batches` fixed corrupted windows of the validation part, in evaluation mode.
    public func validLoss() -> Float? {
        guard !valid.isEmpty else { return nil }
        var generator = RandomGenerator(seed: configuration.seed ^ 0xE7A1)
        return model.evaluating {
            var total: Float = 0
            for _ in 0..<max(configuration.evalBatches, 1) {
                guard let batch = try? batch(from: valid, generator: &generator) else { return nil }
                total += withNoGrad { model.teacherForced(sources: batch.sources, mask: batch.mask, labels: batch.labels).loss }.item
            }
            return total / Float(max(configuration.evalBatches, 1))
        }
    }

    /// Trains until `max_steps` or early stopping; with `resume`, first restores the newest
    /// checkpoint so the metrics continue exactly as an uninterrupted run's. Writes the same
    /// files and metric names as causal pretraining (`train/loss`, `valid/loss`).
    @discardableResult
    public func train(resume: Bool = false, progress: ((TrainingProgress) throws -> Void)? = nil) throws -> TrainerState {
        let loop = TrainingLoop<PretrainConfiguration, SourceTargetBatch>(model: model, settings: configuration, run: run, tokenizer: tokenizer,
                                                                          maxSteps: configuration.maxSteps)
        let accumulation = max(configuration.gradientAccumulationSteps, 1)
        return try loop.train(resume: resume, evaluateAtStart: false, nextStep: { state in
            state.dataPosition += configuration.batchSize * accumulation
            return try (0..<accumulation).map { _ in try batch(from: train, generator: &state.generator) }
        }, weight: \.targetCount, tokens: \.tokenCount,
        loss: { (model.teacherForced(sources: $0.sources, mask: $0.mask, labels: $0.labels).loss, [:]) },
        evaluate: { validLoss().map { ["valid/loss": Double($0)] } ?? [:] }, progress: progress)
    }
}
