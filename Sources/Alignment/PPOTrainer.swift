// PPO for language models, detail by detail as openai/lm-human-preferences (train_policy.py):
// rollouts → per-token KL-shaped rewards → per-minibatch reward whitening (mean kept), GAE,
// advantage whitening → clipped policy and value losses over `ppo_epochs` freshly shuffled passes
// → adaptive KL update; its metric names; checkpoints with exact resume.

import Datasets
import Foundation
import Kernels
import Models
import NN
import Tensors
import Tokenizers

/// A PPO iteration's report to a progress display.
public struct PPOProgress: Sendable {
    /// The iteration just finished, and the last one.
    public var iteration: Int, iterations: Int
    /// objective/score, objective/kl, objective/kl_coef.
    public var score: Double, kl: Double, klCoefficient: Double
    /// Wall time of the iteration.
    public var seconds: Double
}

/// Trains a policy with PPO against a reward function, in a run directory.
public final class PPOTrainer {
    /// The policy with its value head (TRL's names), and the separate value model when asked.
    public let policy: ValueHeadModel
    public let valueModel: ValueHeadModel?
    /// The frozen reference policy.
    public let reference: any AutoregressiveModel
    /// The policy's tokenizer.
    public let tokenizer: any Tokenizer
    /// What the responses are scored by.
    public let reward: any RewardFunction
    /// Training and evaluation prompts.
    public let prompts: [String], evalPrompts: [String]
    /// Settings.
    public let configuration: PPOConfiguration
    /// Where checkpoints, metrics.jsonl and samples.jsonl go.
    public let run: RunDirectory
    /// Optimizer steps taken so far (one per minibatch).
    public var optimizerSteps: Int { optimizer.step }
    /// Seconds of the last iteration's phases: generate, score, forward (policy, value and
    /// reference passes over the rollouts), update (all epochs).
    public private(set) var lastTimings: [String: Double] = [:]

    let models: PPOModels
    let optimizer: AdamW
    /// Samples as configured (generation settings, truncation).
    public let sampler: PolicySampler
    var endOfSequence: Int? { sampler.endOfSequence }

    /// Sets up PPO. `policy` is trained in place; `reference` must be a separate, frozen copy.
    /// - Throws: ``RunError`` for bad settings, no prompts, or a truncate token that is not one token.
    public init(policy: ValueHeadModel, valueModel: ValueHeadModel? = nil, reference: any AutoregressiveModel, tokenizer: any Tokenizer,
                reward: any RewardFunction, prompts: [String], evalPrompts: [String] = [], configuration: PPOConfiguration,
                run: RunDirectory) throws {
        try configuration.validate()
        guard !prompts.isEmpty else { throw RunError.emptyData(path: "prompts", problem: "no training prompts") }
        sampler = try PolicySampler(configuration: configuration, tokenizer: tokenizer, modelConfiguration: policy.model.modelConfiguration)
        self.policy = policy
        self.valueModel = valueModel
        self.reference = reference
        self.tokenizer = tokenizer
        self.reward = reward
        self.prompts = prompts
        self.evalPrompts = evalPrompts
        self.configuration = configuration
        self.run = run
        // No dropout anywhere in PPO (as lm-human-preferences and TRL): π_old is recomputed exactly.
        policy.setTraining(false)
        valueModel?.setTraining(false)
        reference.setTraining(false)
        reference.setRequiresGrad(false)
        models = PPOModels(policy: policy, valueModel: valueModel, reference: reference, distribution: sampler.distribution)
        var parameters = policy.namedParameters()
        if let valueModel { parameters += valueModel.namedParameters().map { ("value_model." + $0.name, $0.tensor) } }
        optimizer = AdamW(parameters: parameters, configuration: configuration.optimizer.adamW)
    }

    // MARK: Rollouts

    /// lm-human-preferences' response truncation: the tokens up to and including the first
    /// `token` at index ≥ `after` (`.cut(at:)` that index); or the tokens unchanged and `.noToken`
    /// when there is none (the response then gets the penalty score).
    public static func truncate(_ tokens: [Int32], after: Int, at token: Int32) -> (tokens: [Int32], truncation: ResponseTruncation) {
        guard let index = tokens.indices.first(where: { $0 >= after && tokens[$0] == token }) else { return (tokens, .noToken) }
        return (Array(tokens[...index]), .cut(at: index))
    }

