// Model-level benchmarks for `rlhf bench`: generation speed (new tokens per second) at the
// shapes the issues name, with random weights.

import Alignment
import Foundation
import Kernels
import Models
import NN
import Tensors
import Tokenizers

/// Generation benchmarks: 64-token prompts, 128 new tokens, sampling at temperature 1.
public enum ModelBenchmarks {
    /// (name, configuration, batch sizes) of each generation benchmark.
    public static let generationCases: [(String, GPT2Configuration, [Int])] = [
        ("generate_gpt2_small", GPT2Configuration(), [1, 16]),
        ("generate_shakespeare", GPT2Configuration(vocabularySize: 65, positions: 256, embeddingDimension: 384, layers: 6, heads: 6,
                                                   bosTokenId: nil, eosTokenId: nil), [1, 64]),
    ]

    /// (name, configuration, batch, block) of each training benchmark.
    public static let trainingCases: [(String, GPT2Configuration, Int, Int)] = [
        ("train_shakespeare", GPT2Configuration(vocabularySize: 65, positions: 256, embeddingDimension: 384, layers: 6, heads: 6,
                                                residualDropout: 0.2, embeddingDropout: 0.2, attentionDropout: 0.2,
                                                bosTokenId: nil, eosTokenId: nil), 16, 256),
        ("train_gpt2_small", GPT2Configuration(residualDropout: 0, embeddingDropout: 0, attentionDropout: 0), 4, 256),
    ]

    /// Every benchmark name this suite answers to.
    public static var names: [String] { generationCases.map(\.0) + trainingCases.map(\.0) + ["train_minilm_classifier", "serve_batching"] }

    /// Training throughput: forward, loss, backward and an AdamW step on random tokens; tokens/s,
    /// model FLOPs utilization against the sgemm roofline measured here, and peak resident memory.
    /// MFU counts (6·N + 12·L·C·T) FLOPs per token, N = parameters without the position table
    /// (nanoGPT's estimate).
    public static func runTraining(only: Set<String>?, tiny: Bool = false, emit: (BenchmarkRecord) -> Void) {
        let cases = trainingCases.filter { only == nil || only!.contains($0.0) }
        if cases.isEmpty { return }
        let roofline = KernelBenchmarks.measureSGEMM(size: tiny ? 64 : 1024, repetitions: tiny ? 1 : 10)
        for (name, full, fullBatch, fullBlock) in cases {
            var configuration = full
            var (batch, block) = (fullBatch, fullBlock)
            if tiny {
                configuration = GPT2Configuration(vocabularySize: 50, positions: 32, embeddingDimension: 16, layers: 2, heads: 2)
                (batch, block) = (2, 16)
            }
            let model = GPT2LMHeadModel(configuration, seed: 1)
            model.setTraining(true)
            let optimizer = AdamW(parameters: model.namedParameters(), configuration: AdamWConfiguration(learningRate: 3e-4))
            var generator = RandomGenerator(seed: 5)
            let ids = IndexTensor(shape: [batch, block], values: (0..<(batch * block)).map { _ in Int32(generator.nextInt(below: configuration.vocabularySize)) })
            func step() {
                model.loss(logits: model(ids), labels: ids).backward()
                optimizer.step()
                optimizer.zeroGrad()
            }
            let seconds = medianSeconds(repetitions: tiny ? 1 : 5, step)
            let tokensPerSecond = Double(batch * block) / seconds
            let parameters = Double(model.parameterCount - model.transformer.wpe.weight.count)
            let flopsPerToken = 6 * parameters + 12 * Double(configuration.layers * configuration.embeddingDimension * block)
            let residentMegabytes = peakResidentMegabytes()
            emit(BenchmarkRecord(name: name, fields: [
                ("batch", .integer(batch)), ("block", .integer(block)), ("parameters", .integer(model.parameterCount)),
                ("step_ms", .number(seconds * 1e3)), ("tokens_per_second", .number(tokensPerSecond)),
                ("mfu", .number(flopsPerToken * tokensPerSecond / (roofline * 1e9))), ("sgemm_gflops", .number(roofline)),
                ("peak_resident_mb", .number(residentMegabytes)),
            ]))
        }
    }

