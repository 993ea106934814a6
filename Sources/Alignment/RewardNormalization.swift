// Reward normalization as openai/lm-human-preferences does it (train_reward.py, `normalize`):
// sample responses from a policy on prompts, score them with the reward model's raw output, and
// set gain = 1/std, bias = −mean/std, so the policy's rewards have mean 0 and standard deviation 1.

import Datasets
import Foundation
import Models
import Tensors
import Tokenizers

/// Fits a reward model's gain and bias.
public enum RewardNormalizer {
    /// Sets `model.head` gain and bias so that the rewards of `texts` have mean 0 and (population)
    /// standard deviation 1; returns the raw mean and standard deviation.
    /// - Throws: ``RunError`` when there are fewer than 2 texts or their raw rewards are all equal.
    @discardableResult
    public static func fit(_ model: RewardModel, texts: [String], batchSize: Int = 16) throws -> (mean: Double, standardDeviation: Double) {
        guard texts.count >= 2 else { throw RunError(path: "normalization", message: "needs at least 2 samples, got \(texts.count)") }
        let saved = (model.head.gain, model.head.bias)
        model.head.gain = 1
        model.head.bias = 0
        let raw = try model.rewards(for: texts, batchSize: batchSize).map(Double.init)
        let mean = raw.reduce(0, +) / Double(raw.count)
        let variance = raw.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(raw.count)
        let standardDeviation = variance.squareRoot()
        guard standardDeviation > 1e-8 else {
            (model.head.gain, model.head.bias) = saved
            throw RunError(path: "normalization", message: "the \(raw.count) samples all get the same reward \(mean); cannot scale to standard deviation 1")
        }
        model.head.gain = Float(1 / standardDeviation)
        model.head.bias = Float(-mean / standardDeviation)
        model.head.normalizationSamples = raw.count
        model.head.normalizationMean = Float(mean)
        model.head.normalizationStandardDeviation = Float(standardDeviation)
        return (mean, standardDeviation)
    }

    /// Samples `samples` responses of up to `responseLength` tokens from `policy` (temperature 1)
    /// on prompts drawn in a seeded cycle from `prompts`, and fits the normalization on
    /// prompt + response. Prompts too long for the policy keep their end.
    /// - Returns: the raw mean and standard deviation of the samples' rewards.
    @discardableResult
    public static func fit(_ model: RewardModel, policy: GPT2LMHeadModel, policyTokenizer: any Tokenizer, prompts: [String],
                           samples: Int, responseLength: Int, seed: UInt64, batchSize: Int = 16) throws -> (mean: Double, standardDeviation: Double) {
        guard !prompts.isEmpty else { throw RunError(path: "normalization", message: "no prompts to sample the policy on") }
        guard responseLength >= 1, responseLength < policy.configuration.positions else {
            throw RunError(path: "config", message: "field 'normalization_response_length' is \(responseLength); expected 1..<\(policy.configuration.positions)")
        }
        let order = Datasets.Split.shuffled(Array(prompts.indices), seed: seed)
        let chosen = (0..<samples).map { prompts[order[$0 % order.count]] }
        var generator = RandomGenerator(seed: seed ^ 0x9E37)
        let budget = policy.configuration.positions - responseLength
        var texts: [String] = []
        for start in stride(from: 0, to: chosen.count, by: max(batchSize, 1)) {
            let batch = Array(chosen[start..<min(start + max(batchSize, 1), chosen.count)])
            let ids = try batch.map { prompt -> [Int] in
                let encoded: ArraySlice<Int>
                do { encoded = try policyTokenizer.encodeChecked(prompt).suffix(budget) } catch {
                    throw RunError(path: "normalization", message: "cannot tokenize a prompt for the policy: \(error)")
                }
                return encoded.isEmpty ? [policy.configuration.eosTokenId ?? policy.configuration.bosTokenId ?? 0] : Array(encoded)
            }
            let generated = try generate(policy, prompts: ids, configuration: GenerationConfiguration(maxNewTokens: responseLength),
                                         generator: &generator)
            for (prompt, sequence) in zip(batch, generated) {
                let tokens = sequence.finishReason == .endOfSequence ? Array(sequence.tokens.dropLast()) : sequence.tokens
                texts.append(prompt + policyTokenizer.decode(tokens))
            }
        }
        return try fit(model, texts: texts, batchSize: batchSize)
    }
}
