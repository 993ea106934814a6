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
        guard texts.count >= 2 else { throw RunError.emptyData(path: "normalization", problem: "needs at least 2 samples, got \(texts.count)") }
        let saved = (model.head.gain, model.head.bias)
        model.head.gain = 1
        model.head.bias = 0
        let raw = try model.rewards(for: texts, batchSize: batchSize).map(Double.init)
        let mean = raw.reduce(0, +) / Double(raw.count)
        let variance = raw.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(raw.count)
        let standardDeviation = variance.squareRoot()
        guard standardDeviation > 1e-8 else {
            (model.head.gain, model.head.bias) = saved
            throw RunError.external(source: "normalization", problem: "the \(raw.count) samples all get the same reward \(mean); cannot scale to standard deviation 1")
        }
        model.head.gain = Float(1 / standardDeviation)
        model.head.bias = Float(-mean / standardDeviation)
        model.head.normalizationSamples = raw.count
        model.head.normalizationMean = Float(mean)
        model.head.normalizationStandardDeviation = Float(standardDeviation)
        return (mean, standardDeviation)
    }

    /// Samples `samples` responses from `policy` the way `sampling` samples them — PPO's
    /// generation settings (temperature, top-k/top-p, response length, whether EOS ends a
    /// response), as lm-human-preferences fits gain and bias on the policy's own responses — on
    /// prompts drawn in a seeded cycle from `prompts`, and fits the normalization on prompt +
    /// response. Prompts too long for the policy keep their end.
    /// - Returns: the raw mean and standard deviation of the samples' rewards.
    @discardableResult
    public static func fit(_ model: RewardModel, policy: any AutoregressiveModel, policyTokenizer: any Tokenizer, prompts: [String],
                           samples: Int, sampling: PPOConfiguration, seed: UInt64, batchSize: Int = 16) throws -> (mean: Double, standardDeviation: Double) {
        let texts = try sampleTexts(policy: policy, policyTokenizer: policyTokenizer, prompts: prompts, samples: samples,
                                    sampling: sampling, seed: seed)
        return try fit(model, texts: texts, batchSize: batchSize)
    }

    /// prompt + response texts of `samples` responses sampled from `policy` as `sampling` says, on
    /// prompts drawn in a seeded cycle from `prompts`.
    public static func sampleTexts(policy: any AutoregressiveModel, policyTokenizer: any Tokenizer, prompts: [String], samples: Int,
                                   sampling: PPOConfiguration, seed: UInt64) throws -> [String] {
        guard !prompts.isEmpty else { throw RunError.emptyData(path: "normalization", problem: "no prompts to sample the policy on") }
        guard sampling.maxNewTokens >= 1, sampling.maxNewTokens < policy.modelConfiguration.positions else {
            throw RunError.invalidSetting(field: "normalization_response_length", source: "config", problem: "is \(sampling.maxNewTokens); expected 1..<\(policy.modelConfiguration.positions)")
        }
        guard sampling.temperature > 0, sampling.temperature.isFinite else {
            throw RunError.invalidSetting(field: "normalization_temperature", source: "config", problem: "is \(sampling.temperature); expected a positive number")
        }
        let sampler = try PolicySampler(configuration: sampling, tokenizer: policyTokenizer, modelConfiguration: policy.modelConfiguration)
        let order = Datasets.Split.shuffled(Array(prompts.indices), seed: seed)
        let chosen = (0..<samples).map { prompts[order[$0 % order.count]] }
        var generator = RandomGenerator(seed: seed ^ 0x9E37)
        let sampled = try sampler.sample(policy, prompts: chosen, generator: &generator)
        return zip(chosen, sampled.texts).map { $0 + $1 }
    }
}
