// Supervised fine-tuning (TRL's SFTTrainer with completion-only loss): prompt/response sequences,
// loss on the response and its end-of-sequence token only, shuffled epochs, a held-out split
// whose response-token loss is logged before training and at each evaluation. Any
// ``AutoregressiveModel`` trains through its teacher-forced ``AutoregressiveModel/responseLoss(_:reduction:)``:
// a causal LM on prompt + response (HF's completion-only loss), an encoder-decoder seq2seq (the
// prompt is the encoder's source, the response + EOS the decoder's target).

import Datasets
import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// SFT hyper-parameters: its own fields and the shared ``TrainingSchedule`` (HF Trainer defaults,
/// learning rate 5e-5, 10 % held out), read and written as one flat mapping.
@dynamicMemberLookup
public struct SFTConfiguration: Equatable, Sendable, ScheduledConfiguration, FieldListSettings {
    /// Longest sequence, prompt + response + end-of-sequence (≤ n_positions + 1, since the last
    /// token is only a target).
    public var maxLength = 512
    /// What to do when the response alone does not fit: error, truncate or skip.
    public var longResponses = LongResponsePolicy.error
    /// Batching, steps, optimizer, evaluation, checkpoints, seed.
    public var training = TrainingSchedule(learningRate: 5e-5, validFraction: 0.1)

    /// The defaults.
    public init() {}

}

/// Fine-tunes a language model (causal or encoder-decoder) on prompt/response sequences in a run directory.
public final class SFTTrainer {
    /// The model being trained.
    public let model: any AutoregressiveModel
    /// Hyper-parameters.
    public let configuration: SFTConfiguration
    /// Where checkpoints and metrics go.
    public let run: RunDirectory
    /// Saved with every checkpoint when given.
    public let tokenizer: (any Tokenizer)?
    /// The training and held-out sequences.
    public let train: [SFTSequence], valid: [SFTSequence]

    /// Splits `sequences` with a seeded shuffle into training and held-out parts.
    /// - Throws: ``RunError`` when a part is empty, a sequence is longer than the model's
    ///   positions allow, or a token is outside the vocabulary.
    public init(model: any AutoregressiveModel, sequences: [SFTSequence], configuration: SFTConfiguration, run: RunDirectory,
                tokenizer: (any Tokenizer)? = nil, dataName: String = "data") throws {
        for sequence in sequences {
            guard sequence.tokens.count >= 2, sequence.promptLength < sequence.tokens.count else {
                throw RunError.invalidData(path: dataName, problem: "a sequence of \(sequence.tokens.count) tokens with a \(sequence.promptLength)-token prompt has no response token to train on")
            }
            let (prompt, response) = sequence.pair
            if let problem = model.teacherForcingProblem(promptLength: prompt.count, responseLength: response.count) {
                throw RunError.invalidData(path: dataName, problem: "a sequence has \(problem); lower max_length")
            }
        }
        let V = model.modelConfiguration.vocabularySize
        if let bad = sequences.lazy.flatMap(\.tokens).first(where: { $0 < 0 || Int($0) >= V }) {
            throw RunError.tokenOutsideVocabulary(path: dataName, token: Int(bad), vocabularySize: V)
        }
        let (train, valid) = try configuration.training.split(sequences, dataName: dataName)
        self.model = model
        self.configuration = configuration
        self.run = run
        self.tokenizer = tokenizer
        self.train = train
        self.valid = valid
    }

    /// Optimizer steps in the run (``TrainingSchedule/totalSteps(examples:)``).
    public var totalSteps: Int { configuration.training.totalSteps(examples: train.count) }

    /// The micro-batches of the next step (seeded per-epoch shuffles, continuing across epochs).
    func nextStep(_ state: inout TrainerState) -> [[SFTSequence]] {
        configuration.training.nextMicroBatches(examples: train.count, salt: 0x5F7, state: &state).map { indices in
            indices.map { train[$0] }
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
            let batch = SFTSequence.responseBatch(Array(valid[start..<min(start + configuration.batchSize, valid.count)]))
            let n = batch.responseCount
            guard n > 0 else { continue }
            total += Double(withNoGrad { model.responseLoss(batch, reduction: .sum) }.item)
            count += n
        }
        return count > 0 ? Float(total / Double(count)) : nil
    }

    /// Trains for ``totalSteps`` steps (or until early stopping), logging `valid/loss` at step 0
    /// first; with `resume`, continues exactly from the newest checkpoint. Returns the final state.
    @discardableResult
    public func train(resume: Bool = false, progress: ((TrainingProgress) throws -> Void)? = nil) throws -> TrainerState {
        let loop = TrainingLoop<TrainingSchedule, [SFTSequence]>(model: model, settings: configuration.training, run: run, tokenizer: tokenizer, maxSteps: totalSteps)
        // Each micro-batch weighs its response tokens (the mean cross-entropy over a step's tokens);
        // its real tokens are every sequence's but the last (the tokens-per-second figure).
        return try loop.train(resume: resume, evaluateAtStart: true, nextStep: nextStep,
                              weight: { $0.reduce(0) { $0 + $1.pair.response.count } }, tokens: { $0.reduce(0) { $0 + $1.tokens.count - 1 } },
                              loss: { [model] in (model.responseLoss(SFTSequence.responseBatch($0), reduction: .mean), [:]) },
                              evaluate: { self.validLoss().map { ["valid/loss": Double($0)] } ?? [:] }, progress: progress)
    }
}

extension SFTConfiguration {
    public static var fields: [SettingField<SFTConfiguration>] { [
        .field("max_length", \.maxLength, "Longest sequence, prompt + response + EOS (≤ n_positions + 1)."),
        .choice("long_responses", \.longResponses, "A response that alone does not fit: stop with an error, truncate it, or skip the example."),
        .embedded(\.training),
    ] }
}
