// Encoder-decoder benchmarks for `rlhf bench`: T5-small's shape (6 + 6 layers, d_model 512, d_ff
// 2048, 8 heads, vocabulary 32,128; v1.1's gated GELU and untied head) with random weights —
// training throughput on source → target pairs, and generation at batch 1 and 16. The peer is
// scripts/bench/torch_t5.py at the same shapes.

import Alignment
import Foundation
import Kernels
import Models
import NN
import Tensors

/// T5 training and generation benchmarks.
public enum Seq2SeqBenchmarks {
    /// Every benchmark name this suite answers to.
    public static let names = ["train_t5_small", "generate_t5_small"]

    /// T5-small as Flan-T5-small is shaped (v1.1: gated GELU, untied head), or a tiny one.
    static func configuration(tiny: Bool) -> T5Configuration {
        var configuration = T5Configuration()
        configuration.feedForwardProjection = "gated-gelu"
        configuration.tieWordEmbeddings = false
        configuration.scaleDecoderOutputs = false
        if tiny {
            configuration.vocabularySize = 60
            configuration.modelDimension = 16
            configuration.headSize = 4
            configuration.heads = 4
            configuration.feedForwardDimension = 32
            configuration.encoderLayers = 2
            configuration.decoderLayers = 2
        }
        return configuration
    }

    /// Training: batches of 8 sources of 128 tokens and targets of 32 (dropout 0.1), forward,
    /// loss, backward and an AdamW step; tokens/s counts source and target tokens. MFU counts 6
    /// FLOPs per weight per token through it, plus 12·inner per attended pair.
    public static func runTraining(only: Set<String>?, tiny: Bool = false, emit: (BenchmarkRecord) -> Void) {
        let name = "train_t5_small"
        guard only == nil || only!.contains(name) else { return }
        let roofline = KernelBenchmarks.measureSGEMM(size: tiny ? 64 : 1024, repetitions: tiny ? 1 : 10)
        let configuration = configuration(tiny: tiny)
        let (batch, sourceLength, targetLength) = tiny ? (2, 8, 4) : (8, 128, 32)
        let model = T5ForConditionalGeneration(configuration, seed: 1)
        model.setTraining(true)
        let optimizer = AdamW(parameters: model.namedParameters(), configuration: AdamWConfiguration(learningRate: 3e-4))
        var generator = RandomGenerator(seed: 5)
        func ids(_ count: Int) -> [Int32] { (0..<count).map { _ in Int32(2 + generator.nextInt(below: configuration.vocabularySize - 2)) } }
        let sources = IndexTensor(shape: [batch, sourceLength], values: ids(batch * sourceLength))
        let mask = Tensor(shape: [batch, sourceLength], values: [Float](repeating: 1, count: batch * sourceLength))
        let labels = IndexTensor(shape: [batch, targetLength], values: ids(batch * targetLength))
        func step() {
            model(sources, mask: mask, labels: labels).loss.backward()
            optimizer.step()
            optimizer.zeroGrad()
        }
        let seconds = medianSeconds(repetitions: tiny ? 1 : 5, step)
        let tokens = batch * (sourceLength + targetLength)
        let tokensPerSecond = Double(tokens) / seconds
        // 6 FLOPs per weight per token through it (2 forward, 4 backward): the encoder's weights per
        // source token, the decoder's and the head's per target token; plus 12·C per attended pair.
        let count = { (prefix: String) in Double(model.namedParameters().filter { $0.name.hasPrefix(prefix) }.reduce(0) { $0 + $1.tensor.count }) }
        let head = model.lm_head == nil ? Double(model.shared.weight.count) : count("lm_head.")
        let pairs = Double(configuration.encoderLayers * sourceLength * sourceLength
            + configuration.decoderLayers * (targetLength * targetLength + targetLength * sourceLength))
        let flopsPerStep = Double(batch) * (6 * count("encoder.") * Double(sourceLength) + 6 * (count("decoder.") + head) * Double(targetLength)
            + 12 * Double(configuration.innerDimension) * pairs)
        emit(BenchmarkRecord(name: name, fields: [
            ("batch", .integer(batch)), ("source_tokens", .integer(sourceLength)), ("target_tokens", .integer(targetLength)),
            ("parameters", .integer(model.parameterCount)), ("step_ms", .number(seconds * 1e3)),
            ("tokens_per_second", .number(tokensPerSecond)), ("mfu", .number(flopsPerStep / seconds / (roofline * 1e9))),
            ("sgemm_gflops", .number(roofline)), ("peak_resident_mb", .number(peakResidentMegabytes())),
        ]))
    }

    /// Generation: 64-token sources, 64 new tokens sampled at temperature 1 (no early stop), batch
    /// 1 and 16; new tokens per second.
    public static func run(only: Set<String>?, tiny: Bool = false, emit: (BenchmarkRecord) -> Void) {
        let name = "generate_t5_small"
        guard only == nil || only!.contains(name) else { return }
        let configuration = configuration(tiny: tiny)
        let (sourceLength, newTokens, batches) = tiny ? (8, 8, [1, 2]) : (64, 64, [1, 16])
        let model = T5ForConditionalGeneration(configuration, seed: 1)
        model.setTraining(false)
        for batch in batches {
            var generator = RandomGenerator(seed: 7)
            let prompts = (0..<batch).map { _ in (0..<sourceLength).map { _ in 2 + generator.nextInt(below: configuration.vocabularySize - 2) } }
            let request = GenerationConfiguration(maxNewTokens: newTokens, sampling: SamplingConfiguration(temperature: 1), stopAtEndOfSequence: false)
            var produced = 0
            let seconds = medianSeconds(repetitions: tiny ? 1 : 3) {
                var g = RandomGenerator(seed: 11)
                produced = ((try? generate(model, prompts: prompts, configuration: request, generator: &g)) ?? []).reduce(0) { $0 + $1.tokens.count }
            }
            emit(BenchmarkRecord(name: name, fields: [
                ("batch", .integer(batch)), ("source_tokens", .integer(sourceLength)), ("new_tokens", .integer(newTokens)),
                ("parameters", .integer(model.parameterCount)), ("seconds", .number(seconds)),
                ("tokens_per_second", .number(Double(produced) / seconds)),
            ]))
        }
    }
}
