// Choosing the next token from a row of logits: greedy, temperature, top-k, top-p (nucleus).

import Foundation
import Kernels
import Tensors

/// How the next token is chosen. Temperature 0 is greedy decoding.
public struct SamplingConfiguration: Codable, Equatable, Sendable {
    /// Logits are divided by it before sampling; 0 picks the most likely token, and so does any
    /// temperature below ``greedyBelow`` (whose 1/T would overflow or make the arithmetic meaningless).
    public var temperature: Float

    /// Temperatures below this decode greedily, as 0 does.
    public static let greedyBelow: Float = 1e-4
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
    /// An error saying `message`.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Picks a token from one row of logits and returns it with its log-probability.
///
/// The log-probability is log softmax(logits / temperature)[token] over the given logits
/// (a greedy temperature — 0, or below ``SamplingConfiguration/greedyBelow`` — counts as 1; top-k
/// and top-p do not change it), and, when a token is banned,
/// over the other tokens only (the distribution renormalized without it, which is the one
/// sampled): what a training pass over the same sequence recomputes. One vectorized exp pass
/// serves both.
///
/// - Parameters:
///   - logits: V scores (pass only the ids that may be sampled).
///   - banned: a token that may not be chosen (EOS before min_new_tokens), or nil.
public func sampleToken(
    _ logits: UnsafeBufferPointer<Float>, configuration: SamplingConfiguration, banned: Int? = nil,
    generator: inout RandomGenerator
) -> (token: Int, logProbability: Float) {
    let V = logits.count
    let greedy = configuration.temperature < SamplingConfiguration.greedyBelow
    let temperature = greedy ? 1 : configuration.temperature
    var probabilities = [Float](repeating: 0, count: V)
    var lse: Float = probabilities.withUnsafeMutableBufferPointer { buffer in
        let scaled = buffer.baseAddress!
        affineForward(logits.baseAddress!, scaled, count: V, scale: 1 / temperature, shift: 0)
        let lse = logSumExp(scaled, count: V)
        _ = sumExponentials(scaled, count: V, shift: lse, storeInto: scaled)  // now p_i
        return lse
    }
    if let banned, banned >= 0, banned < V {
        // Renormalize without the banned token: log Σ_{i≠banned} exp(x_i/T) = lse + log Σ_{i≠banned} p_i
        // (summed, not 1 − p_banned, so that a banned token of probability near 1 loses no precision).
        probabilities[banned] = 0
        let rest = probabilities.reduce(0.0) { $0 + Double($1) }
        if rest > 0 {
            lse += Float(Foundation.log(rest))
        } else {  // every other token underflowed beside the banned one: the log-sum-exp of the rest, directly
            let others = (0..<V).filter { $0 != banned }.map { Double(logits[$0] / temperature) }
            let peak = others.max() ?? 0
            lse = Float(peak + Foundation.log(others.reduce(0.0) { $0 + Foundation.exp($1 - peak) }))
        }
    }
    func result(_ token: Int) -> (token: Int, logProbability: Float) {
        (token, logits[token] / temperature - lse)
    }
    func mostLikely() -> Int {
        var best = -1
        for i in 0..<V where i != banned && (best < 0 || logits[i] > logits[best]) { best = i }
        return best
    }
    if greedy { return result(mostLikely()) }
    var pool: [Int]? = nil  // nil: the whole vocabulary
    let k = configuration.topK ?? 0
    if (k > 0 && k < V) || configuration.topP < 1 {
        var order = Array(0..<V)
        order.sort { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        if k > 0 && k < V { order.removeSubrange(k...) }
        if configuration.topP < 1 {
            // The nucleus of the (top-k) distribution, renormalized as Hugging Face's warpers do.
            let mass = order.reduce(0.0) { $0 + Double(probabilities[$1]) }
            var cumulative = 0.0, keep = 0
            while keep < order.count {
                cumulative += Double(probabilities[order[keep]]) / mass
                keep += 1
                if cumulative >= Double(configuration.topP) { break }
            }
            order.removeSubrange(keep...)
        }
        pool = order
    }
    let total = (pool ?? Array(0..<V)).reduce(0.0) { $0 + Double(probabilities[$1]) }
    guard total > 0 else { return result(mostLikely()) }
    var threshold = generator.nextDouble() * total
    if let pool {
        for i in pool {
            threshold -= Double(probabilities[i])
            if threshold < 0 { return result(i) }
        }
        return result(pool.last { probabilities[$0] > 0 } ?? pool[0])
    }
    for i in 0..<V {
        threshold -= Double(probabilities[i])
        if threshold < 0 { return result(i) }
    }
    return result((0..<V).last { probabilities[$0] > 0 } ?? mostLikely())
}