    /// Scores, with the truncation penalty, clipping and optional running scaling.
    func score(prompts: [String], responses: [String], truncations: [ResponseTruncation], state: inout TrainerState) throws -> (used: [Float], raw: [Float]) {
        let raw = try reward.rewards(prompts: prompts, responses: responses)
        guard raw.count == prompts.count else { throw RunError.wrongScoreCount(source: "reward", scores: raw.count, responses: prompts.count) }
        var used = zip(raw, truncations).map { score, truncation in truncation.isPenalized ? configuration.penaltyReward : score }
        if configuration.scaleReward == .running {
            var moments = state.scoreMoments ?? RunningMoments()
            moments.update(used)
            state.scoreMoments = moments
            let std = moments.standardDeviation
            used = used.map { Float(Double($0) / max(std, 1e-8)) }
        }
        if configuration.clipRangeReward > 0 {
            used = used.map { min(max($0, -configuration.clipRangeReward), configuration.clipRangeReward) }
        }
        return (used, raw)
    }

    /// lm-human-preferences' per-token rewards: r_t = −β·(log π_old − log π_ref) at every
    /// response token, plus the score on the last one.
    /// - Parameters:
    ///   - logProbabilities, referenceLogProbabilities: per response, one value per token.
    ///   - scores: one per response.
    ///   - klCoefficient: β.
    public static func shapedRewards(logProbabilities: [[Float]], referenceLogProbabilities: [[Float]], scores: [Float],
                                     klCoefficient: Double) -> [[Float]] {
        let beta = Float(klCoefficient)
        return scores.indices.map { b -> [Float] in
            var r = zip(logProbabilities[b], referenceLogProbabilities[b]).map { -beta * ($0 - $1) }
            r[r.count - 1] += scores[b]
            return r
        }
    }

    /// Samples, scores and evaluates one batch of prompts; rewards use β = `klCoefficient`.
    public func rollout(_ batch: [String], klCoefficient: Double, state: inout TrainerState) throws -> PPORollouts {
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap(_ name: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            lastTimings[name] = Double(now - clock) / 1e9
            clock = now
        }
        let sampled = try sampler.sample(policy.model, prompts: batch, generator: &state.generator)
        let (promptIds, responses, texts, cuts) = (sampled.promptTokens, sampled.responseTokens, sampled.texts, sampled.truncations)
        lap("generate")
        let (scores, raw) = try score(prompts: batch, responses: texts, truncations: cuts, state: &state)
        lap("score")
        var logProbabilities: [[Float]] = [], referenceLogProbabilities: [[Float]] = [], values: [[Float]] = []
        for start in stride(from: 0, to: batch.count, by: configuration.chunkSize) {
            let range = start..<min(start + configuration.chunkSize, batch.count)
            let grid = ResponseBatch(prompts: Array(promptIds[range]), responses: Array(responses[range]))
            let pass = withNoGrad { models.policyPass(grid, entropyToo: false) }
            logProbabilities += grid.rows(pass.logProbabilities)
            values += grid.rows(pass.values)
            referenceLogProbabilities += grid.rows(models.referencePass(grid))
        }
        lap("forward")
        let rewards = Self.shapedRewards(logProbabilities: logProbabilities, referenceLogProbabilities: referenceLogProbabilities,
                                         scores: scores, klCoefficient: klCoefficient)
        return PPORollouts(prompts: batch, promptTokens: promptIds, responseTokens: responses, responses: texts, scores: scores,
                           rawScores: raw, logProbabilities: logProbabilities, referenceLogProbabilities: referenceLogProbabilities,
                           values: values, rewards: rewards)
    }

    // MARK: Updates

    /// `ppo_epochs` passes of `num_mini_batches` freshly shuffled minibatches over the rollouts
    /// (one shuffle of `generator` per epoch).
    public func update(_ rollouts: PPORollouts, learningRate: Float, generator: inout RandomGenerator) -> PPOUpdate {
        let orders = (0..<configuration.ppoEpochs).map { _ in
            var order = Array(0..<rollouts.prompts.count)
            generator.shuffle(&order)
            return order
        }
        return update(rollouts, learningRate: learningRate, orders: orders)
    }

