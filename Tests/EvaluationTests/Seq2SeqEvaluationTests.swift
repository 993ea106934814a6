// The evaluations with an encoder-decoder policy: a policy measurement's KL is the sum of the
// per-token log-prob differences the two models give each sampled response, and the responses
// `compare`, `winrate` and `rate sample` collect from a seq2seq checkpoint are `generate`'s.

import Alignment
import Evaluation
import Foundation
import Models
import Tensors
import TestFamilies
import Testing
import Tokenizers

@Suite("Evaluating an encoder-decoder")
struct Seq2SeqEvaluationTests {
    let tokenizer = CharacterTokenizer(corpus: " .,\nabc")

    func model(_ seed: UInt64) -> TinySeq2SeqPolicy {
        TinySeq2SeqPolicy(TinySeq2SeqPolicyConfiguration(vocabularySize: tokenizer.vocabularySize, hiddenSize: 16, positions: 32,
                                                         eosTokenId: nil, padTokenId: 0, dropout: 0), seed: seed)
    }

    @Test("a seq2seq policy measured against itself has KL 0; against another, the KL is Σ log π − log π_ref of each response")
    func measure() throws {
        var settings = PPOConfiguration()
        settings.maxNewTokens = 6
        settings.temperature = 1
        let (policy, other) = (model(1), model(2))
        let sampler = try PolicySampler(configuration: settings, tokenizer: tokenizer, modelConfiguration: policy.modelConfiguration)
        let itself = try PolicyMeasurement.measure(name: "p", policy: policy, reference: policy, sampler: sampler, prompts: ["ab", "c"],
                                                   samplesPerPrompt: 2, proxy: UppercaseFractionReward(), gold: nil, seed: 5)
        #expect(itself.samples.count == 4 && itself.kl == 0 && itself.meanLength == 6)
        let versus = try PolicyMeasurement.measure(name: "p", policy: policy, reference: other, sampler: sampler, prompts: ["ab", "c"],
                                                   samplesPerPrompt: 2, proxy: UppercaseFractionReward(), gold: nil, seed: 5)
        #expect(versus.samples.map(\.response) == itself.samples.map(\.response))
        for sample in versus.samples {
            let prompt = tokenizer.encode(sample.prompt), response = tokenizer.encode(sample.response)
            let expected = zip(try responseLogProbabilities(policy, prompt: prompt, response: response),
                               try responseLogProbabilities(other, prompt: prompt, response: response)).reduce(0.0) { $0 + Double($1.0 - $1.1) }
            #expect(abs(sample.kl - expected) < 1e-4, "\(sample.kl) vs \(expected)")
        }
        #expect(versus.kl != 0)
    }

    @Test("generateResponses (compare, winrate, rate sample) loads a seq2seq checkpoint and writes generate's responses")
    func responses() throws {
        _ = registerTinySeq2SeqFamily
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-s2s-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = model(4)
        try policy.save(to: directory, tokenizer: tokenizer)
        let generation = GenerationConfiguration(maxNewTokens: 5, sampling: SamplingConfiguration(temperature: 0))
        let written = try generateResponses(directory: directory, prompts: ["ab", "c", "cab"], generation: generation)
        var generator = RandomGenerator(seed: 0)
        let expected = try generate(policy, prompts: ["ab", "c", "cab"].map { tokenizer.encode($0) }, configuration: generation, generator: &generator)
            .map { tokenizer.decode($0.tokens) }
        #expect(written == expected)
        #expect(Set(written).count > 1)
    }
}
