// PPO: GAE against a direct-sum reference, whitening, each loss by hand, the adaptive KL update,
// lm-human-preferences' truncation, ratio 1 before the first update, a tiny run that learns an
// uppercase reward with bounded KL, and exact resume.

import Foundation
import Kernels
import Alignment
import Models
import NN
import Tensors
import Testing
import Tokenizers

/// Characters with both cases, so that the uppercase reward has something to learn.
let mixedCase = CharacterTokenizer(corpus: " abcdeABCDE")

func tinyPolicy(vocabulary: Int = 11, seed: UInt64 = 5) -> GPT2LMHeadModel {
    GPT2LMHeadModel(GPT2Configuration(vocabularySize: vocabulary, positions: 32, embeddingDimension: 32, layers: 2, heads: 2,
                                      residualDropout: 0.1, embeddingDropout: 0.1, attentionDropout: 0.1,
                                      bosTokenId: nil, eosTokenId: nil), seed: seed)
}

func tinyPPOConfiguration(iterations: Int) -> PPOConfiguration {
    var c = PPOConfiguration()
    c.iterations = iterations
    c.numRollouts = 16
    c.chunkSize = 8
    c.numMiniBatches = 2
    c.ppoEpochs = 4
    c.maxNewTokens = 8
    c.learningRate = 3e-3
    c.schedule = .constant
    c.initKLCoefficient = 0.05
    c.target = 6
    c.horizon = 1000
    c.evalInterval = 2
    c.checkpointInterval = 2
    c.keepCheckpoints = 5
    c.seed = 11
    return c
}

/// A PPO trainer on a copy of the same tiny policy, with the uppercase reward.
func tinyPPOTrainer(_ configuration: PPOConfiguration, run: RunDirectory) throws -> PPOTrainer {
    let policy = ValueHeadModel(model: tinyPolicy())
    let valueModel = configuration.valueModel == .separate ? ValueHeadModel(model: tinyPolicy(seed: 8)) : nil
    return try PPOTrainer(policy: policy, valueModel: valueModel, reference: tinyPolicy(), tokenizer: mixedCase, reward: UppercaseFractionReward(),
                          prompts: ["ab", "cd", "e", "Ab", "dE", "a b", "c", "d"], evalPrompts: ["ab", "E"],
                          configuration: configuration, run: run)
}

@Suite("PPO")
struct PPOTests {
    @Test("GAE equals the direct sum A_t = Σ (γλ)^l δ_{t+l}, and returns = A + V")
    func gae() {
        let rewards: [Float] = [0.1, -0.2, 0.05, 1.3, -0.4]
        let values: [Float] = [0.5, 0.2, -0.1, 0.7, 0.3]
        let (gamma, lambda): (Float, Float) = (0.97, 0.9)
        let (advantages, returns) = generalizedAdvantageEstimation(rewards: rewards, values: values, gamma: gamma, lambda: lambda)
        for t in rewards.indices {
            var expected: Double = 0
            for l in 0..<(rewards.count - t) {
                let next = t + l + 1 < values.count ? Double(values[t + l + 1]) : 0
                let delta = Double(rewards[t + l]) + Double(gamma) * next - Double(values[t + l])
                expected += pow(Double(gamma * lambda), Double(l)) * delta
            }
            #expect(abs(Double(advantages[t]) - expected) < 1e-6)
            #expect(abs(returns[t] - (advantages[t] + values[t])) < 1e-7)
        }
    }

    @Test("whitening: mean 0 and biased variance 1; without shifting the mean, the mean is kept")
    func whitening() {
        let x: [Float] = [1, 2, 3, 4, 10]
        let w = whiten(x)
        let mean = w.reduce(0, +) / 5
        let variance = w.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 5
        #expect(abs(mean) < 1e-6 && abs(variance - 1) < 1e-5)
        let kept = whiten(x, shiftMean: false)
        #expect(abs(kept.reduce(0, +) / 5 - 4) < 1e-5)
        #expect(zip(kept, w).allSatisfy { abs($0 - $1 - 4) < 1e-5 })
    }

