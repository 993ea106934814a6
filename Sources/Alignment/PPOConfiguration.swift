// PPO's settings, named as trlX's PPOConfig and openai/lm-human-preferences name them, with a
// preset for lm-human-preferences' sentiment task.

import Foundation
import Kernels
import NN

/// Everything PPO needs besides the models, the prompts and the reward. YAML names are snake_case.
@dynamicMemberLookup
public struct PPOConfiguration: Equatable, Sendable, FieldListSettings {
    /// Optimisation iterations (each: rollouts, scoring, `ppo_epochs` of updates).
    public var iterations = 100
    /// Rollouts per iteration (trlX `num_rollouts`; lm-human-preferences `batch_size`).
    public var numRollouts = 64
    /// Prompts generated together (trlX `chunk_size`).
    public var chunkSize = 16
    /// Passes over each iteration's rollouts (lm-human-preferences `noptepochs`).
    public var ppoEpochs = 4
    /// Minibatches per pass (lm-human-preferences `nminibatches`); freshly shuffled each pass.
    /// One optimizer step per minibatch.
    public var numMiniBatches = 4
    /// Forward/backward passes each minibatch is split into, their gradients accumulated into the
    /// minibatch's one optimizer step (bounds memory; the step is the same as one pass's).
    public var gradientAccumulationSteps = 1
    /// Initial KL coefficient β (`init_kl_coef`).
    public var initKLCoefficient = 0.15
    /// Adaptive KL target per sequence (`target`); nil: a fixed β.
    public var target: Double? = 6
    /// Adaptive KL horizon in rollouts (`horizon`).
    public var horizon = 10_000.0
    /// Discount γ and GAE λ.
    public var gamma: Float = 1
    public var lambda: Float = 0.95
    /// Policy ratio clip ε (`cliprange`) and value clip (`cliprange_value`).
    public var clipRange: Float = 0.2
    public var clipRangeValue: Float = 0.2
    /// Weight of the value loss (`vf_coef`) and of an entropy bonus (`ent_coef`, 0: none).
    public var valueCoefficient: Float = 0.1
    public var entropyCoefficient: Float = 0
    /// Whiten per-token rewards before GAE, keeping their mean (`whiten_rewards`).
    public var whitenRewards = true
    /// Scores divided by a running standard deviation ("running") or not ("none") (`scale_reward`).
    public var scaleReward = ScoreScaling.none
    /// Scores clipped to ±this before use (`cliprange_reward`; 0: none).
    public var clipRangeReward: Float = 10
    /// Sampling temperature (log-probabilities use the same temperature), top-k (0: off), top-p.
    public var temperature: Float = 1
    public var topK = 0
    public var topP: Float = 1
    /// New tokens per response, at most and at least (EOS is banned, and the distribution
    /// renormalized without it, before `min_new_tokens`).
    public var maxNewTokens = 24
    public var minNewTokens = 0
    /// Whether EOS ends a response; false samples past it as an ordinary token, so that every
    /// response has `max_new_tokens` tokens (openai/lm-human-preferences).
    public var stopAtEndOfSequence = true
    /// Generation stops at these strings (their tokens are kept), and at EOS.
    public var stop: [String] = []
    /// lm-human-preferences truncation: a response is cut after the first `truncate_token` found
    /// at index ≥ `truncate_after`; the reward sees the cut text (log-probs and updates use the
    /// whole response), and a response without one scores `penalty_reward`. nil: no truncation.
    public var truncateToken: String?
    public var truncateAfter = 16
    public var penaltyReward: Float = -1
    /// A value head on the policy trunk (`.shared`, TRL's names) or a separate value model (`.separate`).
    public var valueModel = ValueModelPlacement.shared
    /// Adam and the learning-rate schedule: lr 1e-5 decaying linearly to 0 over the run (as
    /// lm-human-preferences; `warmup_steps` in iterations), ε 1e-5, no weight decay or clipping.
    public var optimizer = OptimizerSettings(learningRate: 1e-5, schedule: .linear, adamEpsilon: 1e-5, gradientClip: 0)
    /// The schedule's length in rollouts (lm-human-preferences `total_episodes`): it spans
    /// ⌈total_episodes / num_rollouts⌉ iterations, whatever `iterations` stops the run at;
    /// nil: `iterations`.
    public var totalEpisodes: Int?
    /// Iterations between evaluations on the eval prompts (samples.jsonl), between checkpoints.
    public var evalInterval = 10
    public var checkpointInterval = 10
    /// Newest checkpoints kept.
    public var keepCheckpoints = 2
    /// Seed of the prompt order, the sampling and the minibatch shuffles.
    public var seed: UInt64 = 0

