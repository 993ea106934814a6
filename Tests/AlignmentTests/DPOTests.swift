// DPO: losses by hand, the masked sequence log-prob, ln 2 before training, overfitting a few pairs,
// reference-free mode, and exact resume.

import Foundation
import Alignment
import Models
import NN
import Tensors
import Testing

func dpoConfiguration(steps: Int) -> DPOConfiguration {
    var c = DPOConfiguration()
    c.maxSteps = steps
    c.batchSize = 4
    c.learningRate = 3e-3
    c.schedule = .constant
    c.validFraction = 0
    c.evalInterval = 0
    c.logInterval = 1
    c.checkpointInterval = 1000
    c.maxLength = 16
    return c
}

/// Pairs where the chosen continuation follows the alphabet and the rejected one does not.
let alphabetDPOPairs: [DPOExample] = [("ab", "cd", "ba"), ("bc", "de", "cb"), ("cd", "ef", "dc"), ("de", "fg", "ed"),
                                      ("ef", "gh", "fe"), ("fg", "hi", "gf")].map { prompt, chosen, rejected in
    DPOExample(prompt: encoded(prompt), chosen: encoded(chosen) + [11], rejected: encoded(rejected) + [11])
}

@Suite("DPO")
struct DPOTests {
    @Test("sigmoid, conservative and IPO losses and the implicit rewards by hand")
    func losses() {
        // h = (−1 + 3) − (−1.5 + 2.5) = 1 and (−2 + 1) − (−2 + 1.5) = −0.5; β = 0.1.
        let chosen = Tensor(shape: [2], values: [-1, -2]), rejected = Tensor(shape: [2], values: [-3, -1])
        let reference = (chosen: [Float(-1.5), -2], rejected: [Float(-2.5), -1.5])
        let sigmoid = dpoLoss(policyChosen: chosen, policyRejected: rejected, referenceChosen: reference.chosen,
                              referenceRejected: reference.rejected, beta: 0.1)
        #expect(abs(sigmoid.loss.item - 0.68142815) < 1e-6)
        #expect(zip(sigmoid.chosenRewards, [0.05, 0]).allSatisfy { abs($0 - $1) < 1e-7 })
        #expect(zip(sigmoid.rejectedRewards, [-0.05, 0.05]).allSatisfy { abs($0 - $1) < 1e-7 })
        let conservative = dpoLoss(policyChosen: chosen, policyRejected: rejected, referenceChosen: reference.chosen,
                                   referenceRejected: reference.rejected, beta: 0.1, labelSmoothing: 0.1)
        #expect(abs(conservative.loss.item - 0.68392815) < 1e-6)
        let ipo = dpoLoss(policyChosen: chosen, policyRejected: rejected, referenceChosen: reference.chosen,
                          referenceRejected: reference.rejected, beta: 0.1, type: .ipo)
        #expect(abs(ipo.loss.item - 23.125) < 1e-4)
    }

