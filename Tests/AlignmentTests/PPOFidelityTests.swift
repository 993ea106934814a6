// PPO's details as openai/lm-human-preferences has them, each guarded: the value head starts at
// zero, the sentiment preset is OAI's run, sampling past EOS, the renormalized distribution
// under a banned EOS, a padded vocabulary, OAI's diagnostics, the truncation and penalty, the
// score on the last token, per-minibatch reward whitening, a fresh permutation per epoch.

import Foundation
import Alignment
import Kernels
import Models
import NN
import Tensors
import Testing
import Tokenizers

/// A tiny policy whose EOS is an ordinary character id (so EOS is drawn often).
func tinyPolicyWithEOS(_ eos: Int, vocabulary: Int = 11, seed: UInt64 = 5) -> GPT2LMHeadModel {
    GPT2LMHeadModel(GPT2Configuration(vocabularySize: vocabulary, positions: 32, embeddingDimension: 32, layers: 2, heads: 2,
                                      residualDropout: 0, embeddingDropout: 0, attentionDropout: 0,
                                      bosTokenId: nil, eosTokenId: eos), seed: seed)
}

/// log softmax(logits/T)[token] computed in Double from a plain forward pass, over ids < `limit`,
/// leaving out `banned` at response indices below `bannedBefore`: what the sampler drew from.
func independentLogProbabilities(_ model: GPT2LMHeadModel, prompt: [Int32], response: [Int32], temperature: Double,
                                 limit: Int, banned: Int? = nil, bannedBefore: Int = 0) -> [Double] {
    let ids = prompt + response
    let logits = withNoGrad { model(IndexTensor(shape: [1, ids.count], values: ids)) }
    let V = logits.shape[2]
    let all = logits.scalars
    return response.indices.map { j in
        let row = (prompt.count - 1 + j) * V
        let allowed = (0..<limit).filter { !(j < bannedBefore && $0 == banned) }
        let x = allowed.map { Double(all[row + $0]) / temperature }
        let m = x.max()!
        let lse = m + Foundation.log(x.reduce(0) { $0 + Foundation.exp($1 - m) })
        return Double(all[row + Int(response[j])]) / temperature - lse
    }
}