    /// trlX-like defaults with lm-human-preferences' reward shaping.
    public init() {}

    public static var fields: [SettingField<PPOConfiguration>] { [
        .field("iterations", \.iterations, "PPO iterations to run (each: rollouts, scoring, ppo_epochs of updates)."),
        .field("num_rollouts", \.numRollouts, "Rollouts per iteration (trlX num_rollouts; lm-human-preferences batch_size)."),
        .field("chunk_size", \.chunkSize, "Prompts generated and scored together (memory, not maths)."),
        .field("ppo_epochs", \.ppoEpochs, "Passes over each iteration's rollouts (noptepochs)."),
        .field("num_mini_batches", \.numMiniBatches, "Minibatches per pass, freshly shuffled; one optimizer step each (nminibatches)."),
        .field("gradient_accumulation_steps", \.gradientAccumulationSteps, "Forward/backward passes each minibatch is split into (memory, not maths)."),
        .field("init_kl_coef", \.initKLCoefficient, "Initial KL coefficient β."),
        .optional("target", \.target, "Adaptive-KL target per sequence; null: a fixed β.", type: "number"),
        .field("horizon", \.horizon, "Adaptive-KL horizon, in rollouts."),
        .field("gamma", \.gamma, "Discount γ."),
        .field("lam", \.lambda, "GAE λ."),
        .field("cliprange", \.clipRange, "Policy ratio clip ε."),
        .field("cliprange_value", \.clipRangeValue, "Value prediction clip around the rollout's values."),
        .field("vf_coef", \.valueCoefficient, "Weight of the value loss."),
        .field("ent_coef", \.entropyCoefficient, "Weight of an entropy bonus (0: none)."),
        .field("whiten_rewards", \.whitenRewards, "Whiten per-token rewards over each minibatch before GAE, keeping their mean."),
        .choice("scale_reward", \.scaleReward, "Scores as given, or divided by their running standard deviation."),
        .field("cliprange_reward", \.clipRangeReward, "Scores clipped to ±this before use (0: none)."),
        .field("temperature", \.temperature, "Sampling temperature (log-probabilities use the same)."),
        .field("top_k", \.topK, "Sample among the k likeliest tokens (0: all)."),
        .field("top_p", \.topP, "Nucleus sampling mass (1: all)."),
        .field("max_new_tokens", \.maxNewTokens, "New tokens per response, at most."),
        .field("min_new_tokens", \.minNewTokens, "New tokens per response before EOS may be sampled."),
        .field("stop_at_eos", \.stopAtEndOfSequence, "Whether EOS ends a response (false: every response has max_new_tokens tokens, as lm-human-preferences)."),
        .field("stop", \.stop, "Strings that end a response (their tokens are kept)."),
        .optional("truncate_token", \.truncateToken, "Cut each response after this token's first occurrence at index ≥ truncate_after; null: no truncation.",
                  type: "text"),
        .field("truncate_after", \.truncateAfter, "First response index at which truncate_token cuts."),
        .field("penalty_reward", \.penaltyReward, "Score of a response with no truncate_token."),
        .choice("value_model", \.valueModel, "A value head on the policy trunk (shared) or a separate value model."),
        .embedded(\.optimizer),
        .optional("total_episodes", \.totalEpisodes, "The schedule's length in rollouts (spans ⌈total_episodes / num_rollouts⌉ iterations); null: iterations.",
                  type: "integer"),
        .field("eval_interval", \.evalInterval, "Iterations between evaluations on the eval prompts (samples.jsonl)."),
        .field("checkpoint_interval", \.checkpointInterval, "Iterations between checkpoints."),
        .field("keep_checkpoints", \.keepCheckpoints, "Newest checkpoints kept."),
        .field("seed", \.seed, "Seed of the prompt order, the sampling and the minibatch shuffles."),
    ] }

