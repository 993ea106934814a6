// Causal-LM pretraining on a token stream (nanoGPT's train.py, on this project's run machinery):
// a contiguous train/valid split, random windows of the block size, evaluation on fixed valid
// batches, early stopping on valid loss keeping the best checkpoint, warmup + cosine/Noam/linear
// schedules, gradient accumulation, clipping, dropout, and exact resume.

import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// Pretraining hyper-parameters. JSON/YAML names are snake_case; the optimizer's are flattened in.
@dynamicMemberLookup
public struct PretrainConfiguration: Equatable, Sendable, TrainingLoopSettings, FieldListSettings {
    /// Tokens per training window (T).
    public var blockSize = 256
    /// Windows per micro-batch (B).
    public var batchSize = 16
    /// Micro-batches per optimizer step.
    public var gradientAccumulationSteps = 1
    /// Optimizer steps to run.
    public var maxSteps = 1000
    /// AdamW and the schedule: nanoGPT's (1e-3 peak, 100 warmup steps, cosine to 10 %, weight
    /// decay 0.1, β₂ 0.99, clip 1).
    public var optimizer = OptimizerSettings(learningRate: 1e-3, schedule: .cosine, warmupSteps: 100, minimumLearningRateRatio: 0.1,
                                             weightDecay: 0.1, beta1: 0.9, beta2: 0.99, gradientClip: 1)
    /// Fraction of the corpus, at its end, held out for validation.
    public var validFraction = 0.1
    /// Steps between evaluations (0: only at the end).
    public var evalInterval = 250
    /// Fixed valid batches per evaluation.
    public var evalBatches = 20
    /// Steps between metric lines.
    public var logInterval = 10
    /// Steps between checkpoints (a checkpoint is also written at the end and at each new best).
    public var checkpointInterval = 500
    /// Stop after this many evaluations without a better valid loss (nil: never).
    public var earlyStoppingPatience: Int?
    /// Newest checkpoints kept (the best one is kept as well).
    public var keepCheckpoints = 2
    /// Seed of the window sampler (the model's dropout has its own seeded stream).
    public var seed: UInt64 = 1337
    /// Encoder-decoders (span corruption): the fraction of each window's tokens cut out (T5: 0.15).
    public var noiseDensity = 0.15
    /// Encoder-decoders (span corruption): the mean length of a cut span (T5: 3).
    public var meanNoiseSpanLength = 3.0

    /// Defaults as nanoGPT's Shakespeare-char config where they apply.
    public init() {}

    public static var fields: [SettingField<PretrainConfiguration>] { [
        .field("block_size", \.blockSize, "Tokens per training window (T)."),
        .field("batch_size", \.batchSize, "Windows per micro-batch (B)."),
        .field("gradient_accumulation_steps", \.gradientAccumulationSteps, "Micro-batches per optimizer step."),
        .field("max_steps", \.maxSteps, "Optimizer steps to run."),
        .embedded(\.optimizer),
        .field("valid_fraction", \.validFraction, "Fraction of the corpus, at its end, held out for validation."),
        .field("eval_interval", \.evalInterval, "Steps between evaluations (0: only at the end)."),
        .field("eval_batches", \.evalBatches, "Fixed valid batches per evaluation."),
        .field("log_interval", \.logInterval, "Steps between metric lines."),
        .field("checkpoint_interval", \.checkpointInterval, "Steps between checkpoints (also at the end and at each new best)."),
        .optional("early_stopping_patience", \.earlyStoppingPatience, "Stop after this many evaluations without a better valid loss; null: never.", type: "integer"),
        .field("keep_checkpoints", \.keepCheckpoints, "Newest checkpoints kept (the best one is kept as well)."),
        .field("seed", \.seed, "Seed of the window sampler (dropout has its own seeded stream)."),
        .field("noise_density", \.noiseDensity, "Encoder-decoders (T5 span corruption): fraction of each window's tokens cut out."),
        .field("mean_noise_span_length", \.meanNoiseSpanLength, "Encoder-decoders (T5 span corruption): mean length of a cut span."),
    ] }

    /// An optimizer setting, by name (`configuration.learningRate`).
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<OptimizerSettings, Value>) -> Value {
        get { optimizer[keyPath: keyPath] }
        set { optimizer[keyPath: keyPath] = newValue }
    }

}

