// T5's span corruption (counts, structure, reconstruction, T5's segmentation rules) and the
// encoder-decoder pretrainer built on it: a tiny T5 overfits a pattern corpus and a crash-and-resume
// run writes the uninterrupted run's metrics.

import Foundation
import Alignment
import Models
import NN
import Tensors
import TestFamilies
import Testing
import Tokenizers

/// A tiny T5 for a 40-id vocabulary: 0 pad, 1 </s>, 2…29 text, 30…39 sentinels (<extra_id_0> = 39).
func tinyT5(dropout: Float = 0, gated: Bool = true) -> T5ForConditionalGeneration {
    var configuration = T5Configuration()
    configuration.vocabularySize = 40
    configuration.modelDimension = 24
    configuration.headSize = 6
    configuration.heads = 4
    configuration.feedForwardDimension = 48
    configuration.encoderLayers = 2
    configuration.decoderLayers = 2
    configuration.relativeAttentionBuckets = 8
    configuration.relativeAttentionMaxDistance = 16
    configuration.dropout = dropout
    configuration.feedForwardProjection = gated ? "gated-gelu" : "relu"
    configuration.tieWordEmbeddings = !gated
    configuration.scaleDecoderOutputs = !gated
    return T5ForConditionalGeneration(configuration, seed: 5)
}

let tinySentinels: [Int32] = (0..<10).map { 39 - Int32($0) }
/// "2 3 … 13" repeated.
let spanCorpus: [Int32] = (0..<720).map { Int32(2 + $0 % 12) }

@Suite("Span corruption")
struct SpanCorruptionTests {
    let corruption = SpanCorruption(noiseDensity: 0.15, meanNoiseSpanLength: 3, sentinels: tinySentinels, endOfSequence: 1)

    @Test("T5's counts: round(L·0.15) noise tokens (1 … L−1) in round(noise/3) spans (≥ 1); fixed source and target lengths")
    func counts() {
        #expect(corruption.noiseCount(length: 20) == 3 && corruption.spanCount(length: 20) == 1)
        #expect(corruption.noiseCount(length: 100) == 15 && corruption.spanCount(length: 100) == 5)
        #expect(corruption.noiseCount(length: 2) == 1 && corruption.noiseCount(length: 3) == 1)
        #expect(corruption.lengths(window: 100) == (source: 100 - 15 + 5 + 1, target: 15 + 5 + 1))
        // T5's own example: inputs_length 512 with density 0.15 and mean 3 → 568-token windows give
        // 85 noise tokens in 28 spans.
        #expect(corruption.noiseCount(length: 568) == 85 && corruption.spanCount(length: 568) == 28)
    }

    @Test("a corrupted window: sentinels in order, spans start kept and end cut, and source + target rebuild the window")
    func structure() throws {
        var generator = RandomGenerator(seed: 3)
        for trial in 0..<50 {
            let window = (0..<(20 + trial)).map { Int32(2 + $0 % 28) }
            let mask = corruption.noiseMask(length: window.count, generator: &generator)
            #expect(!mask.first! && mask.last!)
            #expect(mask.filter { $0 }.count == corruption.noiseCount(length: window.count))
            let runs = zip(mask.dropFirst(), mask).filter { $0 && !$1 }.count
            #expect(runs == corruption.spanCount(length: window.count))
            let (source, target) = try corruption.corrupt(window, generator: &generator)
            #expect(source.last == 1 && target.last == 1)
            #expect((source.count, target.count) == corruption.lengths(window: window.count))
            // Rebuild: each sentinel in the source is replaced by the target's tokens after that sentinel.
            var spans: [Int32: [Int32]] = [:], current: Int32?
            for token in target.dropLast() {
                if tinySentinels.contains(token) { current = token; spans[token] = [] } else { spans[current!]!.append(token) }
            }
            let used = source.filter { tinySentinels.contains($0) }
            #expect(used == Array(tinySentinels.prefix(used.count)))
            #expect(source.dropLast().flatMap { spans[$0] ?? [$0] } == window)
        }
    }

    @Test("more spans than kept tokens can separate is an error naming noise_density, not a trap")
    func tooDense() {
        let dense = SpanCorruption(noiseDensity: 0.9, meanNoiseSpanLength: 1, sentinels: tinySentinels, endOfSequence: 1)
        var generator = RandomGenerator(seed: 1)
        #expect { try dense.corrupt((0..<10).map { Int32(2 + $0) }, generator: &generator) } throws: { "\($0)".contains("noise_density") }
    }

    @Test("too few sentinels for a window's spans is an error naming block_size")
    func tooFewSentinels() {
        let short = SpanCorruption(sentinels: [39, 38], endOfSequence: 1)
        var generator = RandomGenerator(seed: 1)
        #expect { try short.corrupt((0..<100).map { Int32(2 + $0 % 20) }, generator: &generator) } throws: { error in
            "\(error)".contains("block_size") && "\(error)".contains("5 noise spans") && "\(error)".contains("2 sentinels")
        }
    }
}

func spanConfiguration(steps: Int) -> PretrainConfiguration {
    var configuration = smallConfiguration(steps: steps)
    configuration.blockSize = 20
    configuration.batchSize = 6
    configuration.learningRate = 1e-2
    return configuration
}

@Suite("Span-corruption pretraining")
struct SpanCorruptionTrainerTests {
    let corruption = SpanCorruption(sentinels: tinySentinels, endOfSequence: 1)