@Suite("PPO fidelity")
struct PPOFidelityTests {
    @Test("a fresh value head (shared or a separate value model) predicts exactly 0: ppo/val/vpred of the first minibatch is 0",
          arguments: [ValueModelPlacement.shared, .separate])
    func valueHeadStartsAtZero(valueModel: ValueModelPlacement) throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = tinyPPOConfiguration(iterations: 1)
        configuration.valueModel = valueModel
        let trainer = try tinyPPOTrainer(configuration, run: run)
        var state = TrainerState(generator: RandomGenerator(seed: 8))
        let rollouts = try trainer.rollout(["ab", "cd", "e", "Ab", "dE", "a b", "c", "d"], klCoefficient: 0.1, state: &state)
        let update = trainer.update(rollouts, learningRate: 1e-3, generator: &state.generator)
        let first = try #require(update.minibatches.first)
        #expect(first.valuePrediction == 0)
        #expect(first.valuesMean == 0 && first.valuesVariance == 0)  // the rollout's values: all 0 too
        #expect(update.minibatches.dropFirst().contains { $0.valuePrediction != 0 })  // and the head does learn
    }

    @Test("the lm_human_preferences_sentiment preset is OAI's launch.py sentiment run, field by field")
    func presetFields() throws {
        let c = PPOConfiguration.lmHumanPreferencesSentiment
        // (YAML field, preset value, OAI's) from launch.py (`sentiment`, `books_task`) and train_policy.py's defaults.
        let numbers: [(String, Double, Double)] = [
            ("num_rollouts", Double(c.numRollouts), 512), ("num_mini_batches", Double(c.numMiniBatches), 1),
            ("ppo_epochs", Double(c.ppoEpochs), 4), ("learning_rate", Double(c.learningRate), 1e-5),
            ("total_episodes", Double(c.totalEpisodes ?? -1), 1_000_000), ("iterations", Double(c.iterations), 1_954),
            ("init_kl_coef", c.initKLCoefficient, 0.15), ("target", c.target ?? -1, 6), ("horizon", c.horizon, 10_000),
            ("vf_coef", Double(c.valueCoefficient), 0.1), ("cliprange", Double(c.clipRange), 0.2),
            ("cliprange_value", Double(c.clipRangeValue), 0.2), ("gamma", Double(c.gamma), 1), ("lam", Double(c.lambda), 0.95),
            ("temperature", Double(c.temperature), 0.7), ("top_k", Double(c.topK), 0), ("top_p", Double(c.topP), 1),
            ("max_new_tokens", Double(c.maxNewTokens), 24), ("min_new_tokens", Double(c.minNewTokens), 0),
            ("truncate_after", Double(c.truncateAfter), 16), ("penalty_reward", Double(c.penaltyReward), -1),
            ("cliprange_reward", Double(c.clipRangeReward), 0), ("adam_eps", Double(c.adamEpsilon), 1e-5),
            ("grad_clip", Double(c.gradientClip), 0), ("ent_coef", Double(c.entropyCoefficient), 0),
        ]
        for (field, value, oai) in numbers { #expect(abs(value - oai) <= 1e-6 * max(1, abs(oai)), "\(field): \(value), OAI \(oai)") }
        let choices: [(String, String, String)] = [
            ("schedule", c.schedule.rawValue, "linear"), ("truncate_token", c.truncateToken ?? "", "."), ("scale_reward", c.scaleReward.rawValue, "none"),
            ("eps_placement", c.epsilonPlacement.rawValue, "tensorflow"), ("whiten_rewards", "\(c.whitenRewards)", "true"),
            ("stop_at_eos", "\(c.stopAtEndOfSequence)", "false"),
        ]
        for (field, value, oai) in choices { #expect(value == oai, "\(field): \(value), OAI \(oai)") }
        let preset = PPOConfiguration.lmHumanPreferencesSentiment
        #expect(preset.scheduleIterations == 1_954)  // lr decays over OAI's ⌈1e6/512⌉ updates
        // One optimizer step per minibatch: 512 rollouts in one minibatch (8 accumulated passes) × 4 epochs.
        #expect(preset.numRollouts / preset.numMiniBatches == 512 && preset.gradientAccumulationSteps == 8)
    }

    @Test("under the preset an iteration takes ppo_epochs optimizer steps, every response has 24 tokens, and the schedule spans 1,954 iterations")
    func presetSteps() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let tokenizer = CharacterTokenizer(corpus: " abcdeABCDE.")
        var configuration = PPOConfiguration.lmHumanPreferencesSentiment
        configuration.iterations = 2
        configuration.evalInterval = 0
        let trainer = try PPOTrainer(policy: ValueHeadModel(model: tinyPolicyWithEOS(11, vocabulary: 12)),
                                     reference: tinyPolicyWithEOS(11, vocabulary: 12), tokenizer: tokenizer,
                                     reward: UppercaseFractionReward(), prompts: ["ab", "cd", "e", "Ab", "dE", "a b", "c", "d"],
                                     configuration: configuration, run: run)
        try trainer.train()
        #expect(trainer.optimizerSteps == 2 * configuration.ppoEpochs)
        let lines = try MetricsLog.read(run.metricsURL).filter { $0["objective/score"] != nil }
        let rates = lines.compactMap { $0["ppo/learning_rate"] as? Double }
        #expect(rates.count == 2 && abs(rates[0] - 1e-5) < 1e-12 && abs(rates[1] - 1e-5 * (1 - 1.0 / 1954)) < 1e-12)
        #expect(lines.allSatisfy { ($0["elapsed/steps/total"] as? Double).map { $0.truncatingRemainder(dividingBy: 512 * 24) == 0 } ?? false })
    }

    @Test("stop_at_eos false samples past EOS: every response has max_new_tokens tokens and EOS occurs inside them")
    func samplesPastEndOfSequence() throws {
        var configuration = tinyPPOConfiguration(iterations: 1)
        configuration.chunkSize = 16
        let policy = tinyPolicyWithEOS(3)
        let prompts = (0..<32).map { ["ab", "cd", "e", "Ab"][$0 % 4] }
        for stop in [true, false] {
            configuration.stopAtEndOfSequence = stop
            let sampler = try PolicySampler(configuration: configuration, tokenizer: mixedCase, modelConfiguration: policy.configuration)
            var generator = RandomGenerator(seed: 1)
            let sampled = try sampler.sample(policy, prompts: prompts, generator: &generator)
            let lengths = sampled.responseTokens.map(\.count)
            if stop {
                #expect(lengths.contains { $0 < configuration.maxNewTokens })
                #expect(sampled.responseTokens.allSatisfy { !$0.dropLast().contains(3) })
            } else {
                #expect(lengths.allSatisfy { $0 == configuration.maxNewTokens })
                #expect(sampled.responseTokens.contains { $0.dropLast().contains(3) })
            }
        }
    }

    @Test("with EOS banned before min_new_tokens, the sampler's and the training pass's log-probs are those of the renormalized distribution it drew from, at temperature 0.7")
    func bannedEndOfSequence() throws {
        var configuration = tinyPPOConfiguration(iterations: 1)
        configuration.minNewTokens = 5
        configuration.temperature = 0.7
        let policy = tinyPolicyWithEOS(3)
        let sampler = try PolicySampler(configuration: configuration, tokenizer: mixedCase, modelConfiguration: policy.configuration)
        var generator = RandomGenerator(seed: 2)
        let prompts = ["ab", "cd", "e", "Ab", "dE", "a b", "c", "d"]
        let sampled = try sampler.sample(policy, prompts: prompts, generator: &generator)
        let recomputed = sampler.logProbabilities(policy, of: sampled)
        var generationGenerator = RandomGenerator(seed: 2)
        let generated = try generate(policy, prompts: sampled.promptTokens.map { $0.map(Int.init) },
                                     configuration: GenerationConfiguration(maxNewTokens: 8, minNewTokens: 5,
                                                                            sampling: SamplingConfiguration(temperature: 0.7),
                                                                            endOfSequenceTokenId: 3),
                                     generator: &generationGenerator)
        var renormalizedSomewhere = false
        for b in prompts.indices {
            let response = sampled.responseTokens[b]
            #expect(generated[b].tokens.map { Int32($0) } == response)
            #expect(!response.prefix(5).contains(3))
            let expected = independentLogProbabilities(policy, prompt: sampled.promptTokens[b], response: response, temperature: 0.7,
                                                       limit: 11, banned: 3, bannedBefore: 5)
            let unbanned = independentLogProbabilities(policy, prompt: sampled.promptTokens[b], response: response, temperature: 0.7, limit: 11)
            let atOne = independentLogProbabilities(policy, prompt: sampled.promptTokens[b], response: response, temperature: 1, limit: 11)
            for j in response.indices {
                #expect(abs(Double(recomputed[b][j]) - expected[j]) < 1e-5, "row \(b) token \(j)")
                #expect(abs(Double(generated[b].logProbabilities[j]) - expected[j]) < 1e-5, "generation row \(b) token \(j)")
                if j < 5 && abs(expected[j] - unbanned[j]) > 1e-3 { renormalizedSomewhere = true }
                #expect(abs(expected[j] - atOne[j]) > 1e-6)  // T = 0.7 is not T = 1
            }
        }
        #expect(renormalizedSomewhere)
        // The training pass (π_old and π) agrees: before any update π/π_old = 1 and approx KL 0.
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let trainer = try PPOTrainer(policy: ValueHeadModel(model: tinyPolicyWithEOS(3)), reference: tinyPolicyWithEOS(3),
                                     tokenizer: mixedCase, reward: UppercaseFractionReward(), prompts: prompts, configuration: configuration, run: run)
        var state = TrainerState(generator: RandomGenerator(seed: 2))
        let rollouts = try trainer.rollout(prompts, klCoefficient: 0.1, state: &state)
        for b in prompts.indices {
            let expected = independentLogProbabilities(policy, prompt: rollouts.promptTokens[b], response: rollouts.responseTokens[b],
                                                       temperature: 0.7, limit: 11, banned: 3, bannedBefore: 5)
            #expect(zip(rollouts.logProbabilities[b], expected).allSatisfy { abs(Double($0) - $1) < 1e-5 })
            #expect(zip(rollouts.logProbabilities[b], rollouts.referenceLogProbabilities[b]).allSatisfy { abs($0 - $1) < 1e-6 })
        }
    }

    @Test("ids beyond the tokenizer's (a padded embedding matrix) are never sampled, and log-probs are over the tokenizer's ids")
    func paddedVocabulary() throws {
        let policy = GPT2LMHeadModel(GPT2Configuration(vocabularySize: 16, positions: 32, embeddingDimension: 32, layers: 2, heads: 2,
                                                       residualDropout: 0, embeddingDropout: 0, attentionDropout: 0,
                                                       bosTokenId: nil, eosTokenId: nil), seed: 9)
        let configuration = tinyPPOConfiguration(iterations: 1)
        let sampler = try PolicySampler(configuration: configuration, tokenizer: mixedCase, modelConfiguration: policy.configuration)
        #expect(sampler.vocabularyLimit == 11)
        var generator = RandomGenerator(seed: 4)
        let prompts = (0..<24).map { ["ab", "cd", "e", "Ab"][$0 % 4] }
        let sampled = try sampler.sample(policy, prompts: prompts, generator: &generator)
        #expect(sampled.responseTokens.allSatisfy { $0.allSatisfy { $0 < 11 } })
        let recomputed = sampler.logProbabilities(policy, of: sampled)
        for b in 0..<4 {
            let expected = independentLogProbabilities(policy, prompt: sampled.promptTokens[b], response: sampled.responseTokens[b],
                                                       temperature: 1, limit: 11)
            #expect(zip(recomputed[b], expected).allSatisfy { abs(Double($0) - $1) < 1e-5 })
        }
    }

    @Test("OAI's diagnostics: var_explained = 1 − val/error / returns/var of the averaged statistics; elapsed/updates, episodes, steps/total, fps in tokens/s, cumulative time")
    func diagnostics() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let configuration = tinyPPOConfiguration(iterations: 3)
        try tinyPPOTrainer(configuration, run: run).train()
        let lines = try MetricsLog.read(run.metricsURL).filter { $0["objective/score"] != nil }
        #expect(lines.count == 3)
        var previousTime = 0.0
        for (index, line) in lines.enumerated() {
            func value(_ key: String) throws -> Double { try #require(line[key] as? Double, "\(key)") }
            let iteration = Double(index + 1)
            #expect(abs(try value("ppo/val/var_explained") - (1 - (try value("ppo/val/error")) / (try value("ppo/returns/var")))) < 1e-9)
            #expect(try value("elapsed/updates") == iteration)
            #expect(try value("elapsed/episodes") == iteration * 16)
            #expect(try value("elapsed/steps/total") == iteration * 16 * 8)  // no EOS: 8 tokens per response
            #expect(abs((try value("elapsed/fps")) * (try value("elapsed/seconds")) - 16 * 8) < 1e-6)
            let time = try value("elapsed/time")
            #expect(time >= previousTime + (try value("elapsed/seconds")) - 1e-9)
            previousTime = time
        }
    }

    @Test("truncation: the reward scores the cut text, a response with no truncate token gets the penalty, KL and the update see the whole response, and the score lands on its last token")
    func truncationAndRewards() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = tinyPPOConfiguration(iterations: 1)
        configuration.truncateToken = "a"
        configuration.truncateAfter = 3
        configuration.penaltyReward = -0.75
        configuration.clipRangeReward = 0
        let trainer = try tinyPPOTrainer(configuration, run: run)
        var state = TrainerState(generator: RandomGenerator(seed: 6))
        let prompts = (0..<16).map { ["ab", "cd", "e", "Ab"][$0 % 4] }
        let beta = 0.2
        let rollouts = try trainer.rollout(prompts, klCoefficient: beta, state: &state)
        let a = Int32(mixedCase.encode("a")[0])
        var penalized = 0, cut = 0
        for b in prompts.indices {
            let tokens = rollouts.responseTokens[b]
            #expect(tokens.count == 8 && rollouts.logProbabilities[b].count == 8 && rollouts.referenceLogProbabilities[b].count == 8)
            let (kept, truncation) = PPOTrainer.truncate(tokens, after: 3, at: a)
            #expect(rollouts.responses[b] == mixedCase.decode(kept.map(Int.init)))
            let expectedScore = truncation == .noToken ? -0.75 : try UppercaseFractionReward().rewards(prompts: [prompts[b]], responses: [rollouts.responses[b]])[0]
            #expect(abs(rollouts.scores[b] - expectedScore) < 1e-6)
            if truncation == .noToken { penalized += 1 } else if kept.count < tokens.count { cut += 1 }
            // r_t = −β·(log π − log π_ref) on every token of the whole response, plus the score on the last one.
            for t in tokens.indices {
                let kl = -Float(beta) * (rollouts.logProbabilities[b][t] - rollouts.referenceLogProbabilities[b][t])
                #expect(abs(rollouts.rewards[b][t] - (t == tokens.count - 1 ? kl + rollouts.scores[b] : kl)) < 1e-6)
            }
        }
        #expect(penalized > 0 && cut > 0, "penalized \(penalized), cut \(cut)")
        let shaped = PPOTrainer.shapedRewards(logProbabilities: [[-1, -2, -0.5]], referenceLogProbabilities: [[-1.5, -1, -0.5]],
                                              scores: [2], klCoefficient: 0.1)
        #expect(zip(shaped[0], [-0.05, 0.1, 2] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test("rewards are whitened per minibatch as the trainer wires it, and each epoch gets a fresh permutation")
    func perMinibatchWhiteningAndPermutations() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = tinyPPOConfiguration(iterations: 1)
        configuration.ppoEpochs = 3
        let trainer = try tinyPPOTrainer(configuration, run: run)
        var state = TrainerState(generator: RandomGenerator(seed: 8))
        let prompts = (0..<16).map { ["ab", "cd", "e", "Ab", "dE", "a b", "c", "d"][$0 % 8] }
        let rollouts = try trainer.rollout(prompts, klCoefficient: 0.1, state: &state)
        var generator = RandomGenerator(seed: 12)
        let update = trainer.update(rollouts, learningRate: 1e-3, generator: &generator)
        let orders = update.orders
        #expect(orders.count == 3 && orders.allSatisfy { $0.sorted() == Array(0..<16) })
        #expect(Set(orders.map { $0.description }).count == 3)
        // The first minibatch's returns, from its own rows' rewards whitened together (mean kept).
        func returnsMean(_ rows: [Int], whitenOver pool: [Int]) -> Double {
            let pooled = whiten(pool.flatMap { rollouts.rewards[$0] }, shiftMean: false)
            var offset = 0, lookup: [Int: [Float]] = [:]
            for row in pool { lookup[row] = Array(pooled[offset..<(offset + rollouts.rewards[row].count)]); offset += rollouts.rewards[row].count }
            let returns = rows.flatMap { generalizedAdvantageEstimation(rewards: lookup[$0]!, values: rollouts.values[$0], gamma: 1, lambda: 0.95).returns }
            return returns.reduce(0.0) { $0 + Double($1) } / Double(returns.count)
        }
        let first = Array(orders[0][0..<8])
        let perMinibatch = returnsMean(first, whitenOver: first), wholeBatch = returnsMean(first, whitenOver: Array(0..<16))
        #expect(abs(update.minibatches[0].returnsMean - perMinibatch) < 1e-5)
        #expect(abs(perMinibatch - wholeBatch) > 1e-4)
    }

    @Test("inconsistent settings name both fields")
    func inconsistentSettings() throws {
        var configuration = PPOConfiguration.lmHumanPreferencesSentiment
        configuration.maxNewTokens = 16
        let truncation = try #require(throws: RunError.self) { try configuration.validate() }
        if case let .conflictingSettings(fields, "config", _) = truncation {
            #expect(fields == [.init("truncate_after", "16"), .init("max_new_tokens", "16")])
        } else { Issue.record("\(truncation)") }
        configuration = PPOConfiguration.lmHumanPreferencesSentiment
        configuration.gradientAccumulationSteps = 1024
        #expect(throws: RunError.invalidSetting(field: "gradient_accumulation_steps", source: "config",
                                                problem: "is 1024; must be in 1...512 (num_rollouts / num_mini_batches)")) { try configuration.validate() }
        configuration = PPOConfiguration.lmHumanPreferencesSentiment
        configuration.minNewTokens = 30
        #expect(throws: RunError.invalidSetting(field: "min_new_tokens", source: "config", problem: "is 30; must be in 0...max_new_tokens (24)")) {
            try configuration.validate()
        }
        // Overriding the preset into inconsistency through the job is refused too.
        let overridden = try #require(throws: RunError.self) {
            try PPOJob.resolve(file: nil, overrides: ["--model", "m", "--prompts", "p.txt", "--reward", "uppercase",
                                                      "--preset", "lm_human_preferences_sentiment", "--truncate_after", "24"])
        }
        if case let .conflictingSettings(fields, "config", _) = overridden {
            #expect(fields == [.init("truncate_after", "24"), .init("max_new_tokens", "24")])
        } else { Issue.record("\(overridden)") }
    }
}
