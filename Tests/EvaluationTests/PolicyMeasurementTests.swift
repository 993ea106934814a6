// Policy measurements and the over-optimization study: distinct-n and separator share by hand, a
// policy against itself has KL 0, and the study's verdict follows the numbers (a drop within the
// noise is not called over-optimization).

import Alignment
import Evaluation
import Foundation
import Models
import Testing
import Tokenizers

@Suite("Policy measurement and over-optimization")
struct PolicyMeasurementTests {
    @Test("distinct-n by hand")
    func distinct() {
        #expect(PolicyMeasurement.distinct([[1, 2, 1, 2], [1, 3]], n: 1) == 3.0 / 6)
        #expect(PolicyMeasurement.distinct([[1, 2, 1, 2], [1, 3]], n: 2) == 3.0 / 4)  // 12, 21, 12 | 13
        #expect(PolicyMeasurement.distinct([[1]], n: 2) == 0)
    }

    @Test("a policy measured against itself has KL 0; another policy's KL is positive; separators counted")
    func measure() throws {
        let tokenizer = CharacterTokenizer(corpus: " .,\nabc")
        func model(_ seed: UInt64) -> GPT2LMHeadModel {
            GPT2LMHeadModel(GPT2Configuration(vocabularySize: tokenizer.vocabularySize, positions: 32, embeddingDimension: 16,
                                              layers: 1, heads: 2, bosTokenId: nil, eosTokenId: nil), seed: seed)
        }
        var settings = PPOConfiguration()
        settings.maxNewTokens = 12
        settings.temperature = 1
        let (policy, other) = (model(1), model(2))
        let sampler = try PolicySampler(configuration: settings, tokenizer: tokenizer, modelConfiguration: policy.configuration)
        let itself = try PolicyMeasurement.measure(name: "p", policy: policy, reference: policy, sampler: sampler, prompts: ["ab", "c"],
                                                   samplesPerPrompt: 3, proxy: UppercaseFractionReward(), gold: LexiconSentimentReward(), seed: 5)
        #expect(itself.samples.count == 6 && abs(itself.kl) < 1e-4)
        #expect(itself.meanLength == 12)
        let characters = itself.samples.flatMap { Array($0.response) }
        let separators = characters.filter { " .,\n".contains($0) }.count
        #expect(abs(itself.separatorRatio - Double(separators) / Double(characters.count)) < 1e-9)
        let versus = try PolicyMeasurement.measure(name: "p", policy: policy, reference: other, sampler: sampler, prompts: ["ab", "c"],
                                                   samplesPerPrompt: 3, proxy: UppercaseFractionReward(), gold: nil, seed: 5)
        #expect(versus.samples.map(\.response) == itself.samples.map(\.response))  // same seed, same policy
        #expect(versus.kl > 0 && versus.gold == nil)
    }

    func point(_ step: Int, proxy: Double, golds: [Double], kl: Double) -> PolicyMeasurement {
        PolicyMeasurement(name: "step-\(step)", step: step, proxy: proxy, gold: golds.reduce(0, +) / Double(golds.count), kl: kl,
                          separatorRatio: 0.2, distinct1: 0.5, distinct2: 0.8, meanLength: 10,
                          samples: golds.map { MeasuredSample(prompt: "", response: "", proxy: proxy, gold: $0, kl: kl) })
    }

    @Test("the verdict: gold falling beyond its noise while the proxy rises is over-optimization; a drop within noise is not")
    func verdict() {
        let tight = [-0.01, 0.0, 0.01]
        let overOptimised = OverOptimizationStudy(run: "r", points: [
            point(0, proxy: 0, golds: tight.map { $0 + 0.1 }, kl: 0), point(5, proxy: 1, golds: tight.map { $0 + 0.5 }, kl: 2),
            point(10, proxy: 2, golds: tight.map { $0 + 0.2 }, kl: 6)])
        #expect(overOptimised.goldPeak?.step == 5 && overOptimised.proxyPeak?.step == 10)
        #expect(overOptimised.summary.contains("Gold peaked at step 5") && overOptimised.summary.contains("over-optimised"))
        let wide = [-1.0, 0.0, 1.0]
        let noisy = OverOptimizationStudy(run: "r", points: [
            point(0, proxy: 0, golds: wide.map { $0 + 0.1 }, kl: 0), point(5, proxy: 1, golds: wide.map { $0 + 0.3 }, kl: 2),
            point(10, proxy: 2, golds: wide.map { $0 + 0.2 }, kl: 6)])
        #expect(!noisy.summary.contains("over-optimised") && noisy.summary.contains("noise"))
        let rising = OverOptimizationStudy(run: "r", points: [
            point(10, proxy: 2, golds: tight.map { $0 + 0.9 }, kl: 6), point(0, proxy: 0, golds: tight, kl: 0)])
        #expect(rising.points.map(\.step) == [0, 10])  // sorted by step
        #expect(rising.summary.contains("had not turned down"))
        #expect(rising.csv.hasPrefix("step,proxy,gold,kl,separator_ratio,distinct_1,distinct_2,mean_length\n0,0,"))
    }
}
