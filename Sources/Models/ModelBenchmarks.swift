// Model-level benchmarks for `rlhf bench`: generation speed (new tokens per second) at the
// shapes the issues name, with random weights.

import Foundation
import Kernels
import Tensors

/// Generation benchmarks: 64-token prompts, 128 new tokens, sampling at temperature 1.
public enum ModelBenchmarks {
    /// (name, configuration, batch sizes) of each generation benchmark.
    public static let generationCases: [(String, GPT2Configuration, [Int])] = [
        ("generate_gpt2_small", GPT2Configuration(), [1, 16]),
        ("generate_shakespeare", GPT2Configuration(vocabularySize: 65, positions: 256, embeddingDimension: 384, layers: 6, heads: 6,
                                                   bosTokenId: nil, eosTokenId: nil), [1, 64]),
    ]

    /// Every benchmark name this suite answers to.
    public static var names: [String] { generationCases.map(\.0) }

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
}