    /// The update with each epoch's row order given (`orders[epoch]` a permutation of the rollouts),
    /// as lm-human-preferences' `train`: for each epoch, for each minibatch (consecutive
    /// `num_rollouts / num_mini_batches` rows of that order), its loss and one optimizer step.
    public func update(_ rollouts: PPORollouts, learningRate: Float, orders: [[Int]]) -> PPOUpdate {
        let N = rollouts.prompts.count
        let M = configuration.numMiniBatches
        var minibatches: [PPOStatistics] = []
        for (epoch, order) in orders.enumerated() {
            require(order.count == N && Set(order) == Set(0..<N), "PPO update: epoch \(epoch)'s order is not a permutation of 0..<\(N)")
            for m in 0..<M {
                let rows = Array(order[(m * N / M)..<((m + 1) * N / M)])
                guard !rows.isEmpty else { continue }
                minibatches.append(trainMinibatch(rows, of: rollouts, learningRate: learningRate))
            }
        }
        return PPOUpdate(orders: orders, minibatches: minibatches)
    }

    /// One minibatch, in lm-human-preferences' order: (1) advantages and returns; (2) the loss of
    /// the current model, pass by pass, gradients accumulated; (3) one optimizer step. Statistics
    /// are taken before the step.
    func trainMinibatch(_ rows: [Int], of rollouts: PPORollouts, learningRate: Float) -> PPOStatistics {
        // 1. Advantages and returns.
        let targets = advantagesAndReturns(rows, of: rollouts)
        // 2. The loss over `gradient_accumulation_steps` passes, each weighted by its share of the
        //    minibatch's tokens so that the gradients sum to the minibatch's.
        let tokens = Double(rows.reduce(0) { $0 + rollouts.responseTokens[$1].count })
        let passes = min(configuration.gradientAccumulationSteps, rows.count)
        var statistics = PPOStatistics()
        for pass in 0..<passes {
            let part = Array((pass * rows.count / passes)..<((pass + 1) * rows.count / passes))
            let loss = minibatchLoss(part.map { rows[$0] }, of: rollouts, advantages: part.map { targets.advantages[$0] },
                                     returns: part.map { targets.returns[$0] })
            let share = Float(Double(loss.tokens) / tokens)
            statistics.accumulate(loss, weight: Double(share))
            (passes == 1 ? loss.total : loss.total * share).backward()
        }
        // 3. One optimizer step.
        if configuration.gradientClip > 0 { clipGradientNorm(optimizer.parameters.map(\.tensor), maxNorm: configuration.gradientClip) }
        optimizer.step(learningRate: learningRate)
        optimizer.zeroGrad()
        statistics.recordTargets(returns: targets.returns.flatMap { $0 }, oldValues: rows.flatMap { rollouts.values[$0] })
        return statistics
    }

    /// A minibatch's advantages and value targets, per row: the rewards whitened over the
    /// minibatch's tokens with their mean kept (`whiten_rewards`), GAE per row with
    /// returns = A + V_old, then the advantages whitened over the minibatch.
    func advantagesAndReturns(_ rows: [Int], of rollouts: PPORollouts) -> (advantages: [[Float]], returns: [[Float]]) {
        var rewards = rows.map { rollouts.rewards[$0] }
        if configuration.whitenRewards { rewards = reshape(whiten(rewards.flatMap { $0 }, shiftMean: false), like: rewards) }
        var advantages: [[Float]] = [], returns: [[Float]] = []
        for (r, row) in zip(rewards, rows) {
            let (a, R) = generalizedAdvantageEstimation(rewards: r, values: rollouts.values[row], gamma: configuration.gamma, lambda: configuration.lambda)
            advantages.append(a)
            returns.append(R)
        }
        return (reshape(whiten(advantages.flatMap { $0 }, shiftMean: true), like: advantages), returns)
    }

    /// The clipped policy loss + vf_coef · the clipped value loss (− ent_coef · entropy) of the
    /// current model on `rows` (differentiable), with its parts for the statistics.
    func minibatchLoss(_ rows: [Int], of rollouts: PPORollouts, advantages: [[Float]], returns: [[Float]]) -> PPOMinibatchLoss {
        let (grid, output) = currentPass(rows, of: rollouts)
        let mask = Tensor(shape: [grid.responseCount], values: [Float](repeating: 1, count: grid.responseCount))
        let policy = ppoPolicyLoss(logProbabilities: output.logProbabilities, oldLogProbabilities: grid.flat(rows.map { rollouts.logProbabilities[$0] }),
                                   advantages: grid.flat(advantages), mask: mask, clipRange: configuration.clipRange)
        let value = ppoValueLoss(values: output.values, oldValues: grid.flat(rows.map { rollouts.values[$0] }),
                                 returns: grid.flat(returns), mask: mask, clipRange: configuration.clipRangeValue)
        let entropy = output.entropy!.mean()
        var total = policy.policyLoss + configuration.valueCoefficient * value.valueLoss
        if configuration.entropyCoefficient != 0 { total = total - configuration.entropyCoefficient * entropy }
        return PPOMinibatchLoss(total: total, policy: policy, value: value, entropy: entropy, tokens: grid.responseCount)
    }

