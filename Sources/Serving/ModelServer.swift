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
    /// Requests scoring or waiting to, at most; more are refused at once (503).
    public let maximumPending: Int
    /// Seconds a request may wait for its turn; one that waited longer is refused (503) unscored.
    public let maximumWait: Double
    private let lock = NSLock()
    private var pending = 0
    /// Requests scoring or waiting now.
    public var pendingCount: Int { lock.withLock { pending } }

    /// Scores with `reward`, one request at a time, at most `maximumPending` of them in the queue.
    public init(reward: any RewardFunction, maximumPending: Int = 16, maximumWait: Double = 60) {
        precondition(maximumPending >= 1 && maximumWait > 0, "maximumPending ≥ 1 and maximumWait > 0")
        self.reward = reward
        self.maximumPending = maximumPending
        self.maximumWait = maximumWait
    }

    /// The rewards of `responses[i]` given `prompts[i]`.
    /// - Throws: ``APIError`` 503 when the queue is full or the request waited longer than `maximumWait`.
    public func score(prompts: [String], responses: [String]) async throws -> [Float] {
        let admitted = lock.withLock { () -> Bool in
            guard pending < maximumPending else { return false }
            pending += 1
            return true
        }
        guard admitted else { throw APIError(status: 503, "the scoring queue is full (\(maximumPending) requests); retry shortly", type: "server_error") }
        let queued = DispatchTime.now().uptimeNanoseconds
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                let waited = Double(DispatchTime.now().uptimeNanoseconds - queued) / 1e9
                let result: Result<[Float], any Error> = waited <= self.maximumWait
                    ? Result { try self.reward.rewards(prompts: prompts, responses: responses) }
                    : .failure(APIError(status: 503, String(format: "waited %.0f s for the scorer (at most %.0f); retry shortly", waited, self.maximumWait), type: "server_error"))
                // The place is free before the caller hears back, so that it may submit again at once.
                self.lock.withLock { self.pending -= 1 }
                continuation.resume(with: result)
            }
        }
    }
}

/// Whether `a` equals `b`, in time that depends only on their lengths (not on where they differ):
/// an API key cannot be guessed byte by byte from response times.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    for i in 0..<max(a.count, b.count) {
        difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
    }
    return difference == 0 && a.count == b.count
}

/// The tokens of `Authorization` values of the form `Bearer TOKEN` ("Bearer" in any case, as
/// RFC 7235 makes the scheme case-insensitive; spaces around the token ignored).
func bearerTokens(_ authorization: [String]) -> [String] {
    authorization.compactMap { value in
        let parts = value.split(maxSplits: 1, whereSeparator: \.isWhitespace)
        return parts.count == 2 && parts[0].lowercased() == "bearer" ? parts[1].trimmingCharacters(in: .whitespaces) : nil
    }
}

/// The model behind the API and the limits it enforces.
public final class ModelService: Sendable {
    /// The name clients send as `model` and see in /v1/models.
    public let name: String
    /// The engine.
    public let engine: GenerationEngine
    /// The model's tokenizer.
    public let tokenizer: any Tokenizer
    /// The API key required as `Authorization: Bearer KEY`, or nil for none.
    public let apiKey: String?
    /// The largest `max_tokens` accepted.
    public let maxTokensLimit: Int
    /// The largest request body accepted.
    public static let maximumBodySize = 1 << 20
    let metrics = ServerMetrics()
    /// The reward model behind /v1/score, if any.
    public let scorer: ScoringQueue?

    /// Whether GET /metrics needs the API key too (when there is one).
    public let metricsNeedKey: Bool

    /// A service.
    public init(name: String, engine: GenerationEngine, tokenizer: any Tokenizer, apiKey: String? = nil, maxTokensLimit: Int = 256,
                scorer: ScoringQueue? = nil, metricsNeedKey: Bool = false) {
        self.scorer = scorer
        self.metricsNeedKey = metricsNeedKey
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
        guard !ids.isEmpty else { throw APIError(status: 400, "the prompt is empty", parameter: field) }
        if let problem = engine.contextProblem(promptLength: ids.count, newTokens: request.maxTokens) {
            throw APIError(status: 400, problem.replacingOccurrences(of: "max_new_tokens", with: "max_tokens"), parameter: field)
        }
        return ids
    }