    @Test("a tiny T5 overfits a pattern corpus: the corrupted spans become predictable")
    func overfit() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = spanConfiguration(steps: 150)
        configuration.evalInterval = 0
        configuration.checkpointInterval = 1000
        var first: Float?, last: Float = .infinity
        try SpanCorruptionTrainer(model: tinyT5(), tokens: spanCorpus, corruption: corruption, configuration: configuration, run: run)
            .train { first = first ?? $0.loss; last = $0.loss }
        #expect(try #require(first) > 2.5)
        #expect(last < 0.3, "final loss \(last)")
        let saved = try T5ForConditionalGeneration.load(from: run.finalURL)
        #expect(saved.configuration.vocabularySize == 40 && saved.lm_head != nil)
    }

    @Test("a crash after step 5 and --resume from the step-4 checkpoint give the uninterrupted run's metrics.jsonl (with dropout)")
    func resume() throws {
        let whole = try temporaryRun(), crashed = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: crashed.root) }
        let configuration = spanConfiguration(steps: 10)
        try SpanCorruptionTrainer(model: tinyT5(dropout: 0.1), tokens: spanCorpus, corruption: corruption, configuration: configuration, run: whole).train()
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try SpanCorruptionTrainer(model: tinyT5(dropout: 0.1), tokens: spanCorpus, corruption: corruption, configuration: configuration, run: crashed)
                .train { if $0.step == 5 { throw Crash() } }
        }
        #expect(crashed.newestCheckpoint()?.step == 4)
        let state = try SpanCorruptionTrainer(model: tinyT5(dropout: 0.1), tokens: spanCorpus, corruption: corruption, configuration: configuration, run: crashed)
            .train(resume: true)
        #expect(state.step == 10)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        #expect(expected.contains("valid/loss"))
        #expect(try String(contentsOf: crashed.metricsURL, encoding: .utf8) == expected)
    }

    @Test("a window whose corrupted source is longer than n_positions is refused, naming block_size and the limit")
    func sourceTooLong() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = tinyT5().configuration
        configuration.sourcePositions = 16
        let model = T5ForConditionalGeneration(configuration)
        #expect { try SpanCorruptionTrainer(model: model, tokens: spanCorpus, corruption: corruption, configuration: spanConfiguration(steps: 1), run: run) } throws: { error in
            "\(error)".contains("block_size") && "\(error)".contains("at most 16")
        }
    }
}

@Suite("Pretraining job with an encoder-decoder")
struct EncoderDecoderPretrainJobTests {
    @Test("model_type t5: a BPE tokenizer with T5's special tokens, a Flan-T5-shaped model, span corruption; a crash and --resume continue exactly")
    func pretrainT5() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("t5-pretrain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = folder.appendingPathComponent("corpus.txt")
        try String(repeating: "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer.\n", count: 60)
            .write(to: corpus, atomically: true, encoding: .utf8)
        func run(_ name: String, resume: Bool, crashAt: Int? = nil) throws -> RunDirectory {
            let (job, training, mapping) = try PretrainJob.resolve(file: nil, overrides: [
                "--corpus", corpus.path, "--runs_dir", folder.path, "--name", name, "--tokenizer", "bpe", "--bpe_merges", "60",
                "--model_type", "t5", "--n_layer", "1", "--n_head", "2", "--n_embd", "16", "--dropout", "0.1", "--block_size", "24",
                "--batch_size", "3", "--max_steps", "6", "--eval_interval", "3", "--eval_batches", "1", "--log_interval", "1",
                "--checkpoint_interval", "2", "--warmup_steps", "1",
            ])
            struct Crash: Error {}
            do {
                return try job.run(training: training, mapping: mapping, resume: resume) { if $0.step == crashAt { throw Crash() } }.run
            } catch is Crash {
                return try RunDirectory(root: folder.appendingPathComponent(name))
            }
        }
        let whole = try run("whole", resume: false)
        let model = try T5ForConditionalGeneration.load(from: whole.finalURL)
        let tokenizer = try loadTokenizer(from: whole.finalURL)
        #expect(model.configuration.isGated && model.lm_head != nil && model.configuration.feedForwardDimension == 32)
        #expect(tokenizer.specialTokens["<extra_id_99>"] != nil && model.configuration.eosTokenId == tokenizer.specialTokens["</s>"])
        #expect(model.configuration.padTokenId == tokenizer.specialTokens["<pad>"] && model.decoderStartTokenId == model.configuration.padTokenId)
        _ = try run("crashed", resume: false, crashAt: 5)
        _ = try run("crashed", resume: true)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        #expect(expected.contains("valid/loss") && expected.split(separator: "\n").count == 6)
        #expect(try String(contentsOf: folder.appendingPathComponent("crashed/metrics.jsonl"), encoding: .utf8) == expected)
    }
}

@Suite("Prompts of encoder-decoder policies")
struct EncoderDecoderPromptTests {
    @Test("an encoder-decoder's prompt keeps its beginning up to the source limit less </s>; a causal model's keeps its end, leaving room for the response")
    func truncation() throws {
        var configuration = PPOConfiguration()
        configuration.maxNewTokens = 20
        let tokenizer = CharacterTokenizer(corpus: "abcdefghij")
        let policy = tinySeq2Seq()  // vocabulary 12, source limit 32
        let sampler = try PolicySampler(configuration: configuration, tokenizer: tokenizer, modelConfiguration: policy.modelConfiguration)
        let prompt = String(repeating: "abcdefghij", count: 4)
        let ids = tokenizer.encode(prompt).map { Int32($0) }
        #expect(try sampler.promptTokens(prompt, for: policy) == Array(ids.prefix(31)))
        #expect(try sampler.promptTokens(prompt) == Array(ids.suffix(32 - 20)))
        #expect(try sampler.promptTokens("abc", for: policy) == Array(ids.prefix(3)))
    }
}