    /// The current policy's (and value model's) pass over `rows` of the rollouts: what the loss sees.
    func currentPass(_ rows: [Int], of rollouts: PPORollouts) -> (grid: ResponseBatch, output: (logProbabilities: Tensor, values: Tensor, entropy: Tensor?)) {
        let grid = ResponseBatch(prompts: rows.map { rollouts.promptTokens[$0] }, responses: rows.map { rollouts.responseTokens[$0] })
        return (grid, models.policyPass(grid, entropyToo: true, entropyDifferentiable: configuration.entropyCoefficient != 0))
    }

    /// log π of each response token of `rows` under the current policy, by the same pass the
    /// update's loss takes (without gradients): before any update it is the rollout's log π_old.
    public func currentLogProbabilities(_ rows: [Int], of rollouts: PPORollouts) -> [[Float]] {
        withNoGrad {
            let (grid, output) = currentPass(rows, of: rollouts)
            return grid.rows(output.logProbabilities)
        }
    }

    // MARK: The loop

    /// Runs `iterations` PPO iterations (continuing from the newest checkpoint with `resume`):
    /// metrics.jsonl gets one line per iteration with lm-human-preferences' names, samples.jsonl
    /// the eval prompts' responses and scores before training and every `eval_interval`
    /// iterations; checkpoints hold the policy (with `v_head.*`), the value model, the optimizer
    /// and the trainer state (KL coefficient, RNG, prompt position).
    @discardableResult
    public func train(resume: Bool = false, progress: ((PPOProgress) throws -> Void)? = nil) throws -> TrainerState {
        let schedule = configuration.optimizer.learningRateSchedule(totalSteps: configuration.scheduleIterations)
        try run.prepareForWriting()
        var state = TrainerState(generator: RandomGenerator(seed: configuration.seed), klCoefficient: configuration.initKLCoefficient)
        if resume, let checkpoint = run.newestCheckpoint() {
            try policy.loadSafeTensors(from: checkpoint.url.appendingPathComponent("model.safetensors"), strict: false)
            if let valueModel {
                try valueModel.loadSafeTensors(from: checkpoint.url.appendingPathComponent("value_model/model.safetensors"), strict: false)
            }
            try optimizer.loadState(from: checkpoint.url.appendingPathComponent("optimizer.safetensors"))
            state = try TrainerState.load(from: checkpoint.url)
        }
        let resumeStep = state.step > 0 ? state.step : -1
        let log = try MetricsLog(url: run.metricsURL, resumeStep: resumeStep)
        let samples = try MetricsLog(url: run.samplesURL, resumeStep: resumeStep)
        if state.step == 0 && !evalPrompts.isEmpty { try log.append(step: 0, ["eval/score": try evaluate(step: 0, samples: samples)]) }
        while state.step < configuration.iterations {
            let iteration = state.step + 1
            let started = DispatchTime.now().uptimeNanoseconds
            let beta = state.klCoefficient ?? configuration.initKLCoefficient
            let batch = nextPrompts(&state)
            let rollouts = try rollout(batch, klCoefficient: beta, state: &state)
            let learningRate = schedule.learningRate(base: configuration.learningRate, step: iteration)
            let updateStarted = DispatchTime.now().uptimeNanoseconds
            var metrics = update(rollouts, learningRate: learningRate, generator: &state.generator).metrics
            lastTimings["update"] = Double(DispatchTime.now().uptimeNanoseconds - updateStarted) / 1e9
            let kl = rollouts.klPerSequence.map(Double.init)
            let meanKL = kl.reduce(0, +) / Double(kl.count)
            let scores = rollouts.scores.map(Double.init)
            let meanScore = scores.reduce(0, +) / Double(scores.count)
            metrics["objective/score"] = meanScore
            metrics["objective/kl"] = meanKL
            metrics["objective/kl_coef"] = beta
            metrics["objective/entropy"] = rollouts.logProbabilities.map { -$0.reduce(0, +) }.map(Double.init).reduce(0, +) / Double(kl.count)
            metrics["objective/score_total"] = zip(scores, kl).map { $0 - beta * $1 }.reduce(0, +) / Double(kl.count)
            metrics["ppo/learning_rate"] = Double(learningRate)
            state.klCoefficient = configuration.klController.updated(beta, kl: meanKL, steps: batch.count)
            state.step = iteration
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            if !evalPrompts.isEmpty && configuration.evalInterval > 0 && (iteration % configuration.evalInterval == 0 || iteration == configuration.iterations) {
                metrics["eval/score"] = try evaluate(step: iteration, samples: samples)
            }
            // lm-human-preferences' elapsed/* figures; the wall-clock ones (fps, time, seconds) are
            // the only keys a resumed run cannot reproduce.
            let generated = rollouts.responseTokens.reduce(0) { $0 + $1.count }
            state.generatedTokens = (state.generatedTokens ?? 0) + generated
            state.elapsedSeconds = (state.elapsedSeconds ?? 0) + seconds
            metrics["elapsed/updates"] = Double(iteration)
            metrics["elapsed/episodes"] = Double(iteration * configuration.numRollouts)
            metrics["elapsed/steps/total"] = Double(state.generatedTokens ?? 0)
            metrics["elapsed/fps"] = Double(generated) / max(seconds, 1e-9)  // response tokens per second
            metrics["elapsed/time"] = state.elapsedSeconds ?? 0
            metrics["elapsed/seconds"] = seconds
            try log.append(step: iteration, metrics)
            if iteration % max(configuration.checkpointInterval, 1) == 0 || iteration == configuration.iterations {
                try saveCheckpoint(to: run.checkpointURL(step: iteration), state: state)
                run.pruneCheckpoints(keepingNewest: max(configuration.keepCheckpoints, 1))
            }
            try progress?(PPOProgress(iteration: iteration, iterations: configuration.iterations, score: meanScore, kl: meanKL,
                                      klCoefficient: beta, seconds: seconds))
        }
        try saveCheckpoint(to: run.finalURL, state: state)
        return state
    }

