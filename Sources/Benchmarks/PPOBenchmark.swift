// `rlhf bench --only ppo_iteration`: seconds per PPO iteration at the fixed tiny shape —
// a GPT-2-vocabulary policy (4 layers, 4 heads, 256 dims) with a value head, a reward model of
// the same size, 32 rollouts of 32 prompt + 32 new tokens, 4 epochs of updates — random weights.

import Alignment
import Foundation
import Kernels
import Models
import NN
import Tensors
import Tokenizers

/// The PPO iteration benchmark.
public enum PPOBenchmark {
    /// Runs 3 iterations (2 with `tiny`) and reports the median iteration and its phases.
    /// - Parameters:
    ///   - tokenizer: the GPT-2 tokenizer (the reward model scores text, as in real runs).
    ///   - tiny: a 2-layer 32-dim model with 4 rollouts of 8 + 8 tokens, for tests.
    public static func run(tokenizer: any Tokenizer, tiny: Bool = false) throws -> BenchmarkRecord {
        let (rollouts, promptLength, newTokens) = tiny ? (4, 8, 8) : (32, 32, 32)
        let configuration = tiny
            ? GPT2Configuration(vocabularySize: tokenizer.vocabularySize, positions: 32, embeddingDimension: 32, layers: 2, heads: 2)
            : GPT2Configuration(vocabularySize: tokenizer.vocabularySize, positions: 128, embeddingDimension: 256, layers: 4, heads: 4)
        let policy = ValueHeadModel(model: GPT2LMHeadModel(configuration, seed: 1))
        let reference = GPT2LMHeadModel(configuration, seed: 1)
        let rewardModel = RewardModel(classifier: SequenceClassifier(gpt2: configuration, labels: 1, seed: 3),
                                      tokenizer: tokenizer, head: RewardHead(maxLength: configuration.positions))
        var generator = RandomGenerator(seed: 9)
        let prompts = (0..<rollouts).map { _ in
            tokenizer.decode((0..<promptLength).map { _ in generator.nextInt(below: 50000) })
        }
        var ppo = PPOConfiguration()
        ppo.iterations = tiny ? 2 : 3
        ppo.numRollouts = rollouts
        ppo.chunkSize = rollouts
        ppo.numMiniBatches = tiny ? 2 : 4
        ppo.ppoEpochs = 4
        ppo.maxNewTokens = newTokens
        ppo.minNewTokens = newTokens
        ppo.evalInterval = 0
        ppo.checkpointInterval = 1000
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-bench-ppo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try PPOTrainer(policy: policy, reference: reference, tokenizer: tokenizer, reward: LearnedReward(model: rewardModel),
                                     prompts: prompts, configuration: ppo, run: RunDirectory(root: folder))
        var iterations: [(Double, [String: Double])] = []
        try trainer.train { progress in iterations.append((progress.seconds, trainer.lastTimings)) }
        let sorted = iterations.sorted { $0.0 < $1.0 }
        let (seconds, phases) = sorted[sorted.count / 2]
        return BenchmarkRecord(name: "ppo_iteration", fields: [
            ("rollouts", .integer(rollouts)), ("prompt_tokens", .integer(promptLength)), ("new_tokens", .integer(newTokens)),
            ("layers", .integer(configuration.layers)), ("embedding", .integer(configuration.embeddingDimension)),
            ("vocabulary", .integer(configuration.vocabularySize)), ("ppo_epochs", .integer(ppo.ppoEpochs)),
            ("minibatches", .integer(ppo.numMiniBatches)), ("seconds_per_iteration", .number(seconds)),
            ("generate_s", .number(phases["generate"] ?? 0)), ("score_s", .number(phases["score"] ?? 0)),
            ("forward_s", .number(phases["forward"] ?? 0)), ("update_s", .number(phases["update"] ?? 0)),
            ("iterations_measured", .integer(iterations.count)),
        ])
    }
}