    /// Fine-tuning throughput of a MiniLM-sized encoder classifier (6 layers, 384 wide, 28
    /// multi-label outputs; GoEmotions' shape): forward, binary cross-entropy, backward and an
    /// AdamW step on 32 random texts of 32 tokens. MFU counts 6·N + 12·L·C·T FLOPs per token, N =
    /// parameters without the embedding tables (lookups, not products).
    public static func runEncoderTraining(only: Set<String>?, tiny: Bool = false, emit: (BenchmarkRecord) -> Void) {
        let name = "train_minilm_classifier"
        guard only == nil || only!.contains(name) else { return }
        let roofline = KernelBenchmarks.measureSGEMM(size: tiny ? 64 : 1024, repetitions: tiny ? 1 : 10)
        let labels = (0..<28).map { "l\($0)" }
        var configuration = EncoderConfiguration(hiddenSize: 384, layers: 6, heads: 12, intermediateSize: 1536,
                                                 labels: labels, problemType: "multi_label_classification")
        var (batch, block) = (32, 32)
        if tiny {
            configuration = EncoderConfiguration(vocabularySize: 50, hiddenSize: 16, layers: 2, heads: 2, intermediateSize: 32, positions: 32,
                                                 labels: labels, problemType: "multi_label_classification")
            (batch, block) = (2, 8)
        }
        let model = BertForSequenceClassification(configuration, seed: 1)
        model.setTraining(true)
        let optimizer = AdamW(parameters: model.namedParameters(), configuration: AdamWConfiguration(learningRate: 5e-5))
        var generator = RandomGenerator(seed: 5)
        let sequences = (0..<batch).map { _ in (0..<block).map { _ in generator.nextInt(below: configuration.vocabularySize) } }
        let input = EncoderInput(sequences: sequences, padding: 0)
        let targets = (0..<(batch * labels.count)).map { _ in Float(generator.nextInt(below: 10) == 0 ? 1 : 0) }
        func step() {
            multiLabelBinaryCrossEntropy(logits: model(input), targets: targets).backward()
            optimizer.step()
            optimizer.zeroGrad()
        }
        let seconds = medianSeconds(repetitions: tiny ? 1 : 5, step)
        let tokensPerSecond = Double(batch * block) / seconds
        let embeddings = model.bert.embeddings
        let tables = embeddings.word_embeddings.weight.count + embeddings.position_embeddings.weight.count + embeddings.token_type_embeddings.weight.count
        let flopsPerToken = 6 * Double(model.parameterCount - tables) + 12 * Double(configuration.layers * configuration.hiddenSize * block)
        emit(BenchmarkRecord(name: name, fields: [
            ("batch", .integer(batch)), ("block", .integer(block)), ("parameters", .integer(model.parameterCount)),
            ("step_ms", .number(seconds * 1e3)), ("tokens_per_second", .number(tokensPerSecond)),
            ("mfu", .number(flopsPerToken * tokensPerSecond / (roofline * 1e9))), ("sgemm_gflops", .number(roofline)),
            ("peak_resident_mb", .number(peakResidentMegabytes())),
        ]))
    }