    /// An optimizer setting, by name (`configuration.learningRate`).
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<OptimizerSettings, Value>) -> Value {
        get { optimizer[keyPath: keyPath] }
        set { optimizer[keyPath: keyPath] = newValue }
    }

    /// openai/lm-human-preferences' sentiment run (`launch.py`, experiment `sentiment`, with the
    /// `books_task` and `train_policy.py` defaults it does not override):
    ///
    /// | field | value | OAI |
    /// |---|---|---|
    /// | num_rollouts | 512 | `ppo.batch_size` 512 |
    /// | num_mini_batches | 1 | `ppo.nminibatches` 1 (default) |
    /// | ppo_epochs | 4 | `ppo.noptepochs` 4 (default) |
    /// | learning_rate | 1e-5 | `ppo.lr` 1e-5 |
    /// | schedule, total_episodes | linear, 1,000,000 | `lrnow = lr·(1 − frac)` over `ppo.total_episodes` 1e6, i.e. ⌈1e6 / 512⌉ = 1,954 updates |
    /// | iterations | 1,954 | `nupdates` = ⌈total_episodes / batch_size⌉ = ⌈1e6 / 512⌉ |
    /// | init_kl_coef | 0.15 | `rewards.kl_coef` 0.15 |
    /// | target, horizon | 6, 10,000 | `rewards.adaptive_kl.target` 6.0, `horizon` 10000 (default) |
    /// | vf_coef | 0.1 | `ppo.vf_coef` 0.1 (default) |
    /// | cliprange, cliprange_value | 0.2, 0.2 | defaults |
    /// | gamma, lam | 1, 0.95 | defaults |
    /// | whiten_rewards | true | default |
    /// | temperature, top_k, top_p | 0.7, 0, 1 | `policy.temperature` 0.7, plain sampling |
    /// | max_new_tokens, min_new_tokens, stop_at_eos | 24, 0, false | `response_length` 24; fixed length, EOS an ordinary token |
    /// | truncate_token, truncate_after, penalty_reward | ".", 16, −1 | `truncate_token` 13 ('.'), `truncate_after` 16, `penalty_reward` −1 (default) |
    /// | cliprange_reward, scale_reward | 0 (none), none | scores used as the reward model gives them |
    /// | adam_eps, eps_placement | 1e-5, tensorflow | `tf.train.AdamOptimizer(epsilon=1e-5)` |
    /// | grad_clip, ent_coef | 0, 0 | none |
    ///
    /// Not OAI's: `chunk_size` 64 and `gradient_accumulation_steps` 8 only bound memory (the
    /// minibatch of 512 is one optimizer step, its gradient accumulated over 8 passes of 64).
    public static var lmHumanPreferencesSentiment: PPOConfiguration {
        var c = PPOConfiguration()
        c.numRollouts = 512
        c.chunkSize = 64
        c.numMiniBatches = 1
        c.gradientAccumulationSteps = 8
        c.ppoEpochs = 4
        c.learningRate = 1e-5
        c.schedule = .linear
        c.totalEpisodes = 1_000_000
        c.iterations = 1_954
        c.temperature = 0.7
        c.topK = 0
        c.topP = 1
        c.maxNewTokens = 24
        c.minNewTokens = 0
        c.stopAtEndOfSequence = false
        c.truncateToken = "."
        c.truncateAfter = 16
        c.penaltyReward = -1
        c.clipRangeReward = 0
        c.scaleReward = .none
        c.initKLCoefficient = 0.15
        c.target = 6
        c.horizon = 10_000
        c.valueCoefficient = 0.1
        c.entropyCoefficient = 0
        c.gamma = 1
        c.lambda = 0.95
        c.clipRange = 0.2
        c.clipRangeValue = 0.2
        c.whitenRewards = true
        c.epsilonPlacement = .tensorflow
        c.adamEpsilon = 1e-5
        c.gradientClip = 0
        return c
    }

    /// Iterations the learning-rate schedule spans: ⌈total_episodes / num_rollouts⌉, or `iterations`.
    public var scheduleIterations: Int {
        totalEpisodes.map { ($0 + numRollouts - 1) / max(numRollouts, 1) } ?? iterations
    }

    /// The KL controller the settings describe.
    public var klController: KLController { target.map { .adaptive(target: $0, horizon: horizon) } ?? .fixed }

    /// Checks ranges and names; the error names the field.
    /// - Throws: ``RunError`` (source "config") naming the field, or the fields that disagree.
    public func validate() throws {
        func fail(_ field: String, _ problem: String) throws -> Never { throw RunError.invalidSetting(field: field, source: "config", problem: problem) }
        if iterations < 0 { try fail("iterations", "must be ≥ 0") }
        if numRollouts < 1 { try fail("num_rollouts", "must be ≥ 1") }
        if chunkSize < 1 { try fail("chunk_size", "must be ≥ 1") }
        if numMiniBatches < 1 || numMiniBatches > numRollouts { try fail("num_mini_batches", "must be in 1...num_rollouts (\(numRollouts))") }
        if ppoEpochs < 1 { try fail("ppo_epochs", "must be ≥ 1") }
        let minibatch = numRollouts / numMiniBatches
        if gradientAccumulationSteps < 1 || gradientAccumulationSteps > minibatch {
            try fail("gradient_accumulation_steps", "is \(gradientAccumulationSteps); must be in 1...\(minibatch) (num_rollouts / num_mini_batches)")
        }
        if maxNewTokens < 1 { try fail("max_new_tokens", "must be ≥ 1") }
        if minNewTokens < 0 || minNewTokens > maxNewTokens {
            try fail("min_new_tokens", "is \(minNewTokens); must be in 0...max_new_tokens (\(maxNewTokens))")
        }
        if let truncateToken, truncateAfter >= maxNewTokens {
            throw RunError.conflictingSettings(fields: [.init("truncate_after", "\(truncateAfter)"), .init("max_new_tokens", "\(maxNewTokens)")], source: "config",
                                              problem: "with truncate_token '\(truncateToken)', truncate_after must be below max_new_tokens, or no response can be truncated and every one gets penalty_reward")
        }
        if truncateAfter < 0 { try fail("truncate_after", "must be ≥ 0") }
        if let totalEpisodes, totalEpisodes < 1 { try fail("total_episodes", "must be ≥ 1 (or null: the schedule spans `iterations`)") }
        if iterations > scheduleIterations {
            throw RunError.conflictingSettings(fields: [.init("iterations", "\(iterations)"), .init("total_episodes", "\(totalEpisodes ?? 0)"), .init("num_rollouts", "\(numRollouts)")],
                                              source: "config",
                                              problem: "the learning rate reaches 0 after ⌈total_episodes / num_rollouts⌉ = \(scheduleIterations) iterations; raise total_episodes, lower iterations, or set total_episodes to null")
        }
        try optimizer.validate()
        if let target, target <= 0 { try fail("target", "must be positive (or null for a fixed β)") }
        if horizon <= 0 { try fail("horizon", "must be positive") }
    }
}
