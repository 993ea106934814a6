// Reward models: each objective overfits a tiny set to accuracy 1.0, normalization gives mean 0
// and std 1 on its fitting set, a saved checkpoint reloads with identical scores, resume is exact.

import Datasets
import Foundation
import Alignment
import Kernels
import Models
import NN
import Tensors
import Testing
import Tokenizers

/// A fresh reward model on the tiny GPT-2 (vocabulary 12, characters " abcdefghij").
func tinyRewardModel(labels: Int = 1, labelRewards: [Float]? = nil, dropout: Float = 0) -> RewardModel {
    let lm = tinyModel(dropout: dropout)
    let classifier = SequenceClassifier(trunk: lm.transformer, source: lm.source, labels: labels, seed: 7)
    return RewardModel(classifier: classifier, tokenizer: letters,
                       head: RewardHead(maxLength: 16, labels: labels > 1 ? (0..<labels).map { "l\($0)" } : nil, labelRewards: labelRewards))
}

func encoded(_ text: String) -> [Int32] { letters.encode(text).map { Int32($0) } }

/// Eight pairs where the chosen text is in alphabetical order and the rejected one reversed.
let orderedPairs: [RewardExample] = ["abc", "bcd", "cde", "def", "efg", "fgh", "ghi", "hij"].map {
    .pair(chosen: encoded($0), rejected: encoded(String($0.reversed())))
}

func rewardConfiguration(steps: Int) -> RewardConfiguration {
    var configuration = RewardConfiguration()
    configuration.maxLength = 16
    configuration.batchSize = 8
    configuration.maxSteps = steps
    configuration.learningRate = 1e-2
    configuration.schedule = .constant
    configuration.validFraction = 0
    configuration.evalInterval = 0
    configuration.logInterval = 1
    configuration.checkpointInterval = 1000
    return configuration
}

