// A policy measured on prompts the way PPO samples it: proxy (reward-model) score, gold score,
// KL to a reference policy, and the signs of degenerate text — the share of separator tokens and
// distinct-n diversity. One measurement per model in the demo's comparison, one per checkpoint in
// the over-optimization study.

import Alignment
import Foundation
import Models
import Tensors
import Tokenizers

/// One generated response with its scores.
public struct MeasuredSample: Sendable, Equatable, Codable {
    /// The prompt and the response text the scorers saw.
    public var prompt: String, response: String
    /// Proxy and gold scores; Σ_t log π − log π_ref of this response.
    public var proxy: Double, gold: Double?, kl: Double

    /// A sample.
    public init(prompt: String, response: String, proxy: Double, gold: Double?, kl: Double) {
        (self.prompt, self.response, self.proxy, self.gold, self.kl) = (prompt, response, proxy, gold, kl)
    }
}

/// Means over the samples of one policy.
public struct PolicyMeasurement: Sendable, Equatable, Codable {
    /// The policy's name ("pretrained", "ppo", "step-20", …) and training step when known.
    public var name: String, step: Int?
    /// Mean proxy score (the reward model PPO optimised).
    public var proxy: Double
    /// Mean gold score (the stand-in for human raters), when a gold scorer is given.
    public var gold: Double?
    /// Mean Σ_t (log π − log π_ref) per response: the KL estimate PPO reports as objective/kl.
    public var kl: Double
    /// Share of generated tokens that are "\n", " ", "," or "." (EOS excluded).
    public var separatorRatio: Double
    /// Distinct n-grams over all n-grams of the generated tokens, n = 1 and 2 (Li et al., 2016).
    public var distinct1: Double, distinct2: Double
    /// Mean response length in tokens (EOS excluded).
    public var meanLength: Double
    /// The samples measured.
    public var samples: [MeasuredSample]

    /// Standard error of the mean gold score (sample standard deviation / √n), nil without gold.
    public var goldStandardError: Double? {
        let golds = samples.compactMap(\.gold)
        guard golds.count > 1 else { return nil }
        let mean = golds.reduce(0, +) / Double(golds.count)
        let variance = golds.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(golds.count - 1)
        return (variance / Double(golds.count)).squareRoot()
    }

    /// A measurement from its parts (for tests and programs).
    public init(name: String, step: Int?, proxy: Double, gold: Double?, kl: Double, separatorRatio: Double,
                distinct1: Double, distinct2: Double, meanLength: Double, samples: [MeasuredSample]) {
        (self.name, self.step, self.proxy, self.gold, self.kl) = (name, step, proxy, gold, kl)
        (self.separatorRatio, self.distinct1, self.distinct2, self.meanLength, self.samples) = (separatorRatio, distinct1, distinct2, meanLength, samples)
    }

    /// The separators counted by ``separatorRatio``.
    public static let separators: Set<String> = ["\n", " ", ",", "."]

    /// Samples `samplesPerPrompt` responses per prompt from `policy` with `sampler`'s settings
    /// and a fixed seed, and measures them (without dropout, as generation samples).
    /// - Parameters:
    ///   - policy: the model measured; `reference`: the policy KL is measured against.
    ///   - proxy: the reward optimised; `gold`: the independent judge (optional).
    public static func measure(name: String, step: Int? = nil, policy: any AutoregressiveModel, reference: any AutoregressiveModel,
                               sampler: PolicySampler, prompts: [String], samplesPerPrompt: Int = 1,
                               proxy: any RewardFunction, gold: (any RewardFunction)?, seed: UInt64) throws -> PolicyMeasurement {
        let repeated = prompts.flatMap { Array(repeating: $0, count: max(samplesPerPrompt, 1)) }
        guard !repeated.isEmpty else { throw RunError.emptyData(path: "prompts", problem: "no prompts to measure \(name) on") }
        var generator = RandomGenerator(seed: seed)
        let sampled = try sampler.sample(policy, prompts: repeated, generator: &generator)
        let proxyScores = try proxy.rewards(prompts: repeated, responses: sampled.texts)
        let goldScores = try gold?.rewards(prompts: repeated, responses: sampled.texts)
        let policyLogProbabilities = sampler.logProbabilities(policy, of: sampled)
        let referenceLogProbabilities = sampler.logProbabilities(reference, of: sampled)
        let kl = zip(policyLogProbabilities, referenceLogProbabilities).map { zip($0, $1).reduce(0.0) { $0 + Double($1.0 - $1.1) } }
        let generated = sampled.responseTokens.map { tokens in
            tokens.last.map(Int.init) == sampler.endOfSequence ? Array(tokens.dropLast()) : tokens
        }
        let all = generated.flatMap { $0 }
        let separatorIds = Set(all).filter { Self.separators.contains(sampler.tokenizer.decode([Int($0)])) }
        let separatorCount = all.filter(separatorIds.contains).count
        let samples = repeated.indices.map { i in
            MeasuredSample(prompt: repeated[i], response: sampled.texts[i], proxy: Double(proxyScores[i]),
                           gold: goldScores.map { Double($0[i]) }, kl: kl[i])
        }
        return PolicyMeasurement(
            name: name, step: step, proxy: average(proxyScores.map(Double.init)), gold: goldScores.map { average($0.map(Double.init)) },
            kl: average(kl), separatorRatio: all.isEmpty ? 0 : Double(separatorCount) / Double(all.count),
            distinct1: distinct(generated, n: 1), distinct2: distinct(generated, n: 2),
            meanLength: average(generated.map { Double($0.count) }), samples: samples)
    }

    /// Distinct n-grams over all n-grams in `sequences` (n-grams do not cross sequences); 0 when there are none.
    public static func distinct(_ sequences: [[Int32]], n: Int) -> Double {
        var seen = Set<[Int32]>(), total = 0
        for sequence in sequences where sequence.count >= n {
            for start in 0...(sequence.count - n) {
                seen.insert(Array(sequence[start..<(start + n)]))
                total += 1
            }
        }
        return total == 0 ? 0 : Double(seen.count) / Double(total)
    }
}

func average(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