    /// Runs the selected generation benchmarks, one record per batch size.
    public static func run(only: Set<String>?, tiny: Bool = false, emit: (BenchmarkRecord) -> Void) {
        for (name, full, batches) in generationCases where only == nil || only!.contains(name) {
            var configuration = full
            var promptLength = 64, newTokens = 128, batchSizes = batches
            if tiny {
                configuration = GPT2Configuration(vocabularySize: 50, positions: 32, embeddingDimension: 16, layers: 2, heads: 2)
                promptLength = 8; newTokens = 8; batchSizes = [1, 2]
            }
            let model = GPT2LMHeadModel(configuration, seed: 1)
            model.setTraining(false)
            for batch in batchSizes {
                var generator = RandomGenerator(seed: 7)
                let prompts = (0..<batch).map { _ in (0..<promptLength).map { _ in generator.nextInt(below: configuration.vocabularySize) } }
                let request = GenerationConfiguration(maxNewTokens: newTokens, sampling: SamplingConfiguration(temperature: 1),
                                                      stopAtEndOfSequence: false)
                var produced = 0
                let seconds = medianSeconds(repetitions: tiny ? 1 : 2) {
                    var g = RandomGenerator(seed: 11)
                    let result = (try? generate(model, prompts: prompts, configuration: request, generator: &g)) ?? []
                    produced = result.reduce(0) { $0 + $1.tokens.count }
                }
                emit(BenchmarkRecord(name: name, fields: [
                    ("batch", .integer(batch)), ("prompt_tokens", .integer(promptLength)), ("new_tokens", .integer(newTokens)),
                    ("parameters", .integer(model.parameterCount)), ("seconds", .number(seconds)),
                    ("tokens_per_second", .number(Double(produced) / seconds)),
                ]))
            }
        }
    }

    /// Step-level batching as the server runs it: `concurrency` requests (16-token prompts, 96
    /// new tokens, temperature 1, each with its own seed) decoded together by a ``DecodingBatch``
    /// on the Shakespeare-sized model; aggregate new tokens/s, per-request tokens/s, and the
    /// speed-up of the aggregate over one request alone.
    public static func runServing(only: Set<String>?, tiny: Bool = false, emit: (BenchmarkRecord) -> Void) {
        guard only == nil || only!.contains("serve_batching") else { return }
        var configuration = generationCases[1].1
        var promptLength = 16, newTokens = 96, levels = [1, 4, 16]
        if tiny {
            configuration = GPT2Configuration(vocabularySize: 50, positions: 32, embeddingDimension: 16, layers: 2, heads: 2, bosTokenId: nil, eosTokenId: nil)
            promptLength = 4; newTokens = 8; levels = [1, 2]
        }
        let model = GPT2LMHeadModel(configuration, seed: 1)
        var single = 0.0
        for concurrency in levels {
            var produced = 0
            let seconds = medianSeconds(repetitions: tiny ? 1 : 2) {
                let batch = DecodingBatch(model: model, maximumBatch: concurrency)
                var generator = RandomGenerator(seed: 3)
                for id in 0..<concurrency {
                    let prompt = (0..<promptLength).map { _ in generator.nextInt(below: configuration.vocabularySize) }
                    try? batch.admit(id: id, DecodingRequest(prompt: prompt, configuration: GenerationConfiguration(
                        maxNewTokens: newTokens, sampling: SamplingConfiguration(temperature: 1), stopAtEndOfSequence: false), seed: UInt64(id)))
                }
                produced = 0
                while batch.activeCount > 0 {
                    produced += batch.step().filter { if case .token = $0 { return true } else { return false } }.count
                }
            }
            let rate = Double(produced) / seconds
            if concurrency == 1 { single = rate }
            emit(BenchmarkRecord(name: "serve_batching", fields: [
                ("concurrency", .integer(concurrency)), ("prompt_tokens", .integer(promptLength)), ("new_tokens", .integer(newTokens)),
                ("parameters", .integer(model.parameterCount)), ("seconds", .number(seconds)),
                ("tokens_per_second", .number(rate)), ("tokens_per_second_per_request", .number(rate / Double(concurrency))),
                ("speedup_over_one", .number(single > 0 ? rate / single : 0)),
            ]))
        }
    }
}

/// The process's peak resident memory in megabytes.
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1_048_576  // bytes on macOS
    #endif
}