    @Test("clipped policy loss, clip fraction and approx KL by hand; a masked token changes nothing")
    func policyLoss() {
        // ratios 1, 1.5, 0.5 with advantages 1, 1, −1 and ε 0.2: max(−A·r, −A·clip(r)) = −1, −1.2, 0.8.
        let logProbabilities = Tensor(shape: [4], values: [0, Float(Foundation.log(1.5)), Float(Foundation.log(0.5)), 3])
        let result = ppoPolicyLoss(logProbabilities: logProbabilities, oldLogProbabilities: Tensor(zeros: [4]),
                                   advantages: Tensor(shape: [4], values: [1, 1, -1, 100]), mask: Tensor(shape: [4], values: [1, 1, 1, 0]),
                                   clipRange: 0.2)
        #expect(abs(result.policyLoss.item - (-1.4 / 3)) < 1e-6)
        #expect(abs(result.clipFraction - 2.0 / 3) < 1e-6)
        #expect(abs(result.approxKL - 0.10747583) < 1e-6)
    }

    @Test("clipped value loss ½·mean(max((v−R)², (clip(v, v_old±c)−R)²)) by hand")
    func valueLoss() {
        // clipped v = 1.0, 1.2, 0.3; losses max(0.25, 0.25), max(0.01, 0.81), max(2.25, 1.44) → ½·3.31/3.
        let result = ppoValueLoss(values: Tensor(shape: [3], values: [1, 2, 0]), oldValues: Tensor(shape: [3], values: [0.9, 1.0, 0.5]),
                                  returns: Tensor(shape: [3], values: [1.5, 2.1, 1.5]), mask: Tensor(shape: [3], values: [1, 1, 1]), clipRange: 0.2)
        #expect(abs(result.valueLoss.item - 0.55166667) < 1e-6)
        #expect(abs(result.clipFraction - 1.0 / 3) < 1e-6)
        #expect(abs(result.error - (0.25 + 0.01 + 2.25) / 3) < 1e-6)
    }

    @Test("adaptive KL: β·(1 + clip(KL/target − 1, ±0.2)·n/horizon); fixed stays")
    func klController() {
        let adaptive = KLController.adaptive(target: 6, horizon: 10_000)
        #expect(abs(adaptive.updated(0.15, kl: 9, steps: 512) - 0.151536) < 1e-12)
        #expect(abs(adaptive.updated(0.15, kl: 3, steps: 512) - 0.148464) < 1e-12)
        #expect(abs(adaptive.updated(0.15, kl: 6.6, steps: 512) - 0.150768) < 1e-12)
        #expect(KLController.fixed.updated(0.15, kl: 100, steps: 512) == 0.15)
    }

    @Test("truncation after the first stop token at index ≥ truncate_after; none found → the penalty marker")
    func truncation() {
        let tokens: [Int32] = [5, 9, 1, 9, 4, 9, 2]
        #expect(PPOTrainer.truncate(tokens, after: 2, at: 9) == ([5, 9, 1, 9], .cut(at: 3)))
        #expect(PPOTrainer.truncate(tokens, after: 0, at: 9) == ([5, 9], .cut(at: 1)))
        #expect(PPOTrainer.truncate(tokens, after: 6, at: 9) == (tokens, .noToken))
    }

