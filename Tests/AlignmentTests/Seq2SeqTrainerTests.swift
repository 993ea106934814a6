// Every trainer with an encoder-decoder policy, through the model interface alone (the tiny
// "tiny-s2s" family of TinySeq2SeqPolicy.swift): seq2seq SFT (the prompt is the encoder's source,
// the completion + EOS the decoder's target), DPO as TRL's `is_encoder_decoder`, and trlX's
// seq2seq PPO with the value head on the decoder's states — each overfits a tiny batch and
// resumes exactly; DPO's loss is checked by hand against per-sequence log-probs.

import Foundation
import Alignment
import Models
import NN
import Tensors
import TestFamilies
import Testing
import Tokenizers

/// A PPO trainer on the tiny encoder-decoder (pad 0 starts the decoder; no EOS: fixed-length responses).
func seq2seqPPOTrainer(_ configuration: PPOConfiguration, run: RunDirectory) throws -> PPOTrainer {
    let policy = ValueHeadModel(model: tinySeq2Seq(vocabulary: 11, eos: nil, seed: 5))
    let valueModel = configuration.valueModel == .separate ? ValueHeadModel(model: tinySeq2Seq(vocabulary: 11, eos: nil, seed: 8)) : nil
    return try PPOTrainer(policy: policy, valueModel: valueModel, reference: tinySeq2Seq(vocabulary: 11, eos: nil, seed: 5), tokenizer: mixedCase,
                          reward: UppercaseFractionReward(), prompts: ["ab", "cd", "e", "Ab", "dE", "a b", "c", "d"], evalPrompts: ["ab", "E"],
                          configuration: configuration, run: run)
}

/// metrics.jsonl without the wall-clock keys (elapsed/fps, elapsed/seconds, elapsed/time).
func metricsWithoutTimes(_ run: RunDirectory) throws -> [String] {
    try String(contentsOf: run.metricsURL, encoding: .utf8).split(separator: "\n").map { line in
        line.split(separator: ",").filter { field in
            !["\"elapsed/fps\"", "\"elapsed/seconds\"", "\"elapsed/time\""].contains { field.contains($0) }
        }.joined(separator: ",")
    }
}