    /// The next `num_rollouts` prompts of a per-epoch seeded shuffle (continuing across epochs).
    func nextPrompts(_ state: inout TrainerState) -> [String] {
        nextIndices(count: configuration.numRollouts, size: prompts.count, seed: configuration.seed, state: &state).map { prompts[$0] }
    }

    /// Generates for the eval prompts with a fixed seed, scores them, writes samples.jsonl lines,
    /// and returns the mean score (`eval/score`).
    func evaluate(step: Int, samples: MetricsLog) throws -> Double {
        var generator = RandomGenerator(seed: configuration.seed ^ 0xE7A1)
        var scratch = TrainerState(generator: generator)
        let sampled = try sampler.sample(policy.model, prompts: evalPrompts, generator: &generator)
        let (texts, cuts) = (sampled.texts, sampled.truncations)
        let (scores, _) = try score(prompts: evalPrompts, responses: texts, truncations: cuts, state: &scratch)
        for (prompt, (text, score)) in zip(evalPrompts, zip(texts, scores)) {
            try samples.append(object: ["step": step, "prompt": prompt, "response": text, "score": Double(score)])
        }
        return scores.map(Double.init).reduce(0, +) / Double(max(scores.count, 1))
    }

    /// Writes the policy (LM + v_head), the value model, the optimizer and the state, atomically.
    func saveCheckpoint(to folder: URL, state: TrainerState) throws {
        try run.writeAtomically(to: folder) { temporary in
            try policy.save(to: temporary, tokenizer: tokenizer)
            if let valueModel {
                let subfolder = temporary.appendingPathComponent("value_model")
                try valueModel.save(to: subfolder, tokenizer: nil)
            }
            try optimizer.saveState(to: temporary.appendingPathComponent("optimizer.safetensors"))
            try state.save(in: temporary)
        }
    }
}

/// `flat` cut into rows of the lengths of `like`.
func reshape(_ flat: [Float], like rows: [[Float]]) -> [[Float]] {
    var index = 0
    return rows.map { row in
        defer { index += row.count }
        return Array(flat[index..<(index + row.count)])
    }
}

func mean(_ values: [Float]) -> Double { values.isEmpty ? 0 : values.reduce(0.0) { $0 + Double($1) } / Double(values.count) }

/// The biased variance.
func variance(_ values: [Float]) -> Double {
    let m = mean(values)
    return values.isEmpty ? 0 : values.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(values.count)
}