    @Test("before the first update, π/π_old is 1 within 1e-5 and approx KL is 0 within 1e-7 on the first minibatch")
    func ratioStartsAtOne() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let trainer = try tinyPPOTrainer(tinyPPOConfiguration(iterations: 1), run: run)
        var state = TrainerState(generator: RandomGenerator(seed: 8))
        let rollouts = try trainer.rollout((0..<16).map { ["ab", "cd", "e", "Ab", "dE", "a b", "c", "d"][$0 % 8] }, klCoefficient: 0.1, state: &state)
        // The pass the update's loss takes, over a minibatch's rows, against the rollout's chunks.
        let first = Array(0..<8)
        let current = trainer.currentLogProbabilities(first, of: rollouts)
        let deviation = zip(current.flatMap { $0 }, first.flatMap { rollouts.logProbabilities[$0] }).map { abs(Foundation.exp($0 - $1) - 1) }
        #expect(!deviation.isEmpty && deviation.max()! < 1e-5)
        let update = trainer.update(rollouts, learningRate: 1e-3, orders: [Array(0..<16)])
        #expect(update.minibatches[0].approxKL < 1e-7)
    }

    @Test("a tiny policy learns the uppercase reward: objective/score rises while objective/kl stays bounded")
    func learnsUppercase() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        try tinyPPOTrainer(tinyPPOConfiguration(iterations: 16), run: run).train()
        let lines = try MetricsLog.read(run.metricsURL).filter { $0["objective/score"] != nil }
        let scores = lines.compactMap { $0["objective/score"] as? Double }
        let kls = lines.compactMap { $0["objective/kl"] as? Double }
        #expect(scores.count == 16)
        let first = scores.prefix(3).reduce(0, +) / 3, last = scores.suffix(3).reduce(0, +) / 3
        #expect(last > first + 0.2, "scores \(scores)")
        #expect(kls.allSatisfy { $0.isFinite && $0 < 25 }, "kl \(kls)")
        for name in ["objective/kl_coef", "objective/entropy", "objective/score_total", "ppo/loss/policy", "ppo/loss/value", "ppo/loss/total",
                     "ppo/policy/entropy", "ppo/policy/approxkl", "ppo/policy/clipfrac", "ppo/returns/mean", "ppo/returns/var",
                     "ppo/val/vpred", "ppo/val/error", "ppo/val/clipfrac", "ppo/val/mean", "ppo/val/var", "ppo/val/var_explained"] {
            #expect(lines.allSatisfy { $0[name] != nil }, "\(name)")
        }
        let samples = try String(contentsOf: run.samplesURL, encoding: .utf8).split(separator: "\n")
        #expect(samples.count == 2 * 9)  // 2 eval prompts at iterations 0, 2, 4, …, 16
    }

    @Test("a crash after iteration 3 and a resume from iteration 2 give the uninterrupted metrics.jsonl (but wall-clock keys) and samples.jsonl",
          arguments: [ValueModelPlacement.shared, .separate])
    func resume(valueModel: ValueModelPlacement) throws {
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        var configuration = tinyPPOConfiguration(iterations: 5)
        configuration.valueModel = valueModel
        configuration.scaleReward = .running
        configuration.truncateToken = "a"
        configuration.truncateAfter = 2
        try tinyPPOTrainer(configuration, run: whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try tinyPPOTrainer(configuration, run: crashed).train { if $0.iteration == 3 { throw Crash() } }
        }
        #expect(crashed.newestCheckpoint()?.step == 2)
        let state = try tinyPPOTrainer(configuration, run: crashed).train(resume: true)
        #expect(state.step == 5 && state.klCoefficient != configuration.initKLCoefficient)
        // Every line equal, apart from the wall-clock keys (elapsed/fps, elapsed/seconds, elapsed/time);
        // elapsed/updates, episodes and steps/total must resume exactly too.
        func withoutTimes(_ run: RunDirectory) throws -> [String] {
            try String(contentsOf: run.metricsURL, encoding: .utf8).split(separator: "\n").map { line in
                line.split(separator: ",").filter { field in
                    !["\"elapsed/fps\"", "\"elapsed/seconds\"", "\"elapsed/time\""].contains { field.contains($0) }
                }.joined(separator: ",")
            }
        }
        let expected = try withoutTimes(whole)
        #expect(expected.count == 6 && expected[1].contains("objective/kl_coef") && expected[3].contains("\"elapsed/steps/total\""))
        #expect(try withoutTimes(crashed) == expected)
        #expect(try String(contentsOf: whole.metricsURL, encoding: .utf8).contains("\"elapsed/fps\""))
        #expect(try String(contentsOf: crashed.samplesURL, encoding: .utf8) == String(contentsOf: whole.samplesURL, encoding: .utf8))
        // The final checkpoint loads as a TRL value-head model.
        let reloaded = try ValueHeadModel.load(from: whole.finalURL)
        #expect(reloaded.namedParameters().contains { $0.name == "v_head.summary.weight" })
        #expect(FileManager.default.fileExists(atPath: whole.finalURL.appendingPathComponent("value_model/model.safetensors").path) == (valueModel == .separate))
    }

    @Test("the lm-human-preferences preset sets its defaults; the file and overrides still win; reward specs are checked")
    func presetAndSpecifications() throws {
        let (_, ppo, _) = try PPOJob.resolve(file: nil, overrides: ["--model", "m", "--prompts", "p.txt", "--reward", "uppercase",
                                                                    "--preset", "lm_human_preferences_sentiment", "--temperature", "0.9"])
        #expect(ppo.numRollouts == 512 && ppo.maxNewTokens == 24 && ppo.initKLCoefficient == 0.15 && ppo.target == 6)
        #expect(ppo.horizon == 10_000 && ppo.valueCoefficient == 0.1 && ppo.learningRate == 1e-5 && ppo.epsilonPlacement == .tensorflow)
        #expect(ppo.temperature == 0.9)
        let (_, plain, _) = try PPOJob.resolve(file: nil, overrides: ["--model", "m", "--prompts", "p.txt", "--reward", "uppercase", "--target", "null"])
        #expect(plain.numRollouts == 64 && plain.target == nil && plain.klController == .fixed)
        #expect(throws: RunError.invalidChoice(field: "preset", source: "command line", value: "best", choices: ["none", "lm_human_preferences_sentiment"])) {
            try PPOJob.resolve(file: nil, overrides: ["--model", "m", "--prompts", "p", "--reward", "u", "--preset", "best"])
        }
        #expect(throws: RunError.missingField(name: "reward", source: "command line", expected: nil)) {
            try PPOJob.resolve(file: nil, overrides: ["--model", "m", "--prompts", "p"])
        }
        #expect(try RewardSpecification.make("uppercase", tokenizer: mixedCase) is UppercaseFractionReward)
        #expect(try RewardSpecification.make("regex:^A", tokenizer: mixedCase) is RegexReward)
        // RewardSpecification's own errors are still RunError's generic case (`failed`): match the type and the field.
        for bad in ["length:x", "classifier:dir", "sentiment"] {
            let error = try #require(throws: RunError.self, "\(bad)") { try RewardSpecification.make(bad, tokenizer: mixedCase) }
            #expect(error.location == "config" && error.message.hasPrefix("field 'reward'"), "\(error)")
        }
        let missing = try #require(throws: CheckpointError.self) { try RewardSpecification.make("model:/nonexistent", tokenizer: mixedCase) }
        if case .missingFile(path: "/nonexistent/config.json", _) = missing {} else { Issue.record("\(missing)") }
    }

    @Test("bad settings are errors naming the field")
    func errors() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = tinyPPOConfiguration(iterations: 1)
        configuration.numMiniBatches = 40
        #expect(throws: RunError.invalidSetting(field: "num_mini_batches", source: "config", problem: "must be in 1...num_rollouts (16)")) {
            try tinyPPOTrainer(configuration, run: run)
        }
        configuration = tinyPPOConfiguration(iterations: 1)
        configuration.truncateToken = "ab"
        configuration.truncateAfter = 2  // below max_new_tokens, so the settings agree and the token itself is checked
        let truncation = try #require(throws: RunError.self) { try tinyPPOTrainer(configuration, run: run) }
        if case .invalidSetting(field: "truncate_token", source: "config", _) = truncation {} else { Issue.record("\(truncation)") }
        configuration = tinyPPOConfiguration(iterations: 1)
        configuration.maxNewTokens = 32
        let length = try #require(throws: RunError.self) { try tinyPPOTrainer(configuration, run: run) }
        if case .invalidSetting(field: "max_new_tokens", source: "config", _) = length {} else { Issue.record("\(length)") }
    }
}
