// The pretraining loop: steps, logging, evaluation, early stopping, checkpoints, resume.

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
        let schedule = try configuration.learningRateSchedule()
        let optimizer = AdamW(parameters: model.namedParameters(), configuration: AdamWConfiguration(
            learningRate: configuration.learningRate, beta1: configuration.beta1, beta2: configuration.beta2,
            weightDecay: configuration.weightDecay))
        var state = TrainerState(generator: RandomGenerator(seed: configuration.seed), dropoutGenerator: model.source.generator)
        if resume, let checkpoint = run.newestCheckpoint() {
            try model.loadSafeTensors(from: checkpoint.url.appendingPathComponent("model.safetensors"), strict: false)
            try optimizer.loadState(from: checkpoint.url.appendingPathComponent("optimizer.safetensors"))
            state = try TrainerState.load(from: checkpoint.url)
            if let dropout = state.dropoutGenerator { model.source.generator = dropout }
        }
        let log = try MetricsLog(url: run.metricsURL, resumeStep: state.step)
        let accumulation = max(configuration.gradientAccumulationSteps, 1)
        let tokensPerStep = configuration.batchSize * configuration.blockSize * accumulation
        model.setTraining(true)
        while state.step < configuration.maxSteps {
            let step = state.step + 1
            let started = DispatchTime.now().uptimeNanoseconds
            var lossSum: Float = 0
            for _ in 0..<accumulation {
                let (x, y) = batch(from: train, generator: &state.generator)
                let loss = crossEntropy(model(x), targets: y)
                lossSum += loss.item
                (loss * (1 / Float(accumulation))).backward()
            }
            if configuration.gradientClip > 0 { clipGradientNorm(optimizer.parameters.map(\.tensor), maxNorm: configuration.gradientClip) }
            let learningRate = schedule.learningRate(base: configuration.learningRate, step: step)
            optimizer.step(learningRate: learningRate)
            optimizer.zeroGrad()
            state.step = step
            state.dataPosition += configuration.batchSize * accumulation
            let trainLoss = lossSum / Float(accumulation)
            var metrics: [String: Double] = [:]
            if step % max(configuration.logInterval, 1) == 0 || step == configuration.maxSteps {
                metrics["train/loss"] = Double(trainLoss)
                metrics["train/learning_rate"] = Double(learningRate)
            }
            var validLoss: Float?
            var improved = false, stop = false
            if (configuration.evalInterval > 0 && step % configuration.evalInterval == 0) || step == configuration.maxSteps {
                validLoss = self.validLoss()
                if let value = validLoss {
                    metrics["valid/loss"] = Double(value)
                    if state.bestValidLoss.map({ Double(value) < $0 }) ?? true {
                        state.bestValidLoss = Double(value)
                        state.bestStep = step
                        state.evaluationsWithoutImprovement = 0
                        improved = true
                    } else {
                        state.evaluationsWithoutImprovement += 1
                        if let patience = configuration.earlyStoppingPatience, state.evaluationsWithoutImprovement >= patience { stop = true }
                    }
                }
            }
            if !metrics.isEmpty { log.append(step: step, metrics) }
            if step % max(configuration.checkpointInterval, 1) == 0 || improved || stop || step == configuration.maxSteps {
                state.dropoutGenerator = model.source.generator
                try saveCheckpoint(to: run.checkpointURL(step: step), state: state, optimizer: optimizer)
                run.pruneCheckpoints(keepingNewest: max(configuration.keepCheckpoints, 1), alsoKeeping: Set([state.bestStep].compactMap { $0 }))
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            try progress?(TrainingProgress(step: step, maxSteps: configuration.maxSteps, loss: trainLoss, validLoss: validLoss,
                                       tokensPerSecond: Double(tokensPerStep) / max(seconds, 1e-9)))
            if stop { break }
        }
        state.dropoutGenerator = model.source.generator
        try saveCheckpoint(to: run.finalURL, state: state, optimizer: optimizer)
        return state
    }

    /// Writes weights, tokenizer, optimizer state and trainer state into `folder`, atomically.
    func saveCheckpoint(to folder: URL, state: TrainerState, optimizer: AdamW) throws {
        try run.writeAtomically(to: folder) { temporary in
            try model.save(to: temporary, tokenizer: tokenizer)
            try optimizer.saveState(to: temporary.appendingPathComponent("optimizer.safetensors"))
            try state.save(in: temporary)
        }
    }
}
