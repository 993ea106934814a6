// The pretraining loop: random windows of the training part through the shared loop.

import Foundation
import Models
import NN
import Tensors

extension PretrainTrainer {
    /// Trains until `max_steps` or early stopping; with `resume`, first restores the newest
    /// checkpoint of the run (weights, optimizer moments, data and dropout streams), so the
    /// metrics continue exactly as an uninterrupted run's. Returns the final trainer state.
    ///
    /// Writes metrics.jsonl (`train/loss`, `train/learning_rate` every `log_interval` steps;
    /// `valid/loss` at evaluations), checkpoints/step-N (every `checkpoint_interval` steps, at
    /// each new best valid loss, and at the end), and final/.
    @discardableResult
    public func train(resume: Bool = false, progress: ((TrainingProgress) throws -> Void)? = nil) throws -> TrainerState {
        let loop = TrainingLoop<PretrainConfiguration, LanguageModelBatch>(model: model, settings: configuration, run: run, tokenizer: tokenizer,
                                             maxSteps: configuration.maxSteps)
        let accumulation = max(configuration.gradientAccumulationSteps, 1)
        return try loop.train(languageModel: model, resume: resume, evaluateAtStart: false, nextStep: { state in
            state.dataPosition += configuration.batchSize * accumulation
            return (0..<accumulation).map { _ in
                let (x, y) = batch(from: train, generator: &state.generator)
                return LanguageModelBatch(inputs: x, targets: y)
            }
        }, validLoss: validLoss, progress: progress)
    }
}
