// The items of a rating session and the blinding: an item's id is an opaque hash, each rater sees
// the items in an order of their own, and each pair's sides are placed per rater, so neither the
// id, the position nor the side tells where a response came from.

import Checksums
import Crypto
import Datasets
import Foundation

/// One thing a rater judges: a single response (rating mode) or two responses to one prompt
/// (pairwise mode, `second` set). The sources are the blinding key, never shown to raters.
public struct RatingItem: Codable, Sendable, Equatable, Identifiable {
    /// An opaque id (16 hex digits).
    public var id: String
    /// The prompt, shared by both responses of a pair.
    public var prompt: String
    /// The response (in pairwise mode, response A) and its source.
    public var source: String, response: String
    /// Response B of a pair and its source; nil in rating mode.
    public var secondSource: String?, secondResponse: String?

    /// An item.
    public init(id: String, prompt: String, source: String, response: String, secondSource: String? = nil, secondResponse: String? = nil) {
        self.id = id
        self.prompt = prompt
        self.source = source
        self.response = response
        self.secondSource = secondSource
        self.secondResponse = secondResponse
    }

    /// Whether the item is a pair.
    public var isPair: Bool { secondResponse != nil }
}

/// How a pair is shown to one rater.
public enum PairSide: String, Codable, Sendable {
    /// Response A on the left, B on the right.
    case aLeft = "a"
    /// Response B on the left, A on the right.
    case bLeft = "b"
}

/// Building items from samples, and the per-rater order and sides.
public enum RatingItems {
    /// Makes the session's items.
    ///
    /// Rating mode: one item per sample. Pairwise mode: samples are grouped by prompt; for every two
    /// sources with responses to the same prompt, their k-th responses make the k-th pair (A is the
    /// source that appears first in the samples).
    /// - Parameter secret: the session's random secret (``newSecret()``, stored with the database):
    ///   with it an id reveals nothing of its source, and no one can recompute a rater's order or
    ///   sides. Empty for databases made before secrets existed.
    /// - Throws: ``RatingError`` when there is nothing to rate, or in pairwise mode no prompt has
    ///   responses from two sources.
    public static func make(samples: [RatingSample], mode: RatingMode, seed: UInt64, secret: String = "") throws -> [RatingItem] {
        guard !samples.isEmpty else { throw RatingError.noSamples }
        var items: [RatingItem] = []
        var used = Set<String>()
        func identifier(_ parts: [String]) -> String {
            var id = String(SHA256.hash(data: Data(([secret + "\(seed)"] + parts).joined(separator: "\u{1F}").utf8)).hexadecimal.prefix(16))
            var salt = 0
            while !used.insert(id).inserted {  // the same sample twice: still two items
                salt += 1
                id = String(SHA256.hash(data: Data(([secret + "\(seed)", "\(salt)"] + parts).joined(separator: "\u{1F}").utf8)).hexadecimal.prefix(16))
            }
            return id
        }
        switch mode {
        case .rating:
            for sample in samples {
                items.append(RatingItem(id: identifier([sample.source, sample.prompt, sample.response]), prompt: sample.prompt,
                                        source: sample.source, response: sample.response))
            }
        case .pairwise:
            var sourceOrder: [String] = []
            var prompts: [String] = []
            var responses: [String: [String: [String]]] = [:]  // prompt → source → responses
            for sample in samples {
                if !sourceOrder.contains(sample.source) { sourceOrder.append(sample.source) }
                if responses[sample.prompt] == nil { prompts.append(sample.prompt) }
                responses[sample.prompt, default: [:]][sample.source, default: []].append(sample.response)
            }
            guard sourceOrder.count >= 2 else {
                throw RatingError.singleSource(sourceOrder.first ?? "")
            }
            for prompt in prompts {
                let bySource = responses[prompt]!
                let present = sourceOrder.filter { bySource[$0] != nil }
                for i in present.indices { for j in present.indices where j > i {
                    let (a, b) = (present[i], present[j])
                    for (first, second) in zip(bySource[a]!, bySource[b]!) {
                        items.append(RatingItem(id: identifier([a, b, prompt, first, second]), prompt: prompt,
                                                source: a, response: first, secondSource: b, secondResponse: second))
                    }
                } }
            }
            guard !items.isEmpty else {
                throw RatingError.noSharedPrompts
            }
        }
        return items
    }

    /// A fresh session secret: 256 random bits from the system's generator, as hex.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 16) }.joined(separator: "-")
    }

    /// The order in which `rater` sees `items`: sorted by a hash of the secret, the seed, the rater and the id.
    public static func order(_ items: [RatingItem], rater: String, seed: UInt64, secret: String = "") -> [RatingItem] {
        items.map { (key: SHA256.hash(data: Data("\(secret)\(seed)\u{1F}order\u{1F}\(rater)\u{1F}\($0.id)".utf8)).hexadecimal, item: $0) }
            .sorted { $0.key < $1.key }.map(\.item)
    }

    /// Which side response A is on when `rater` sees `item`: a hash of the secret, the seed, the
    /// rater and the id, so that each rater sees about half of the pairs swapped and cannot tell which.
    public static func side(of item: RatingItem, rater: String, seed: UInt64, secret: String = "") -> PairSide {
        let hex = SHA256.hash(data: Data("\(secret)\(seed)\u{1F}side\u{1F}\(rater)\u{1F}\(item.id)".utf8)).hexadecimal
        return Int(hex.prefix(1), radix: 16)! % 2 == 0 ? .aLeft : .bLeft
    }
}
