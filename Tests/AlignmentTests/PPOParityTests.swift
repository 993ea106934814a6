// One PPO iteration against an independent reference: scripts/reference/ppo_reference.py (PyTorch,
// float64, written from lm-human-preferences' formulas) took fixed rollouts of a tiny random GPT-2
// with a value head, ran 2 epochs × 2 minibatches with given permutations and TensorFlow-style
// Adam, and dumped every statistic and the updated parameters (Fixtures/ppo-reference/). The
// trainer, fed the same rollouts and permutations, matches them.

import Foundation
import Kernels
import Alignment
import Models
import NN
import Tensors
import Testing
import Tokenizers

@Suite("PPO parity with an independent reference")
struct PPOParityTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ppo-reference")

    struct Reference {
        let queries: [[Int32]], responses: [[Int32]]
        let oldLogProbabilities: [[Float]], referenceLogProbabilities: [[Float]], values: [[Float]], scores: [Float]
        let permutations: [[Int]]
        let hyperparameters: [String: Any]
        let stats: [String: Double]
        let minibatchStats: [[String: Double]]

        init() throws {
            let data = try Data(contentsOf: PPOParityTests.fixture.appendingPathComponent("rollouts.json"))
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            func ints(_ key: String) throws -> [[Int32]] { try #require(json[key] as? [[Int]]).map { $0.map(Int32.init) } }
            func floats(_ key: String) throws -> [[Float]] { try #require(json[key] as? [[Double]]).map { $0.map(Float.init) } }
            queries = try ints("queries")
            responses = try ints("responses")
            oldLogProbabilities = try floats("old_logprobs")
            referenceLogProbabilities = try floats("ref_logprobs")
            values = try floats("values")
            scores = try #require(json["scores"] as? [Double]).map(Float.init)
            permutations = try #require(json["permutations"] as? [[Int]])
            hyperparameters = try #require(json["hyperparameters"] as? [String: Any])
            stats = try #require(json["stats"] as? [String: Double])
            minibatchStats = try #require(json["minibatch_stats"] as? [[String: Double]])
        }

        func double(_ key: String) throws -> Double { try #require(hyperparameters[key] as? Double) }
    }

    /// The trainer over the fixture's starting checkpoint, configured as the reference was.
    static func trainer(_ reference: Reference, accumulation: Int) throws -> PPOTrainer {
        let policy = try ValueHeadModel.load(from: fixture)
        let frozen = try GPT2LMHeadModel.load(from: fixture)
        // 37 distinct characters: a tokenizer whose ids cover the model's vocabulary (nothing is sampled).
        let tokenizer = CharacterTokenizer(corpus: "abcdefghijklmnopqrstuvwxyz0123456789.")
        var c = PPOConfiguration()
        c.numRollouts = reference.queries.count
        c.numMiniBatches = try #require(reference.hyperparameters["num_mini_batches"] as? Int)
        c.ppoEpochs = try #require(reference.hyperparameters["ppo_epochs"] as? Int)
        c.gradientAccumulationSteps = accumulation
        c.maxNewTokens = reference.responses[0].count
        c.initKLCoefficient = try reference.double("kl_coef")
        c.gamma = Float(try reference.double("gamma"))
        c.lambda = Float(try reference.double("lam"))
        c.clipRange = Float(try reference.double("cliprange"))
        c.clipRangeValue = Float(try reference.double("cliprange_value"))
        c.valueCoefficient = Float(try reference.double("vf_coef"))
        c.whitenRewards = try #require(reference.hyperparameters["whiten_rewards"] as? Bool)
        c.temperature = Float(try reference.double("temperature"))
        c.learningRate = Float(try reference.double("learning_rate"))
        c.beta1 = Float(try reference.double("beta1"))
        c.beta2 = Float(try reference.double("beta2"))
        c.adamEpsilon = Float(try reference.double("adam_eps"))
        c.epsilonPlacement = try #require(AdamEpsilonPlacement(rawValue: reference.hyperparameters["eps_placement"] as? String ?? ""))
        c.schedule = .constant
        c.clipRangeReward = 0
        let run = try temporaryRun()
        return try PPOTrainer(policy: policy, reference: frozen, tokenizer: tokenizer, reward: UppercaseFractionReward(),
                              prompts: ["unused"], configuration: c, run: run)
    }

    static func rollouts(_ reference: Reference, klCoefficient: Double) -> PPORollouts {
        let n = reference.queries.count
        return PPORollouts(prompts: Array(repeating: "", count: n), promptTokens: reference.queries, responseTokens: reference.responses,
                           responses: Array(repeating: "", count: n), scores: reference.scores, rawScores: reference.scores,
                           logProbabilities: reference.oldLogProbabilities, referenceLogProbabilities: reference.referenceLogProbabilities,
                           values: reference.values,
                           rewards: PPOTrainer.shapedRewards(logProbabilities: reference.oldLogProbabilities,
                                                             referenceLogProbabilities: reference.referenceLogProbabilities,
                                                             scores: reference.scores, klCoefficient: klCoefficient))
    }

    @Test("every ppo/* statistic within 1e-5 and every updated parameter within 1e-5 relative; one pass, or 2 or 3 accumulated passes per minibatch (3: parts of 1, 1 and 2 rows)",
          arguments: [1, 2, 3])
    func oneIteration(accumulation: Int) throws {
        let reference = try Reference()
        let trainer = try Self.trainer(reference, accumulation: accumulation)
        defer { try? FileManager.default.removeItem(at: trainer.run.root) }
        let update = trainer.update(Self.rollouts(reference, klCoefficient: try reference.double("kl_coef")),
                                     learningRate: Float(try reference.double("learning_rate")), orders: reference.permutations)
        #expect(trainer.optimizerSteps == 4)
        #expect(reference.stats.count == 14)
        var worstStatistic = 0.0, worstParameter: Float = 0
        for (name, expected) in reference.stats {
            let value = try #require(update.metrics[name], "\(name) missing")
            #expect(abs(value - expected) <= 1e-5 * max(1, abs(expected)), "\(name): \(value) vs reference \(expected)")
            worstStatistic = max(worstStatistic, abs(value - expected) / max(1, abs(expected)))
        }
        // Minibatch by minibatch too (the averages could hide compensating errors).
        #expect(update.minibatches.count == reference.minibatchStats.count)
        for (ours, theirs) in zip(update.minibatches, reference.minibatchStats) {
            for (name, value) in ours.metrics where name != "ppo/val/var_explained" {
                let expected = try #require(theirs[String(name.dropFirst(4))])
                #expect(abs(value - expected) <= 1e-5 * max(1, abs(expected)), "minibatch \(name): \(value) vs \(expected)")
            }
        }
        let initial = try SafeTensorsFile(contentsOf: Self.fixture.appendingPathComponent("model.safetensors"))
        let expected = try SafeTensorsFile(contentsOf: Self.fixture.appendingPathComponent("expected.safetensors"))
        let parameters = Dictionary(uniqueKeysWithValues: trainer.policy.namedParameters().map { ($0.name, $0.tensor) })
        var compared = 0, largestUpdate: Float = 0
        for name in expected.names {
            let tensor = try #require(parameters[name], "\(name) not a parameter")
            let want = try expected.floats(name), start = try initial.floats(name)
            let got = tensor.scalars
            #expect(got.count == want.count)
            var worst: Float = 0
            for i in got.indices {
                worst = max(worst, abs(got[i] - want[i]) / max(1, abs(want[i])))
                largestUpdate = max(largestUpdate, abs(want[i] - start[i]))
            }
            #expect(worst <= 1e-5, "\(name): worst relative difference \(worst)")
            worstParameter = max(worstParameter, worst)
            compared += 1
        }
        print("PPO parity (\(accumulation) pass(es) per minibatch): worst statistic difference \(worstStatistic), worst parameter difference \(worstParameter), largest update \(largestUpdate)")
        #expect(compared == parameters.count && compared == 30)
        #expect(largestUpdate > 0.03)  // the iteration moved the parameters: the comparison means something
    }
}
