// The pretraining trainer: it overfits a tiny corpus, resumes exactly after a crash, stops early
// keeping the best checkpoint, and rejects corpora it cannot use.

import Foundation
import Alignment
import Models
import NN
import Tensors
import Testing

/// A tiny GPT-2 for a 12-symbol alphabet.
func tinyModel(dropout: Float = 0) -> GPT2LMHeadModel {
    GPT2LMHeadModel(GPT2Configuration(vocabularySize: 12, positions: 16, embeddingDimension: 32, layers: 2, heads: 2,
                                      residualDropout: dropout, embeddingDropout: dropout, attentionDropout: dropout,
                                      bosTokenId: nil, eosTokenId: nil), seed: 3)
}

/// "0 1 2 … 9" repeated: fully predictable after one symbol.
let patternCorpus: [Int32] = (0..<600).map { Int32($0 % 10) }

func smallConfiguration(steps: Int) -> PretrainConfiguration {
    var configuration = PretrainConfiguration()
    configuration.blockSize = 8
    configuration.batchSize = 8
    configuration.maxSteps = steps
    configuration.learningRate = 1e-2
    configuration.warmupSteps = 5
    configuration.evalInterval = 3
    configuration.evalBatches = 2
    configuration.logInterval = 1
    configuration.checkpointInterval = 4
    configuration.keepCheckpoints = 5
    return configuration
}

@Suite("Pretraining trainer")
struct PretrainTrainerTests {
    @Test("overfits a tiny corpus: training loss goes near 0")
    func overfit() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = smallConfiguration(steps: 120)
        configuration.evalInterval = 0
        configuration.checkpointInterval = 1000
        var last: Float = .infinity
        try PretrainTrainer(model: tinyModel(), tokens: patternCorpus, configuration: configuration, run: run)
            .train { last = $0.loss }
        #expect(last < 0.1)
        #expect(FileManager.default.fileExists(atPath: run.finalURL.appendingPathComponent("model.safetensors").path))
        #expect(try GPT2LMHeadModel.load(from: run.finalURL).configuration.vocabularySize == 12)
    }

    @Test("a crash after step 5 and --resume from the step-4 checkpoint give the uninterrupted run's metrics.jsonl")
    func resume() throws {
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        let configuration = smallConfiguration(steps: 12)
        try PretrainTrainer(model: tinyModel(dropout: 0.1), tokens: patternCorpus, configuration: configuration, run: whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try PretrainTrainer(model: tinyModel(dropout: 0.1), tokens: patternCorpus, configuration: configuration, run: crashed)
                .train { if $0.step == 5 { throw Crash() } }
        }
        // Step 5 was logged but not checkpointed: the resumed run must drop that line and redo it.
        #expect(crashed.newestCheckpoint()?.step == 4)
        #expect(try MetricsLog.read(crashed.metricsURL).count == 5)
        let state = try PretrainTrainer(model: tinyModel(dropout: 0.1), tokens: patternCorpus, configuration: configuration, run: crashed)
            .train(resume: true)
        #expect(state.step == 12)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        #expect(expected.split(separator: "\n").count == 12)
        #expect(try String(contentsOf: crashed.metricsURL, encoding: .utf8) == expected)
    }

    @Test("early stopping after `patience` evaluations without improvement keeps the best checkpoint")
    func earlyStopping() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = smallConfiguration(steps: 60)
        configuration.learningRate = 0  // the valid loss never improves after the first evaluation
        configuration.earlyStoppingPatience = 2
        configuration.keepCheckpoints = 1
        let state = try PretrainTrainer(model: tinyModel(), tokens: patternCorpus, configuration: configuration, run: run).train()
        #expect(state.step == 9)  // evaluations at 3 (best), 6, 9 → stop
        #expect(state.bestStep == 3)
        #expect(run.checkpoints().map(\.step) == [3, 9])
        let validLines = try MetricsLog.read(run.metricsURL).filter { $0["valid/loss"] != nil }
        #expect(validLines.count == 3)
    }

    @Test("unusable corpora and settings are errors that say why")
    func errors() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let configuration = smallConfiguration(steps: 1)
        func error(_ tokens: [Int32], _ configuration: PretrainConfiguration) throws -> RunError {
            try #require(throws: RunError.self) {
                let trainer = try PretrainTrainer(model: tinyModel(), tokens: tokens, configuration: configuration, run: run, corpusName: "tiny.txt")
                try trainer.train()
            }
        }
        #expect(try error([], configuration) == .emptyData(path: "tiny.txt", problem: "the corpus is empty"))
        let short = try error(Array(patternCorpus.prefix(9)), configuration)
        if case let .invalidData("tiny.txt", problem) = short { #expect(problem.hasPrefix("the training part has")) } else { Issue.record("\(short)") }
        let unknown = try error([1, 2, 30] + patternCorpus, configuration)
        if case .tokenOutsideVocabulary(path: "tiny.txt", token: 30, _) = unknown {} else { Issue.record("\(unknown)") }
        var tooLong = configuration
        tooLong.blockSize = 64
        let long = try error(patternCorpus, tooLong)
        if case .invalidSetting(field: "block_size", source: "config", _) = long {} else { Issue.record("\(long)") }
    }
}
