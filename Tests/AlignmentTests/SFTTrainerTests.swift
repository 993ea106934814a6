// The SFT trainer: response-only targets token by token (on made-up and real HH lines), prompt
// truncation from the left, long-response policies, token-weighted accumulation, overfitting,
// exact resume, and the errors for unusable data.

import Datasets
import Foundation
import Alignment
import Models
import NN
import Tensors
import Testing
import Tokenizers

/// Characters " abcdefghij" get ids 0…10; 11 is end-of-sequence (the tiny model's vocabulary is 12).
let letters = CharacterTokenizer(corpus: " abcdefghij")
let endOfSequence: Int32 = 11

/// Examples located at lines 1, 2, … of "data.jsonl".
func located(_ pairs: [(String, String)]) -> [(location: RecordLocation, example: SFTExample)] {
    pairs.enumerated().map { index, pair in
        (RecordLocation(path: "data.jsonl", line: index + 1), SFTExample(prompt: pair.0, response: pair.1))
    }
}

func sequences(_ pairs: [(String, String)], maxLength: Int = 16, policy: LongResponsePolicy = .error) throws -> [SFTSequence] {
    try SFTSequenceBuilder.build(located(pairs), tokenizer: letters, endOfSequence: endOfSequence, maxLength: maxLength, policy: policy).sequences
}

/// Eight short prompt → response pairs: "ab" → "cd" style continuations of the alphabet.
let alphabetPairs: [(String, String)] = [("ab", "cd"), ("bc", "de"), ("cd", "ef"), ("de", "fg"),
                                         ("ef", "ghi"), ("a", "bcd"), ("fg", "hij"), ("g", "hi")]

func sftConfiguration(steps: Int) -> SFTConfiguration {
    var configuration = SFTConfiguration()
    configuration.maxLength = 16
    configuration.batchSize = 3
    configuration.maxSteps = steps
    configuration.learningRate = 1e-2
    configuration.schedule = .constant
    configuration.validFraction = 0.25
    configuration.evalInterval = 3
    configuration.logInterval = 1
    configuration.checkpointInterval = 4
    configuration.keepCheckpoints = 5
    return configuration
}

@Suite("SFT trainer")
struct SFTTrainerTests {
    @Test("targets are exactly the response tokens and end-of-sequence; prompt and padding are −100, token by token")
    func responseOnlyMasking() throws {
        let built = try sequences([("ab", "cd"), ("a", "b")])
        #expect(built[0] == SFTSequence(tokens: [1, 2, 3, 4, 11], promptLength: 2))
        #expect(built[0].targets == [-100, 3, 4, 11])
        #expect(built[1].targets == [2, 11])
        let batch = SFTSequenceBuilder.batch(built, padding: 11)
        #expect(batch.inputs.shape == [2, 4])
        #expect(batch.inputs.values == [1, 2, 3, 4, 1, 2, 11, 11])
        #expect(batch.targets.values == [-100, 3, 4, 11, 2, 11, -100, -100])
        #expect(batch.targetCount == 5 && batch.tokenCount == 6)
        // The trained loss is the mean over those five positions of −log p(target).
        let model = tinyModel()
        let logits = withNoGrad { model(batch.inputs) }
        let every = IndexTensor(shape: [2, 4], values: [2, 3, 4, 11, 2, 11, 0, 0])
        let perToken = withNoGrad { crossEntropy(logits, targets: every, reduction: .none) }.scalars
        let expected = [1, 2, 3, 4, 5].map { perToken[$0] }.reduce(0, +) / 5
        #expect(abs(withNoGrad { crossEntropy(logits, targets: batch.targets) }.item - expected) < 1e-5)
    }

    @Test("a real HH line: no loss on the dialogue, loss on the GPT-2 ids of the last assistant turn and <|endoftext|>",
          .enabled(if: FileManager.default.fileExists(atPath: sharedData("hh-rlhf/harmless-base-test.jsonl.gz").path)))
    func realAnthropicLine() throws {
        let tokenizer = try loadTokenizer(from: sharedData("gpt2"))
        let records = try SFTExample.readLocated(sharedData("hh-rlhf/harmless-base-test.jsonl.gz")).records
        let (location, example) = records[0]
        #expect(location.line == 1)
        #expect(example.prompt.hasSuffix("\n\nAssistant:") && example.prompt.hasPrefix("\n\nHuman:"))
        let built = try SFTSequenceBuilder.build([records[0]], tokenizer: tokenizer, endOfSequence: 50256, maxLength: 1025, policy: .error)
        let sequence = try #require(built.sequences.first)
        let prompt = tokenizer.encode(example.prompt).map { Int32($0) }
        let response = tokenizer.encode(example.response).map { Int32($0) }
        #expect(sequence.promptLength == prompt.count)
        #expect(sequence.tokens == prompt + response + [50256])
        let targets = sequence.targets
        #expect(targets.prefix(prompt.count - 1).allSatisfy { $0 == -100 })
        #expect(Array(targets.dropFirst(prompt.count - 1)) == response + [50256])
        #expect(tokenizer.decode(targets.filter { $0 >= 0 && $0 != 50256 }.map(Int.init)) == example.response)
    }