    /// Requires one of `authorization` (the values a client sent) to be `Bearer KEY` when the
    /// service has a key.
    /// - Throws: ``APIError`` 401 that says how to send the key (`sentAs`).
    func authorize(_ authorization: [String], sentAs: String) throws {
        guard let apiKey else { return }
        let accepted = bearerTokens(authorization).contains { constantTimeEqual(Array($0.utf8), Array(apiKey.utf8)) }
        guard accepted else { throw APIError(status: 401, "a valid API key is required: send \(sentAs)") }
    }

    /// Runs a request's handler and records its route, status (200, or the error's) and latency
    /// in the metrics; any error comes back as an ``APIError`` (500 for an unexpected one).
    func measured<Value>(_ route: String, _ handler: () async throws -> Value) async -> Result<Value, APIError> {
        let started = Date()
        var status = 200
        let result: Result<Value, APIError>
        do { result = .success(try await handler()) } catch {
            let apiError = error as? APIError
                ?? (error is CancellationError ? APIError(status: 499, "the client closed the connection before the answer")
                                               : APIError(status: 500, "the server failed: \(error)"))
            status = apiError.status
            result = .failure(apiError)
        }
        metrics.record(route: route, status: status, seconds: Date().timeIntervalSince(started))
        return result
    }

    /// A completion under way: one engine stream per choice, in choice order.
    struct Completion {
        /// `cmpl-…` or `chatcmpl-…`.
        let id: String
        /// Seconds since 1970.
        let created: Int
        let request: CompletionRequest
        /// Each choice's prompt and events.
        let choices: [(prompt: String, events: AsyncThrowingStream<DecodingEvent, any Error>)]
        /// The prompt tokens of the request (each prompt counted once).
        let promptTokens: Int
    }

    /// A finished choice: the text cut at the first stop string, the tokens and their
    /// log-probabilities without the end-of-sequence token, and OpenAI's finish reason.
    struct FinishedChoice {
        let text: String
        let tokens: [Int]
        let logprobs: [Float]
        let finishReason: String
    }

    /// A piece of streamed text: `finishReason` is set on a choice's last piece, `isLast` on the
    /// request's last, with the completion tokens of every choice.
    struct Delta {
        let index: Int
        let text: String
        let finishReason: String?
        let isLast: Bool
        let completionTokens: Int
    }

    /// Checks the model name, encodes each prompt once and submits its `n` choices.
    /// - Throws: ``APIError``: 404 for another model, 400 for a prompt that cannot be served, 503
    ///   when the engine's queue is full (nothing of the request is then left running).
    func start(_ request: CompletionRequest) throws -> Completion {
        if let model = request.model, !model.isEmpty, model != name {
            throw APIError(status: 404, "the model '\(model)' does not exist; this server has '\(name)'", parameter: "model", type: "invalid_request_error")
        }
        // A request the engine could never hold at once is a bad request, not a busy server.
        let capacity = engine.maximumBatch + engine.maximumQueue
        guard request.prompts.count * request.n <= capacity else {
            throw APIError(status: 400, "\(request.prompts.count) prompts × n \(request.n) = \(request.prompts.count * request.n) generations; this server runs at most \(capacity) at once (batch \(engine.maximumBatch) + queue \(engine.maximumQueue))",
                           parameter: request.n > 1 ? "n" : "prompt")
        }
        let seed = request.seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        var jobs: [(prompt: String, decoding: DecodingRequest)] = []
        var promptTokenCount = 0
        for prompt in request.prompts {
            let ids = try promptTokens(prompt, for: request)
            promptTokenCount += ids.count
            for _ in 0..<request.n { jobs.append((prompt, decodingRequest(prompt: ids, request: request, seed: seed &+ UInt64(jobs.count)))) }
        }
        let streams: [AsyncThrowingStream<DecodingEvent, any Error>]
        do { streams = try jobs.map { try engine.submit($0.decoding) } } catch let refusal as EngineRefusal {
            throw APIError(status: 503, refusal.description, type: "server_error")
        }
        let id = (request.isChat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24).lowercased()
        return Completion(id: id, created: Int(Date().timeIntervalSince1970), request: request,
                          choices: zip(jobs, streams).map { ($0.prompt, $1) }, promptTokens: promptTokenCount)
    }

