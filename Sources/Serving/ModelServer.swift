// The OpenAI-compatible HTTP API over the generation engine: /v1/completions and
// /v1/chat/completions (JSON, or server-sent events ending in [DONE]), /v1/models, /health and
// /metrics. Every error answers in OpenAI's shape; a full queue is 503 with Retry-After; a key,
// when set, is required as a Bearer token.

import Alignment
import Foundation
import Hummingbird
import Models
import Tokenizers

/// A reward function run on a serial queue of its own (models are not safe to share between
/// threads, and scoring is compute that should not hold a cooperative thread).
public final class ScoringQueue: @unchecked Sendable {
    let reward: any RewardFunction
    let queue = DispatchQueue(label: "reward-scoring")
    /// The most texts one request may score.
    public static let maximumTexts = 64

    /// Scores with `reward`.
    public init(reward: any RewardFunction) { self.reward = reward }

    /// The rewards of `responses[i]` given `prompts[i]`.
    public func score(prompts: [String], responses: [String]) async throws -> [Float] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try self.reward.rewards(prompts: prompts, responses: responses) }) }
        }
    }
}

/// The model behind the API and the limits it enforces.
public final class ModelService: Sendable {
    /// The name clients send as `model` and see in /v1/models.
    public let name: String
    /// The engine.
    public let engine: GenerationEngine
    let tokenizer: any Tokenizer
    /// The API key required as `Authorization: Bearer KEY`, or nil for none.
    public let apiKey: String?
    /// The largest `max_tokens` accepted.
    public let maxTokensLimit: Int
    /// The largest request body accepted.
    public static let maximumBodySize = 1 << 20
    let metrics = ServerMetrics()
    /// The reward model behind /v1/score, if any.
    public let scorer: ScoringQueue?

    /// A service.
    public init(name: String, engine: GenerationEngine, tokenizer: any Tokenizer, apiKey: String? = nil, maxTokensLimit: Int = 256,
                scorer: ScoringQueue? = nil) {
        self.scorer = scorer
        self.name = name
        self.engine = engine
        self.tokenizer = tokenizer
        self.apiKey = apiKey
        self.maxTokensLimit = maxTokensLimit
    }

    /// The prompt's token ids; refuses one that cannot be encoded, is empty, or does not fit the
    /// context with the request's `max_tokens`.
    func promptTokens(_ prompt: String, for request: CompletionRequest) throws -> [Int] {
        let field = request.isChat ? "messages" : "prompt"
        let ids: [Int]
        do { ids = try tokenizer.encodeChecked(prompt) } catch { throw APIError(status: 400, "the prompt cannot be encoded: \(error)", parameter: field) }
        let context = engine.model.configuration.positions
        guard !ids.isEmpty else { throw APIError(status: 400, "the prompt is empty", parameter: field) }
        guard ids.count + request.maxTokens <= context else {
            throw APIError(status: 400, "the prompt has \(ids.count) tokens; with max_tokens \(request.maxTokens) that exceeds the context of \(context) tokens",
                           parameter: field)
        }
        return ids
    }

    /// The engine request for one choice of `request` on an encoded prompt.
    func decodingRequest(prompt ids: [Int], request: CompletionRequest, seed: UInt64) -> DecodingRequest {
        let configuration = GenerationConfiguration(maxNewTokens: request.maxTokens,
                                                    sampling: SamplingConfiguration(temperature: request.temperature, topP: request.topP),
                                                    stopStrings: request.stopStrings, endOfSequenceTokenId: tokenizer.endOfTextTokenId)
        return DecodingRequest(prompt: ids, configuration: configuration, seed: seed)
    }
}

/// Turns a growing list of tokens into text deltas: holds back an incomplete UTF-8 character and
/// anything that could still become a stop string, and cuts the text at the first stop string.
/// Offsets count Unicode scalars, not Characters: a later scalar can join the previous grapheme
/// cluster (a combining mark, a prepended concatenation mark), which would leave a Character count
/// unchanged and the new text unsent.
public struct IncrementalText {
    let decode: ([Int]) -> String
    let stops: [String]
    var tokens: [Int] = []
    var sent = 0

    /// A stream of text for tokens that `decode` turns into text, cut at the first of `stops`.
    public init(decode: @escaping ([Int]) -> String, stops: [String]) {
        self.decode = decode
        self.stops = stops
    }

    /// The text that can be sent after `token`.
    public mutating func add(_ token: Int) -> String {
        tokens.append(token)
        let full = decode(tokens)
        let scalars = Array(full.unicodeScalars)
        var safe = scalars.count
        while safe > 0 && scalars[safe - 1] == "\u{FFFD}" { safe -= 1 }
        safe -= max(0, (stops.map(\.unicodeScalars.count).max() ?? 0) - 1)
        return take(from: full, upTo: safe)
    }

    /// The rest of the text once the request is finished (without its end-of-sequence token).
    public mutating func finish(dropping endOfSequence: Bool) -> String {
        if endOfSequence, !tokens.isEmpty { tokens.removeLast() }
        return take(from: decode(tokens), upTo: Int.max)
    }

    /// The scalars of `full` (cut at the first stop string) from the last sent one up to `end`.
    private mutating func take(from full: String, upTo end: Int) -> String {
        let text = Array(truncating(full, atFirstOf: stops).unicodeScalars)
        let end = min(end, text.count)
        guard end > sent else { return "" }
        var piece = String.UnicodeScalarView()
        piece.append(contentsOf: text[sent..<end])
        sent = end
        return String(piece)
    }
}