    @Test("a long prompt loses tokens from its start; a response that cannot fit is an error naming the line, or truncated, or skipped")
    func truncation() throws {
        let pairs = [("abcdefghij", "ab"), ("a", "b"), ("ab", "abcdefgh")]
        let kept = try SFTSequenceBuilder.build(located(Array(pairs.prefix(2))), tokenizer: letters, endOfSequence: 11, maxLength: 8, policy: .error)
        #expect(kept.sequences[0].tokens == [6, 7, 8, 9, 10, 1, 2, 11])  // "fghij" + "ab" + EOS
        #expect(kept.sequences[0].promptLength == 5)
        #expect(kept.report.promptsTruncated == 1 && kept.report.sequences == 2)
        do {
            _ = try SFTSequenceBuilder.build(located(pairs), tokenizer: letters, endOfSequence: 11, maxLength: 8, policy: .error)
            Issue.record("expected an error")
        } catch {
            let text = "\(error)"
            #expect(text.contains("data.jsonl:3") && text.contains("no room") && text.contains("max_length 8"))
        }
        let skipped = try SFTSequenceBuilder.build(located(pairs), tokenizer: letters, endOfSequence: 11, maxLength: 8, policy: .skip)
        #expect(skipped.sequences.count == 2 && skipped.report.longResponsesSkipped == 1)
        let cut = try SFTSequenceBuilder.build(located(pairs), tokenizer: letters, endOfSequence: 11, maxLength: 8, policy: .truncate)
        #expect(cut.sequences[2] == SFTSequence(tokens: [2, 1, 2, 3, 4, 5, 6, 7], promptLength: 1))
        #expect(cut.report.responsesTruncated == 1 && cut.report.promptsTruncated == 2)
        #expect(cut.report.summary.contains("1 responses truncated"))
    }

    @Test("overfits a tiny set: the response loss goes near 0")
    func overfit() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = sftConfiguration(steps: 150)
        configuration.validFraction = 0
        configuration.checkpointInterval = 1000
        var last: Float = .infinity
        try SFTTrainer(model: tinyModel(), sequences: sequences(alphabetPairs), configuration: configuration, run: run).train { last = $0.loss }
        #expect(last < 0.05)
    }

    @Test("accumulating 2 micro-batches of 2 equals one batch of 4 (the loss is a mean per response token)")
    func accumulation() throws {
        let data = try sequences([("ab", "cdefghij"), ("a", "b"), ("bc", "d"), ("cd", "efg")])
        func oneStep(batch: Int, accumulation: Int) throws -> (Float, [Float]) {
            let run = try temporaryRun()
            defer { try? FileManager.default.removeItem(at: run.root) }
            var configuration = sftConfiguration(steps: 1)
            configuration.validFraction = 0
            configuration.batchSize = batch
            configuration.gradientAccumulationSteps = accumulation
            let model = tinyModel()
            var loss: Float = 0
            try SFTTrainer(model: model, sequences: data, configuration: configuration, run: run).train { loss = $0.loss }
            return (loss, model.transformer.wte.weight.scalars)
        }
        let (bigLoss, bigWeights) = try oneStep(batch: 4, accumulation: 1)
        let (accumulatedLoss, accumulatedWeights) = try oneStep(batch: 2, accumulation: 2)
        #expect(abs(bigLoss - accumulatedLoss) < 1e-5)
        #expect(zip(bigWeights, accumulatedWeights).map { abs($0 - $1) }.max()! < 1e-5)
    }

    @Test("valid/loss is logged before training; a crash after step 5 and a resume give the uninterrupted metrics.jsonl")
    func resume() throws {
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        let data = try sequences(alphabetPairs)
        let configuration = sftConfiguration(steps: 9)  // 6 training examples, 3 per step: epochs wrap
        try SFTTrainer(model: tinyModel(dropout: 0.1), sequences: data, configuration: configuration, run: whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try SFTTrainer(model: tinyModel(dropout: 0.1), sequences: data, configuration: configuration, run: crashed)
                .train { if $0.step == 5 { throw Crash() } }
        }
        #expect(crashed.newestCheckpoint()?.step == 4)
        let state = try SFTTrainer(model: tinyModel(dropout: 0.1), sequences: data, configuration: configuration, run: crashed).train(resume: true)
        #expect(state.step == 9 && state.epoch == 4)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        let lines = expected.split(separator: "\n")
        #expect(lines.count == 10 && lines[0].hasPrefix("{\"step\":0,\"valid/loss\":"))
        #expect(try String(contentsOf: crashed.metricsURL, encoding: .utf8) == expected)
        let valid = try MetricsLog.read(whole.metricsURL).compactMap { $0["valid/loss"] as? Double }
        #expect(valid.count == 4 && valid.last! < valid.first!)
    }

    @Test("unusable data and settings are errors that say why")
    func errors() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        func message(_ data: [SFTSequence], _ configuration: SFTConfiguration) -> String {
            do {
                try SFTTrainer(model: tinyModel(), sequences: data, configuration: configuration, run: run, dataName: "d.jsonl").train()
                return ""
            } catch { return "\(error)" }
        }
        let configuration = sftConfiguration(steps: 1)
        #expect(message(try sequences([("a", "b")]), configuration).contains("too few to hold out"))
        #expect(message([], configuration).contains("d.jsonl: no training examples"))
        #expect(message([SFTSequence(tokens: Array(repeating: 1, count: 18), promptLength: 1)], configuration).contains("n_positions + 1 = 17"))
        #expect(message([SFTSequence(tokens: [1, 12], promptLength: 1)], configuration).contains("token id 12"))
    }
}

/// A file of ../shared/data (or `RLHF_SHARED_DATA`).
func sharedData(_ relativePath: String) -> URL {
    if let override = ProcessInfo.processInfo.environment["RLHF_SHARED_DATA"] {
        return URL(fileURLWithPath: override).appendingPathComponent(relativePath)
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data").appendingPathComponent(relativePath).standardizedFileURL
}