/// Splits a token stream, samples windows, and trains a causal LM on them in a run directory.
public final class PretrainTrainer {
    /// The model being trained.
    public let model: any CausalLanguageModel
    /// Hyper-parameters.
    public let configuration: PretrainConfiguration
    /// Where checkpoints and metrics go.
    public let run: RunDirectory
    /// Saved with every checkpoint when given.
    public let tokenizer: (any Tokenizer)?
    let train: [Int32], valid: [Int32]

    /// Splits `tokens` (the encoded corpus) contiguously; both parts must hold one window plus
    /// its shifted target, and the block must fit the model's positions.
    public init(model: any CausalLanguageModel, tokens: [Int32], configuration: PretrainConfiguration, run: RunDirectory,
                tokenizer: (any Tokenizer)? = nil, corpusName: String = "corpus") throws {
        let T = configuration.blockSize
        guard T >= 1, T <= model.modelConfiguration.positions else {
            throw RunError.invalidSetting(field: "block_size", source: "config", problem: "is \(T); it must be in 1...\(model.modelConfiguration.positions) (n_positions)")
        }
        (train, valid) = try splitCorpus(tokens, window: T, what: "one block of \(T) plus its target", validFraction: configuration.validFraction,
                                         vocabularySize: model.modelConfiguration.vocabularySize, corpusName: corpusName)
        self.model = model
        self.configuration = configuration
        self.run = run
        self.tokenizer = tokenizer
    }

    /// B random windows of `source` as (inputs, targets), each (B, T).
    func batch(from source: [Int32], generator: inout RandomGenerator) -> (IndexTensor, IndexTensor) {
        let (B, T) = (configuration.batchSize, configuration.blockSize)
        var inputs: [Int32] = [], targets: [Int32] = []
        inputs.reserveCapacity(B * T)
        targets.reserveCapacity(B * T)
        for _ in 0..<B {
            let start = generator.nextInt(below: source.count - T)
            inputs += source[start..<(start + T)]
            targets += source[(start + 1)...(start + T)]
        }
        return (IndexTensor(shape: [B, T], values: inputs), IndexTensor(shape: [B, T], values: targets))
    }

    /// Mean loss over `evalBatches` fixed batches of the validation part (the same windows at
    /// every evaluation), in evaluation mode.
    public func validLoss() -> Float? {
        guard !valid.isEmpty else { return nil }
        var generator = RandomGenerator(seed: configuration.seed ^ 0xE7A1)
        model.setTraining(false)
        defer { model.setTraining(true) }
        var total: Float = 0
        for _ in 0..<max(configuration.evalBatches, 1) {
            let (x, y) = batch(from: valid, generator: &generator)
            total += withNoGrad { crossEntropy(model(x), targets: y) }.item
        }
        return total / Float(max(configuration.evalBatches, 1))
    }
}

/// Splits a token stream contiguously for pretraining: the training part first, the last
/// `validFraction` held out. Each part must hold more than `T` tokens (`what` names that window in
/// the messages) and every token must be in the vocabulary.
/// - Throws: ``RunError`` naming `valid_fraction` or the corpus.
func splitCorpus(_ tokens: [Int32], window T: Int, what: String, validFraction: Double, vocabularySize: Int,
                 corpusName: String) throws -> (train: [Int32], valid: [Int32]) {
    guard !tokens.isEmpty else { throw RunError.emptyData(path: corpusName, problem: "the corpus is empty") }
    guard validFraction >= 0 && validFraction < 1 else {
        throw RunError.invalidSetting(field: "valid_fraction", source: "config", problem: "must be in [0, 1), got \(validFraction)")
    }
    let cut = Int(Double(tokens.count) * (1 - validFraction))
    let train = Array(tokens[..<cut]), valid = validFraction > 0 ? Array(tokens[cut...]) : []
    guard train.count > T else {
        throw RunError.invalidData(path: corpusName, problem: "the training part has \(train.count) tokens, fewer than \(what); use a longer corpus or a smaller block_size")
    }
    if validFraction > 0 && valid.count <= T {
        throw RunError.invalidData(path: corpusName, problem: "the validation part has \(valid.count) tokens, fewer than \(what); use a longer corpus, a larger valid_fraction or a smaller block_size")
    }
    if let bad = tokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
        throw RunError.tokenOutsideVocabulary(path: corpusName, token: Int(bad), vocabularySize: vocabularySize)
    }
    return (train, valid)
}