@Suite("Reward trainer")
struct RewardTrainerTests {
    @Test("pairwise: 8 pairs overfit to accuracy 1.0")
    func overfitPairs() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let model = tinyRewardModel()
        let trainer = try RewardTrainer(model: model, examples: orderedPairs, objective: .pairwise, configuration: rewardConfiguration(steps: 60), run: run)
        try trainer.train()
        let metrics = withNoGrad { trainer.loss(orderedPairs) }.metrics
        #expect(metrics["rewards/accuracies"] == 1.0)
        #expect(metrics["rewards/margins"]! > 1)
        let lines = try MetricsLog.read(run.metricsURL)
        #expect(lines.last?["train/accuracy"] as? Double == 1.0)
        #expect(lines.last?["rewards/margins"] != nil && lines.last?["rewards/chosen"] != nil)
    }

    @Test("labelled: binary (scalar head) and 3-class (expected label reward) overfit to accuracy 1.0",
          arguments: [1, 3])
    func overfitLabels(outputs: Int) throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let texts = ["abc", "bcd", "cde", "hij", "ghi", "fgh", "aaa", "bbb", "jjj"]
        let labels = outputs == 1 ? [1, 1, 1, 0, 0, 0, 1, 1, 0] : [0, 0, 0, 1, 1, 1, 2, 2, 2]
        let examples = zip(texts, labels).map { RewardExample.labelled(tokens: encoded($0), label: $1) }
        let model = tinyRewardModel(labels: outputs, labelRewards: outputs == 1 ? nil : [-1, 0, 1])
        let trainer = try RewardTrainer(model: model, examples: examples, objective: .labelled, configuration: rewardConfiguration(steps: 80), run: run)
        try trainer.train()
        #expect(withNoGrad { trainer.loss(examples) }.metrics["train/accuracy"] == 1.0)
        let rewards = try model.rewards(for: texts)
        if outputs == 3 {
            // Σ p·reward over labels −1, 0, 1: the label-2 texts score highest, the label-0 ones lowest.
            #expect(rewards[6...].min()! > rewards[3..<6].max()! && rewards[3..<6].min()! > rewards[..<3].max()!)
        } else {
            #expect(rewards[..<3].allSatisfy { $0 > 0 } && rewards[3..<6].allSatisfy { $0 < 0 })
        }
    }

    @Test("best-of-4: the labelled best sample ends up with the highest reward in every query")
    func overfitBestOfN() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let examples: [RewardExample] = (0..<6).map { i in
            let samples = ["aj", "bi", "ch", "dg"].map { encoded(String("abcdef".dropFirst(i).prefix(2)) + $0) }
            return .bestOf(samples: samples, best: i % 4)
        }
        let trainer = try RewardTrainer(model: tinyRewardModel(), examples: examples, objective: .bestOfN, configuration: rewardConfiguration(steps: 80), run: run)
        try trainer.train()
        #expect(withNoGrad { trainer.loss(examples) }.metrics["train/accuracy"] == 1.0)
    }

    @Test("normalization: rewards of the fitting set get mean 0 and std 1 within 1e-3; a saved checkpoint reloads with identical scores")
    func normalizationAndReload() throws {
        let model = tinyRewardModel()
        let alphabet: [Character] = Array("abcdefghij ")
        var texts: [String] = []
        for i in 0..<40 {
            let length = 3 + i % 7
            let characters: [Character] = (0..<length).map { (j: Int) -> Character in alphabet[(i * 7 + j * 3) % 11] }
            texts.append(String(characters))
        }
        let fitted: (mean: Double, standardDeviation: Double) = try RewardNormalizer.fit(model, texts: texts)
        #expect(fitted.standardDeviation > 0)
        let rewards: [Double] = try model.rewards(for: texts).map { Double($0) }
        let fittedMean: Double = rewards.reduce(0, +) / Double(rewards.count)
        let squares: Double = rewards.reduce(0) { (sum: Double, x: Double) in sum + (x - fittedMean) * (x - fittedMean) }
        let fittedStd: Double = (squares / Double(rewards.count)).squareRoot()
        #expect(abs(fittedMean) < 1e-3 && abs(fittedStd - 1) < 1e-3)
        let expectedBias: Double = -fitted.mean / fitted.standardDeviation
        #expect(abs(Double(model.head.bias) - expectedBias) < 1e-6)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try model.save(to: directory)
        let reloaded = try RewardModel.load(from: directory)
        #expect(reloaded.head == model.head)
        #expect(try reloaded.rewards(for: texts) == model.rewards(for: texts))
        let config = try String(contentsOf: directory.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("GPT2ForSequenceClassification") && config.contains("\"num_labels\" : 1"))
    }

    @Test("normalization samples the policy as PPO will (temperature 0.7, 12 tokens, past EOS): fresh samples drawn that way then score mean 0 ± 0.1 and std 1 ± 0.1")
    func normalizationFromPolicy() throws {
        let model = tinyRewardModel()
        let policy = tinyModel()
        var configuration = RewardConfiguration()
        configuration.normalizationResponseLength = 12
        let sampling = configuration.normalizationSampling
        #expect(sampling.temperature == 0.7 && sampling.maxNewTokens == 12 && !sampling.stopAtEndOfSequence)
        let prompts = ["ab", "cd", "e", "fgh", "ij", "a b", "c", "hid"]
        let (_, std) = try RewardNormalizer.fit(model, policy: policy, policyTokenizer: letters, prompts: prompts,
                                                samples: 600, sampling: sampling, seed: 3)
        #expect(std > 0 && model.head.normalizationSamples == 600 && model.head.gain > 0)
        // Fresh samples (another seed), drawn the same way, scored with the fitted head.
        let fresh = try RewardNormalizer.sampleTexts(policy: policy, policyTokenizer: letters, prompts: prompts, samples: 600,
                                                     sampling: sampling, seed: 99)
        #expect(fresh.allSatisfy { text in prompts.contains { text.hasPrefix($0) && text.unicodeScalars.count == $0.unicodeScalars.count + 12 } })
        let scores = try model.rewards(for: fresh).map(Double.init)
        let mean = scores.reduce(0, +) / Double(scores.count)
        let sd = (scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(scores.count)).squareRoot()
        #expect(abs(mean) < 0.1 && abs(sd - 1) < 0.1, "mean \(mean) std \(sd)")
        // The fit scored exactly the texts PPO's sampler gives with these settings and the fit's seed:
        // with the fitted head they have mean 0 and std 1 to rounding.
        let fitted = try model.rewards(for: try RewardNormalizer.sampleTexts(policy: policy, policyTokenizer: letters, prompts: prompts,
                                                                             samples: 600, sampling: sampling, seed: 3)).map(Double.init)
        let fittedMean = fitted.reduce(0, +) / Double(fitted.count)
        let fittedSD = (fitted.reduce(0) { $0 + ($1 - fittedMean) * ($1 - fittedMean) } / Double(fitted.count)).squareRoot()
        #expect(abs(fittedMean) < 1e-4 && abs(fittedSD - 1) < 1e-4)
    }

    @Test("the reward model trains without dropout: one-step runs with different dropout streams give identical weights")
    func noDropout() throws {
        func oneStep(dropoutSeed: UInt64, disableDropout: Bool) throws -> [Float] {
            let run = try temporaryRun()
            defer { try? FileManager.default.removeItem(at: run.root) }
            let model = tinyRewardModel(dropout: 0.3)
            model.classifier.source.generator = RandomGenerator(seed: dropoutSeed)
            var configuration = rewardConfiguration(steps: 1)
            configuration.disableDropout = disableDropout
            try RewardTrainer(model: model, examples: orderedPairs, objective: .pairwise, configuration: configuration, run: run).train()
            return model.classifier.namedParameters().flatMap { $0.tensor.scalars }
        }
        #expect(try oneStep(dropoutSeed: 1, disableDropout: true) == oneStep(dropoutSeed: 2, disableDropout: true))
        #expect(try oneStep(dropoutSeed: 1, disableDropout: false) != oneStep(dropoutSeed: 2, disableDropout: false))
        #expect(RewardConfiguration().disableDropout)
    }

    @Test("Adam's ε and its placement reach the optimizer: one TensorFlow-style step with ε 1e-3 is lr·√(1−β₂)·g/(√(1−β₂)·|g| + ε)",
          arguments: [AdamEpsilonPlacement.tensorflow, .pytorch])
    func adamEpsilon(placement: AdamEpsilonPlacement) throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let model = tinyRewardModel()
        let before = model.classifier.namedParameters().map { ($0.name, $0.tensor.scalars) }
        var configuration = rewardConfiguration(steps: 1)
        configuration.gradientClip = 0
        configuration.adamEpsilon = 1e-3
        configuration.epsilonPlacement = placement
        try RewardTrainer(model: model, examples: orderedPairs, objective: .pairwise, configuration: configuration, run: run).train()
        let state = try SafeTensorsFile(contentsOf: run.finalURL.appendingPathComponent("optimizer.safetensors"))
        let after = Dictionary(uniqueKeysWithValues: model.classifier.namedParameters().map { ($0.name, $0.tensor.scalars) })
        let (lr, b1, b2, eps) = (1e-2, 0.9, 0.999, 1e-3)
        var checked = 0
        for (name, start) in before {
            guard state.names.contains(name + ".exp_avg") else { continue }
            let moments = name + ".exp_avg"
            let m = try state.floats(moments)
            for i in start.indices where m[i] != 0 {
                let g = Double(m[i]) / (1 - b1)
                let step = placement == .tensorflow ? lr * (1 - b2).squareRoot() * g / ((1 - b2).squareRoot() * abs(g) + eps)
                                                    : lr * g / (abs(g) + eps)
                #expect(abs(Double(start[i] - after[name]![i]) - step) < 1e-6 + 1e-4 * abs(step), "\(name)[\(i)]")
                checked += 1
            }
        }
        #expect(checked > 100)
    }

    @Test("train_gain_bias: gain and bias are trained with the head (lm-human-preferences' trainable reward_norm) and saved")
    func trainedGainAndBias() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let model = tinyRewardModel()
        var configuration = rewardConfiguration(steps: 5)
        configuration.trainGainBias = true
        try RewardTrainer(model: model, examples: orderedPairs, objective: .pairwise, configuration: configuration, run: run).train()
        #expect(model.head.gain != 1)  // pairwise: the bias cancels in r_c − r_r, the gain does not
        let saved = try RewardModel.load(from: run.finalURL)
        #expect(saved.head.gain == model.head.gain && saved.head.bias == model.head.bias)
        // A crash and a resume continue the trained gain and bias (and their Adam moments) exactly.
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        var resumable = configuration
        resumable.maxSteps = 6
        resumable.checkpointInterval = 3
        let uninterrupted = tinyRewardModel()
        try RewardTrainer(model: uninterrupted, examples: orderedPairs, objective: .pairwise, configuration: resumable, run: whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try RewardTrainer(model: tinyRewardModel(), examples: orderedPairs, objective: .pairwise, configuration: resumable, run: crashed)
                .train { if $0.step == 4 { throw Crash() } }
        }
        let resumed = tinyRewardModel()
        try RewardTrainer(model: resumed, examples: orderedPairs, objective: .pairwise, configuration: resumable, run: crashed).train(resume: true)
        #expect(resumed.head.gain == uninterrupted.head.gain && resumed.head.bias == uninterrupted.head.bias)
        #expect(try String(contentsOf: crashed.metricsURL, encoding: .utf8) == String(contentsOf: whole.metricsURL, encoding: .utf8))
        // A K-class head has no scalar reward to scale: training gain and bias there is refused.
        let gainBias = try #require(throws: RunError.self) {
            try RewardTrainer(model: tinyRewardModel(labels: 3, labelRewards: [0, 0.5, 1]), examples: [.labelled(tokens: encoded("ab"), label: 0)],
                              objective: .labelled, configuration: configuration, run: whole)
        }
        if case .invalidSetting(field: "train_gain_bias", source: "config", _) = gainBias {} else { Issue.record("\(gainBias)") }
        let fixed = tinyRewardModel()
        configuration.trainGainBias = false
        let other = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: other.root) }
        try RewardTrainer(model: fixed, examples: orderedPairs, objective: .pairwise, configuration: configuration, run: other).train()
        #expect(fixed.head.gain == 1 && fixed.head.bias == 0)
    }

    @Test("a crash and a resume give the uninterrupted metrics.jsonl")
    func resume() throws {
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        var configuration = rewardConfiguration(steps: 8)
        configuration.batchSize = 3
        configuration.validFraction = 0.25
        configuration.evalInterval = 3
        configuration.checkpointInterval = 3
        try RewardTrainer(model: tinyRewardModel(dropout: 0.1), examples: orderedPairs, objective: .pairwise, configuration: configuration, run: whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try RewardTrainer(model: tinyRewardModel(dropout: 0.1), examples: orderedPairs, objective: .pairwise, configuration: configuration, run: crashed)
                .train { if $0.step == 5 { throw Crash() } }
        }
        try RewardTrainer(model: tinyRewardModel(dropout: 0.1), examples: orderedPairs, objective: .pairwise, configuration: configuration, run: crashed)
            .train(resume: true)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        #expect(expected.contains("\"valid/accuracy\"") && expected.split(separator: "\n").count == 9)
        #expect(try String(contentsOf: crashed.metricsURL, encoding: .utf8) == expected)
    }

    @Test("examples of another kind and empty splits are errors")
    func errors() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        #expect(throws: RunError.invalidData(path: "data", problem: "an example does not fit the labelled objective")) {
            try RewardTrainer(model: tinyRewardModel(), examples: orderedPairs, objective: .labelled, configuration: rewardConfiguration(steps: 1), run: run)
        }
        var configuration = rewardConfiguration(steps: 1)
        configuration.validFraction = 0.01
        let tooFew = try #require(throws: RunError.self) {
            try RewardTrainer(model: tinyRewardModel(), examples: orderedPairs, objective: .pairwise, configuration: configuration, run: run, dataName: "p.jsonl")
        }
        if case .invalidData(path: "p.jsonl", _) = tooFew {} else { Issue.record("\(tooFew)") }
    }
}

@Suite("Reward data for a classifier read at </s>")
struct EndOfSequenceRewardDataTests {
    @Test("labelled texts for a T5-style classifier end with </s> once, kept within max_length; normalization prompts are the texts' own tokens")
    func labelledTextsEndOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-eos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("labelled.jsonl")
        try [#"{"text":"abc","label":"good"}"#, #"{"text":"cba","label":"bad"}"#, #"{"text":"abcdefghabcdefgh","label":"good"}"#]
            .joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
        var job = RewardJob()
        job.data = data.path
        var configuration = rewardConfiguration(steps: 1)
        configuration.maxLength = 8
        let end = encoded("j")[0]  // stands in for </s>: no text contains it
        let read = try job.examples(tokenizer: letters, configuration: configuration, endOfSequence: Int(end))
        #expect(read.truncated == 1)
        for example in read.examples {
            guard case let .labelled(tokens, _) = example else { Issue.record("not labelled"); continue }
            #expect(tokens.last == end && tokens.filter { $0 == end }.count == 1 && tokens.count <= 8, "\(tokens)")
        }
        #expect(read.prompts.allSatisfy { !$0.contains("j") && !$0.isEmpty }, "\(read.prompts)")
        #expect(read.prompts.first == "abc")
    }
}
