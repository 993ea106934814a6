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
    c.schedule = "constant"
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

    @Test("bad settings are errors")
    func errors() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = dpoConfiguration(steps: 1)
        #expect(throws: RunError.self) { try DPOTrainer(policy: tinyModel(), reference: nil, examples: alphabetDPOPairs, configuration: configuration, run: run) }
        configuration.beta = 0
        #expect(throws: RunError.self) { try DPOTrainer(policy: tinyModel(), reference: tinyModel(), examples: alphabetDPOPairs, configuration: configuration, run: run) }
    }
}