    /// Waits for every choice of `completion`.
    func results(of completion: Completion) async throws -> [FinishedChoice] {
        var finished: [FinishedChoice] = []
        for choice in completion.choices {
            for try await event in choice.events {
                guard case .finished(_, let sequence) = event else { continue }
                var tokens = sequence.tokens, logprobs = sequence.logProbabilities
                if endsWithEndOfSequence(sequence) { tokens.removeLast(); logprobs.removeLast() }
                finished.append(FinishedChoice(text: truncating(tokenizer.decode(tokens), atFirstOf: completion.request.stopStrings),
                                               tokens: tokens, logprobs: logprobs, finishReason: Self.finishReason(sequence)))
            }
            // A cancelled wait ends its stream early: that is the client gone, not a result.
            try Task.checkCancellation()
        }
        return finished
    }

    /// Streams `completion` choice by choice as tokens are decoded: `send` gets every non-empty
    /// piece of text, then each choice's rest (possibly empty) with its finish reason.
    func stream(_ completion: Completion, _ send: (Delta) async throws -> Void) async throws {
        var completionTokens = 0
        for (index, choice) in completion.choices.enumerated() {
            var text = IncrementalText(decode: { self.tokenizer.decode($0) }, stops: completion.request.stopStrings)
            for try await event in choice.events {
                switch event {
                case .token(_, let token, _):
                    let piece = text.add(token)
                    if !piece.isEmpty { try await send(Delta(index: index, text: piece, finishReason: nil, isLast: false, completionTokens: 0)) }
                case .finished(_, let sequence):
                    completionTokens += sequence.tokens.count
                    try await send(Delta(index: index, text: text.finish(dropping: endsWithEndOfSequence(sequence)), finishReason: Self.finishReason(sequence),
                                         isLast: index == completion.choices.count - 1, completionTokens: completionTokens))
                }
            }
        }
    }

    /// Reward-model scores of `texts` alone, or of `responses` to `prompts`.
    /// - Throws: ``APIError``: 404 without a reward model, 400 for missing, empty, too many or
    ///   mismatched lists (naming the field).
    func score(texts: [String]?, prompts: [String]?, responses: [String]?) async throws -> [Float] {
        guard let scorer else { throw APIError(status: 404, "this server has no reward model; start it with --reward-model DIR") }
        for (key, list) in [("texts", texts), ("prompts", prompts), ("responses", responses)] {
            if let list, list.isEmpty || list.count > ScoringQueue.maximumTexts {
                throw APIError(status: 400, "'\(key)' must be an array of 1 to \(ScoringQueue.maximumTexts) strings", parameter: key)
            }
        }
        if let texts { return try await scorer.score(prompts: Array(repeating: "", count: texts.count), responses: texts) }
        guard let prompts, let responses else { throw APIError(status: 400, "give 'texts', or 'prompts' and 'responses'", parameter: "texts") }
        guard prompts.count == responses.count else { throw APIError(status: 400, "'prompts' and 'responses' must have the same length", parameter: "responses") }
        return try await scorer.score(prompts: prompts, responses: responses)
    }

    /// Whether `sequence` ended on the end-of-sequence token (which clients do not see).
    func endsWithEndOfSequence(_ sequence: GeneratedSequence) -> Bool {
        sequence.finishReason == .endOfSequence && sequence.tokens.last == tokenizer.endOfTextTokenId
    }

    /// OpenAI's finish reason: "length" at max_tokens, else "stop".
    static func finishReason(_ sequence: GeneratedSequence) -> String { sequence.finishReason == .length ? "length" : "stop" }

    /// The engine request for one choice of `request` on an encoded prompt.
    func decodingRequest(prompt ids: [Int], request: CompletionRequest, seed: UInt64) -> DecodingRequest {
        let configuration = GenerationConfiguration(maxNewTokens: request.maxTokens,
                                                    sampling: SamplingConfiguration(temperature: request.temperature, topP: request.topP),
                                                    stopStrings: request.stopStrings, endOfSequenceTokenId: tokenizer.endOfTextTokenId,
                                                    vocabularyLimit: GenerationConfiguration.vocabularyLimit(model: engine.model.modelConfiguration, tokenizer: tokenizer,
                                                                                                              endOfSequence: tokenizer.endOfTextTokenId))
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