@Suite("Encoder-decoder policies through every trainer")
struct Seq2SeqTrainerTests {
    @Test("seq2seq SFT overfits the alphabet pairs: greedy decoding from each source writes its completion and EOS")
    func sftOverfits() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = sftConfiguration(steps: 200)
        configuration.validFraction = 0
        configuration.checkpointInterval = 1000
        let model = tinySeq2Seq()
        var first: Float?, last: Float = .infinity
        try SFTTrainer(model: model, sequences: sequences(alphabetPairs), configuration: configuration, run: run).train {
            first = first ?? $0.loss
            last = $0.loss
        }
        #expect(last < 0.1 && first! > 1, "SFT loss \(first!) → \(last)")
        let greedy = GenerationConfiguration(maxNewTokens: 5, sampling: SamplingConfiguration(temperature: 0), endOfSequenceTokenId: 11)
        for (prompt, completion) in alphabetPairs {
            var generator = RandomGenerator(seed: 0)
            let written = try generate(model, prompts: [letters.encode(prompt)], configuration: greedy, generator: &generator)[0]
            #expect(written.tokens == letters.encode(completion) + [11], "\(prompt) → \(letters.decode(written.tokens))")
        }
    }

    @Test("seq2seq SFT with dropout: a crash after step 5 and a resume give the uninterrupted metrics.jsonl")
    func sftResumes() throws {
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        let data = try sequences(alphabetPairs)
        let configuration = sftConfiguration(steps: 9)
        try SFTTrainer(model: tinySeq2Seq(dropout: 0.1), sequences: data, configuration: configuration, run: whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try SFTTrainer(model: tinySeq2Seq(dropout: 0.1), sequences: data, configuration: configuration, run: crashed)
                .train { if $0.step == 5 { throw Crash() } }
        }
        #expect(crashed.newestCheckpoint()?.step == 4)
        let state = try SFTTrainer(model: tinySeq2Seq(dropout: 0.1), sequences: data, configuration: configuration, run: crashed).train(resume: true)
        #expect(state.step == 9)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        #expect(expected.split(separator: "\n").count == 10)
        #expect(try String(contentsOf: crashed.metricsURL, encoding: .utf8) == expected)
    }

    @Test("encoder-decoder DPO reaches accuracy 1.0 on six pairs, and resumes exactly")
    func dpo() throws {
        let run = try temporaryRun(), whole = try temporaryRun(), crashed = try temporaryRun()
        defer { for r in [run, whole, crashed] { try? FileManager.default.removeItem(at: r.root) } }
        var configuration = dpoConfiguration(steps: 60)
        configuration.batchSize = 6
        let trainer = try DPOTrainer(policy: tinySeq2Seq(), reference: tinySeq2Seq(), examples: alphabetDPOPairs, configuration: configuration, run: run)
        #expect(abs(withNoGrad { trainer.loss(trainer.train) }.loss.item - log(2)) < 1e-5, "policy = reference: ln 2 before training")
        try trainer.train()
        let after = withNoGrad { trainer.loss(trainer.train) }
        #expect(after.metrics["rewards/accuracies"] == 1.0 && after.loss.item < 0.3, "\(after.metrics)")

        var resumable = dpoConfiguration(steps: 8)
        resumable.checkpointInterval = 4
        resumable.disableDropout = false
        func make(_ run: RunDirectory) throws -> DPOTrainer {
            try DPOTrainer(policy: tinySeq2Seq(dropout: 0.1), reference: tinySeq2Seq(dropout: 0.1), examples: alphabetDPOPairs, configuration: resumable, run: run)
        }
        try make(whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) { try make(crashed).train { if $0.step == 5 { throw Crash() } } }
        try make(crashed).train(resume: true)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        #expect(expected.split(separator: "\n").count == 8)
        #expect(try String(contentsOf: crashed.metricsURL, encoding: .utf8) == expected)
    }

    @Test("encoder-decoder DPO's loss is −log σ(β((π_c − r_c) − (π_r − r_r))) of the per-sequence log-probs, by hand")
    func dpoLossByHand() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = dpoConfiguration(steps: 1)
        configuration.beta = 0.5
        let policy = tinySeq2Seq(seed: 3), reference = tinySeq2Seq(seed: 4)
        let trainer = try DPOTrainer(policy: policy, reference: reference, examples: alphabetDPOPairs, configuration: configuration, run: run)
        let example = trainer.train[0]
        func sum(_ model: TinySeq2SeqPolicy, _ response: [Int32]) throws -> Double {
            try responseLogProbabilities(model, prompt: example.prompt.map(Int.init), response: response.map(Int.init)).reduce(0.0) { $0 + Double($1) }
        }
        let (pc, pr, rc, rr) = (try sum(policy, example.chosen), try sum(policy, example.rejected), try sum(reference, example.chosen), try sum(reference, example.rejected))
        #expect(abs(Double(example.referenceChosen) - rc) < 1e-5 && abs(Double(example.referenceRejected) - rr) < 1e-5)
        let h = 0.5 * ((pc - rc) - (pr - rr))
        let expected = log(1 + exp(-h))  // −log σ(h)
        #expect(abs(h) > 0.01, "policy and reference must differ for the check to mean anything")
        let (loss, metrics) = withNoGrad { trainer.loss([example]) }
        #expect(abs(Double(loss.item) - expected) < 1e-5, "loss \(loss.item), by hand \(expected)")
        #expect(abs(metrics["logps/chosen"]! - pc) < 1e-4 && abs(metrics["logps/rejected"]! - pr) < 1e-4)
        #expect(abs(metrics["rewards/chosen"]! - 0.5 * (pc - rc)) < 1e-5)
    }

    @Test("seq2seq PPO with the value head on the decoder learns the uppercase reward")
    func ppoLearns() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let trainer = try seq2seqPPOTrainer(tinyPPOConfiguration(iterations: 16), run: run)
        // Before any update, the update's pass gives the rollout's own log π_old and values.
        var state = TrainerState(generator: RandomGenerator(seed: 1))
        let rollouts = try trainer.rollout(["ab", "cd", "E"], klCoefficient: 0.05, state: &state)
        let recomputed = trainer.currentLogProbabilities([0, 1, 2], of: rollouts)
        #expect(zip(recomputed.flatMap { $0 }, rollouts.logProbabilities.flatMap { $0 }).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(rollouts.referenceLogProbabilities == rollouts.logProbabilities, "policy = reference before training")
        try trainer.train()
        let scores = try MetricsLog.read(run.metricsURL).compactMap { $0["objective/score"] as? Double }
        #expect(scores.count == 16)
        let first: Double = scores.prefix(3).reduce(0, +) / 3, last: Double = scores.suffix(3).reduce(0, +) / 3
        #expect(last > first + 0.2, "scores \(scores)")
        let kl = try MetricsLog.read(run.metricsURL).compactMap { $0["objective/kl"] as? Double }
        #expect(kl.last! > 0, "the policy moved away from the reference")
    }

    @Test("seq2seq PPO: a crash after iteration 3 and a resume give the uninterrupted metrics (but wall-clock keys) and samples; the checkpoint reloads with v_head",
          arguments: [ValueModelPlacement.shared, .separate])
    func ppoResumes(valueModel: ValueModelPlacement) throws {
        _ = registerTinySeq2SeqFamily
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        var configuration = tinyPPOConfiguration(iterations: 5)
        configuration.valueModel = valueModel
        configuration.scaleReward = .running
        configuration.truncateToken = "a"
        configuration.truncateAfter = 2
        try seq2seqPPOTrainer(configuration, run: whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) { try seq2seqPPOTrainer(configuration, run: crashed).train { if $0.iteration == 3 { throw Crash() } } }
        #expect(crashed.newestCheckpoint()?.step == 2)
        let state = try seq2seqPPOTrainer(configuration, run: crashed).train(resume: true)
        #expect(state.step == 5 && state.klCoefficient != configuration.initKLCoefficient)
        let expected = try metricsWithoutTimes(whole)
        #expect(expected.count == 6 && expected[1].contains("ppo/val/vpred") && expected[1].contains("objective/kl_coef"))
        #expect(try metricsWithoutTimes(crashed) == expected)
        #expect(try String(contentsOf: crashed.samplesURL, encoding: .utf8) == String(contentsOf: whole.samplesURL, encoding: .utf8))
        let reloaded = try ValueHeadModel.load(from: whole.finalURL)
        #expect(reloaded.model is TinySeq2SeqPolicy && reloaded.namedParameters().contains { $0.name == "v_head.summary.weight" })
    }

    @Test("trlX's train(model:rewardFunction:prompts:…) takes a seq2seq checkpoint: policy and reference load as encoder-decoders")
    func trlxEntryPoint() throws {
        _ = registerTinySeq2SeqFamily
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-s2s-\(UUID().uuidString)")
        let runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-s2s-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory); try? FileManager.default.removeItem(at: runDirectory) }
        try tinySeq2Seq(vocabulary: 11, eos: nil, seed: 5).save(to: directory, tokenizer: mixedCase)
        let policy = try train(model: directory, rewardFunction: UppercaseFractionReward(), prompts: ["ab", "cd", "e", "Ab"], evalPrompts: ["ab"],
                               config: tinyPPOConfiguration(iterations: 2), runDirectory: runDirectory)
        #expect(policy.model is TinySeq2SeqPolicy)
        let lines = try MetricsLog.read(runDirectory.appendingPathComponent("metrics.jsonl"))
        #expect(lines.compactMap { $0["objective/kl"] as? Double }.count == 2)
        // The policy trained: its weights are no longer the checkpoint's.
        let start = try TinySeq2SeqPolicy.load(from: directory)
        #expect(policy.model.namedParameters().map(\.tensor.scalars) != start.namedParameters().map(\.tensor.scalars))
    }
}