    @Test("the sequence log-prob is the sum over response tokens only; with policy = reference the loss starts at ln 2")
    func maskedSequenceLogProbability() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = dpoConfiguration(steps: 1)
        configuration.validFraction = 0.34
        configuration.evalInterval = 1
        let trainer = try DPOTrainer(policy: tinyModel(), reference: tinyModel(), examples: alphabetDPOPairs, configuration: configuration, run: run)
        let example = trainer.train[0]
        let perToken = try sequenceLogProbabilities(tinyModel(), tokens: (example.prompt + example.chosen).map(Int.init))
        let expected = perToken.suffix(example.chosen.count).reduce(0, +)
        #expect(abs(example.referenceChosen - expected) < 1e-4)
        try trainer.train()
        let first = try #require(MetricsLog.read(run.metricsURL).first)
        #expect(first["step"] as? Int == 0)
        #expect(abs((first["valid/loss"] as? Double ?? 0) - 0.6931472) < 1e-5)
    }

    @Test("overfits six pairs to accuracy 1.0, with a reference and reference-free", arguments: [false, true])
    func overfit(referenceFree: Bool) throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = dpoConfiguration(steps: 40)
        configuration.referenceFree = referenceFree
        configuration.batchSize = 6
        let trainer = try DPOTrainer(policy: tinyModel(), reference: referenceFree ? nil : tinyModel(), examples: alphabetDPOPairs,
                                     configuration: configuration, run: run)
        try trainer.train()
        let metrics = withNoGrad { trainer.loss(alphabetDPOPairs) }.metrics
        #expect(metrics["rewards/accuracies"] == 1.0)
        #expect(metrics["rewards/margins"]! > 0.1)
        if referenceFree { #expect(trainer.train.allSatisfy { $0.referenceChosen == 0 && $0.referenceRejected == 0 }) }
        let last = try #require(MetricsLog.read(run.metricsURL).last)
        for name in ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "loss"] {
            #expect(last[name] != nil, "\(name)")
        }
    }

    @Test("a crash after step 5 and a resume give the uninterrupted metrics.jsonl")
    func resume() throws {
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        var configuration = dpoConfiguration(steps: 8)
        configuration.checkpointInterval = 4
        configuration.disableDropout = false
        func trainer(_ run: RunDirectory) throws -> DPOTrainer {
            try DPOTrainer(policy: tinyModel(dropout: 0.1), reference: tinyModel(dropout: 0.1), examples: alphabetDPOPairs, configuration: configuration, run: run)
        }
        try trainer(whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) { try trainer(crashed).train { if $0.step == 5 { throw Crash() } } }
        try trainer(crashed).train(resume: true)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        #expect(expected.split(separator: "\n").count == 8)
        #expect(try String(contentsOf: crashed.metricsURL, encoding: .utf8) == expected)
    }

    @Test("a pair of exactly n_positions + 1 tokens with max_length n_positions + 1 trains; one token more is refused, naming the pair")
    func lengthLimit() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = dpoConfiguration(steps: 2)
        configuration.maxLength = 17
        configuration.batchSize = 2
        // tinyModel has n_positions 16: prompt 8 + response 9 = 17 tokens.
        let full = [DPOExample(prompt: encoded("abcdefgh"), chosen: encoded("ijabcdef") + [11], rejected: encoded("hgfedcba") + [11]),
                    DPOExample(prompt: encoded("bcdefghi"), chosen: encoded("jabcdefg") + [11], rejected: encoded("ihgfedcb") + [11])]
        let trainer = try DPOTrainer(policy: tinyModel(), reference: tinyModel(), examples: full, configuration: configuration, run: run)
        try trainer.train()
        let last = try #require(MetricsLog.read(run.metricsURL).last)
        #expect((last["loss"] as? Double)?.isFinite == true)
        var long = full
        long[1].rejected += [11]
        #expect(throws: RunError.invalidData(path: "data", problem: "pair 2: prompt + rejected is 18 tokens, more than n_positions + 1 = 17; lower max_length")) {
            try DPOTrainer(policy: tinyModel(), reference: tinyModel(), examples: long, configuration: configuration, run: run)
        }
    }

    @Test("inside the trainer, IPO uses per-token mean log-probs and RPO's NLL is averaged over the batch's chosen tokens (by hand from independent log-probs)")
    func ipoAndRPOInTrainer() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = dpoConfiguration(steps: 1)
        configuration.lossType = .ipo
        configuration.beta = 0.1
        configuration.rpoAlpha = 0.5
        let reference = GPT2LMHeadModel(tinyModel().configuration, seed: 17)
        let pairs = [DPOExample(prompt: encoded("ab"), chosen: encoded("c") + [11], rejected: encoded("badcfe") + [11]),
                     DPOExample(prompt: encoded("cde"), chosen: encoded("fghij") + [11], rejected: encoded("e") + [11])]
        let trainer = try DPOTrainer(policy: tinyModel(), reference: reference, examples: pairs, configuration: configuration, run: run)
        func responseLogProbabilities(_ model: GPT2LMHeadModel, _ prompt: [Int32], _ response: [Int32]) throws -> [Double] {
            try sequenceLogProbabilities(model, tokens: (prompt + response).map(Int.init)).suffix(response.count).map(Double.init)
        }
        var ipo = 0.0, chosenSum = 0.0, chosenTokens = 0
        for pair in pairs {
            let pc = try responseLogProbabilities(tinyModel(), pair.prompt, pair.chosen), pr = try responseLogProbabilities(tinyModel(), pair.prompt, pair.rejected)
            let rc = try responseLogProbabilities(reference, pair.prompt, pair.chosen), rr = try responseLogProbabilities(reference, pair.prompt, pair.rejected)
            func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
            let h = (mean(pc) - mean(pr)) - (mean(rc) - mean(rr))
            ipo += (h - 1 / (2 * 0.1)) * (h - 1 / (2 * 0.1)) / Double(pairs.count)
            chosenSum += pc.reduce(0, +)
            chosenTokens += pc.count
        }
        let expected = ipo + 0.5 * (-chosenSum / Double(chosenTokens))
        #expect(trainer.train.count == 2)
        let loss = Double(withNoGrad { trainer.loss(trainer.train) }.loss.item)
        #expect(abs(loss - expected) < 1e-4 * max(1, abs(expected)), "\(loss) vs \(expected)")
    }

    @Test("bad settings are errors")
    func errors() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = dpoConfiguration(steps: 1)
        #expect(throws: RunError.invalidSetting(field: "reference_free", source: "config", problem: "is false, so a reference model is needed")) {
            try DPOTrainer(policy: tinyModel(), reference: nil, examples: alphabetDPOPairs, configuration: configuration, run: run)
        }
        configuration.beta = 0
        #expect(throws: RunError.invalidSetting(field: "beta", source: "config", problem: "must be positive, got 0.0")) {
            try DPOTrainer(policy: tinyModel(), reference: tinyModel(), examples: alphabetDPOPairs, configuration: configuration, run: run)
        }
    }
}
