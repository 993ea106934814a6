// Choosing the next token from a row of logits: greedy, temperature, top-k, top-p (nucleus).

import Foundation
import Tensors

/// How the next token is chosen. Temperature 0 is greedy decoding.
public struct SamplingConfiguration: Codable, Equatable, Sendable {
    /// Logits are divided by it before sampling; 0 picks the most likely token.
    public var temperature: Float
    /// Keep only the k most likely tokens (0 or nil: all).
    public var topK: Int?
    /// Keep the smallest set of most likely tokens whose probability reaches top_p (1: all).
    public var topP: Float

    enum CodingKeys: String, CodingKey { case temperature, topK = "top_k", topP = "top_p" }

    /// Plain sampling at temperature 1 by default.
    public init(temperature: Float = 1, topK: Int? = nil, topP: Float = 1) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    /// Checks the ranges; the message names the field.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw GenerationError("temperature must be ≥ 0, got \(temperature)") }
        if let topK, topK < 0 { throw GenerationError("top_k must be ≥ 0, got \(topK)") }
        guard topP > 0 && topP <= 1 else { throw GenerationError("top_p must be in (0, 1], got \(topP)") }
    }
}

/// A generation request that cannot run, with what is wrong.
public struct GenerationError: Error, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// log softmax(logits / temperature)[token] in Double (temperature 0 counts as 1): the
/// log-probability a training pass recomputes for a sampled token.
public func tokenLogProbability(_ logits: UnsafeBufferPointer<Float>, token: Int, temperature: Float) -> Float {
    let t = Double(temperature > 0 ? temperature : 1)
    var maximum = -Double.infinity
    for value in logits { maximum = max(maximum, Double(value) / t) }
    var total = 0.0
    for value in logits { total += Foundation.exp(Double(value) / t - maximum) }
    return Float(Double(logits[token]) / t - maximum - Foundation.log(total))
}

/// Picks a token from one row of logits.
///
/// - Parameters:
///   - logits: V scores.
///   - banned: a token that may not be chosen (EOS before min_new_tokens), or nil.
public func sampleToken(
    _ logits: UnsafeBufferPointer<Float>, configuration: SamplingConfiguration, banned: Int? = nil,
    generator: inout RandomGenerator
) -> Int {
    let V = logits.count
    if configuration.temperature == 0 {
        var best = -1
        var bestValue = -Float.infinity
        for i in 0..<V where i != banned && (best < 0 || logits[i] > bestValue) { best = i; bestValue = logits[i] }
        return best
    }
    let inverse = 1 / Double(configuration.temperature)
    var scores = [Double](repeating: 0, count: V)
    for i in 0..<V { scores[i] = Double(logits[i]) * inverse }
    if let banned { scores[banned] = -.infinity }
    var candidates: [Int]? = nil  // nil: the whole vocabulary
    let k = configuration.topK ?? 0
    if (k > 0 && k < V) || configuration.topP < 1 {
        var order = Array(0..<V)
        order.sort { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        if k > 0 && k < V { order.removeSubrange(k...) }
        if configuration.topP < 1 {
            let maximum = scores[order[0]]
            let weights = order.map { Foundation.exp(scores[$0] - maximum) }
            let total = weights.reduce(0, +)
            var cumulative = 0.0
            var keep = 0
            while keep < order.count {
                cumulative += weights[keep] / total
                keep += 1
                if cumulative >= Double(configuration.topP) { break }
            }
            order.removeSubrange(keep...)
        }
        candidates = order
    }
    let pool = candidates ?? Array(0..<V)
    var maximum = -Double.infinity
    for i in pool { maximum = max(maximum, scores[i]) }
    var total = 0.0
    for i in pool { total += Foundation.exp(scores[i] - maximum) }
    var threshold = generator.nextDouble() * total
    for i in pool {
        threshold -= Foundation.exp(scores[i] - maximum)
        if threshold < 0 { return i }
    }
    return pool.last { scores[$0] > -.infinity } ?? pool[0]
}
