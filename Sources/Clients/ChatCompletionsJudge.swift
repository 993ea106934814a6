// An LLM judge over the OpenAI chat-completions protocol: any compatible server (OpenAI, vLLM,
// llama.cpp's server, `rlhf serve`) reads the prompt and both responses and answers "A", "B" or
// "tie". Requests have a timeout; connection failures, timeouts, HTTP 429 and 5xx are retried
// with exponential backoff; other answers fail at once, with the status and the body.

import Evaluation
import Foundation

/// Judges a pair by asking a chat model: POST `{base}/chat/completions` with
/// `{"model", "messages": [system, user], "temperature": 0, "max_tokens"}` and reads
/// `choices[0].message.content`.
///
/// Response A is the response shown first, Response B the second. The answer is read by
/// ``parseVerdict(_:)``; an answer it cannot read counts as a tie and in ``unparsedAnswers``.
/// Each request has a hard deadline (``timeout``) and its answer is capped at
/// ``maximumAnswerBytes``. `--judge openai:…` makes one once ``ClientRegistration/register()`` has
/// run (the `rlhf` tool does so at start).
public final class ChatCompletionsJudge: PairwiseJudge, @unchecked Sendable {
    /// Where the server is and which model it should run.
    public struct Endpoint: Equatable, Sendable {
        /// The API base, for example `http://127.0.0.1:8080/v1`.
        public var base: URL
        /// The model name sent in each request.
        public var model: String

        /// An endpoint.
        /// - Parameters:
        ///   - base: the API base URL (http or https).
        ///   - model: the model name.
        public init(base: URL, model: String) {
            self.base = base
            self.model = model
        }

        /// Parses `BASE_URL#MODEL`, for example `http://127.0.0.1:8080/v1#gpt-4o-mini`.
        /// - Parameter specification: the text after `openai:` in `--judge`.
        /// - Throws: ``JudgeError`` when the URL is not http(s) with a host or the model is missing.
        public init(parsing specification: String) throws {
            let example = "expected openai:BASE_URL#MODEL, e.g. openai:http://127.0.0.1:8080/v1#gpt-4o-mini"
            guard let hash = specification.lastIndex(of: "#") else {
                throw JudgeError(message: "--judge 'openai:\(specification)' names no model; \(example)")
            }
            let model = String(specification[specification.index(after: hash)...]).trimmingCharacters(in: .whitespaces)
            let text = String(specification[..<hash])
            guard let base = URL(string: text), ["http", "https"].contains(base.scheme?.lowercased() ?? ""), base.host != nil else {
                throw JudgeError(message: "--judge 'openai:\(specification)': '\(text)' is not an http(s) URL with a host; \(example)")
            }
            guard !model.isEmpty else { throw JudgeError(message: "--judge 'openai:\(specification)' names no model after '#'; \(example)") }
            self.init(base: base, model: model)
        }

        /// The chat-completions URL: the base with `/chat/completions` appended (unless it already ends so).
        public var url: URL {
            let text = base.absoluteString
            if text.hasSuffix("/chat/completions") { return base }
            return URL(string: (text.hasSuffix("/") ? String(text.dropLast()) : text) + "/chat/completions")!
        }
    }

    /// The server and model.
    public let endpoint: Endpoint
    /// The bearer token (`Authorization: Bearer …`); nil sends no Authorization header.
    public let apiKey: String?
    /// Seconds each request may take.
    public let timeout: TimeInterval
    /// Requests per verdict at most (the first try and its retries).
    public let attempts: Int
    /// Seconds before the first retry; each later wait doubles (0.5 s → 1 s → 2 s by default).
    public let backoff: TimeInterval
    /// The `max_tokens` of each request: enough for "A", "B" or "tie".
    public let maxTokens: Int
    /// The system message.
    public let instructions: String
    /// The longest answer accepted (1 MiB: a verdict is a word).
    public static let maximumAnswerBytes = 1 << 20
    private let lock = NSLock()
    private var unparsed = 0, requests = 0

    /// The default system message: compare, then answer with exactly "A", "B" or "tie".
    public static let defaultInstructions = """
        You are an impartial judge. You compare two responses to a user's prompt and decide which one is better: \
        more helpful, correct, relevant and fluent. The order in which the responses are shown must not influence you. \
        Answer with exactly one word: "A" if Response A is better, "B" if Response B is better, or "tie" if they are equally good.
        """

    /// A judge.
    /// - Parameters:
    ///   - endpoint: the server and model.
    ///   - apiKey: the bearer token, or nil.
    ///   - timeout: seconds per request (> 0).
    ///   - attempts: requests per verdict at most (≥ 1).
    ///   - backoff: seconds before the first retry (≥ 0), doubled before each later one.
    ///   - maxTokens: `max_tokens` per request (≥ 1).
    ///   - instructions: the system message.
    /// - Throws: ``JudgeError`` for a setting out of range.
    public init(endpoint: Endpoint, apiKey: String? = nil, timeout: TimeInterval = 60, attempts: Int = 4, backoff: TimeInterval = 0.5,
                maxTokens: Int = 8, instructions: String = ChatCompletionsJudge.defaultInstructions) throws {
        guard timeout > 0, timeout.isFinite else { throw JudgeError(message: "the judge's timeout must be a positive number of seconds, got \(timeout)") }
        guard attempts >= 1 else { throw JudgeError(message: "the judge needs at least 1 attempt, got \(attempts)") }
        guard backoff >= 0, backoff.isFinite else { throw JudgeError(message: "the judge's backoff must be ≥ 0 seconds, got \(backoff)") }
        guard maxTokens >= 1 else { throw JudgeError(message: "the judge's max_tokens must be ≥ 1, got \(maxTokens)") }
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.maxTokens = maxTokens
        self.instructions = instructions
    }

    /// Answers so far that ``parseVerdict(_:)`` could not read (each counted as a tie).
    public var unparsedAnswers: Int { lock.withLock { unparsed } }

    /// HTTP requests sent so far, retries included.
    public var requestsSent: Int { lock.withLock { requests } }

    /// The user message for one pair: the prompt, Response A, Response B, and the question.
    /// - Parameters:
    ///   - prompt: the user's prompt.
    ///   - first: Response A.
    ///   - second: Response B.
    /// - Returns: the message text.
    public static func userMessage(prompt: String, first: String, second: String) -> String {
        """
        [User prompt]
        \(prompt)

        [Response A]
        \(first)

        [Response B]
        \(second)

        Which response is better? Answer with exactly one word: A, B, or tie.
        """
    }

    /// Reads a judge's answer: the first word that is not filler ("response", "answer", "the",
    /// "is", …), letters only and case-insensitive: "a" → first, "b" → second, "tie" (or "tied",
    /// "draw", "equal", "both", "neither", "same") → tie. So "A", "**B**", "[[A]]", "Response B.",
    /// "The answer is A" and "Tie" are all read.
    /// - Parameter answer: the model's text.
    /// - Returns: the verdict, or nil when the answer is none of these.
    public static func parseVerdict(_ answer: String) -> PairwiseVerdict? {
        let words = answer.lowercased().split { !$0.isLetter }.map(String.init)
        let filler: Set<String> = ["response", "answer", "verdict", "final", "the", "is", "my", "output", "assistant", "better",
                                   "winner", "choice", "i", "choose", "pick", "option", "judgment", "judgement"]
        let ties: Set<String> = ["tie", "tied", "draw", "equal", "equally", "both", "neither", "same"]
        for (index, word) in words.prefix(12).enumerated() {
            if word == "a", index + 1 < words.count, ties.contains(words[index + 1]) { return .tie }  // "a tie"
            if word == "a" { return .first }
            if word == "b" { return .second }
            if ties.contains(word) { return .tie }
            if !filler.contains(word) { return nil }
        }
        return nil
    }

    /// Asks the server once per verdict, retrying as described on the type.
    /// - Parameters:
    ///   - prompt: the user's prompt.
    ///   - first: Response A.
    ///   - second: Response B.
    /// - Returns: the parsed verdict (a tie when the answer could not be read).
    /// - Throws: ``JudgeError`` naming the URL: unreachable after all attempts, a non-retried
    ///   HTTP status with its body, or an answer that is not a chat completion.
    public func judge(prompt: String, first: String, second: String) throws -> PairwiseVerdict {
        let answer = try complete(Self.userMessage(prompt: prompt, first: first, second: second))
        if let verdict = Self.parseVerdict(answer) { return verdict }
        lock.withLock { unparsed += 1 }
        return .tie
    }

    /// Sends one chat completion (system = ``instructions``, user = `message`) and returns the
    /// assistant's text, retrying connection failures, timeouts, 429 and 5xx with backoff.
    /// - Parameter message: the user message.
    /// - Returns: `choices[0].message.content` (empty when the server sent null).
    /// - Throws: ``JudgeError`` as for ``judge(prompt:first:second:)``.
    public func complete(_ message: String) throws -> String {
        let url = endpoint.url
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        let body: [String: Any] = [
            "model": endpoint.model,
            "messages": [["role": "system", "content": instructions], ["role": "user", "content": message]],
            "temperature": 0, "max_tokens": maxTokens,
        ]
        let request = HTTPExchange.Request(url: url, method: "POST", headers: headers,
                                           body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]),
                                           timeout: timeout, maximumAnswerBytes: Self.maximumAnswerBytes)
        var lastFailure = "", lastStatus: Int?
        for attempt in 1...attempts {
            if attempt > 1 { Thread.sleep(forTimeInterval: backoff * pow(2, Double(attempt - 2))) }
            lock.withLock { requests += 1 }
            let answer: HTTPExchange.Answer
            do {
                answer = try HTTPExchange.sendAndWait(request)
            } catch {
                lastFailure = Self.describe(error, timeout: timeout)
                lastStatus = nil
                continue
            }
            let status = answer.status
            let text = String(decoding: answer.body.prefix(500), as: UTF8.self)
            if status == 429 || (500..<600).contains(status) {
                lastFailure = "HTTP \(status): \(text)"
                lastStatus = status
                continue
            }
            guard (200..<300).contains(status) else {
                throw JudgeError(message: "the judge at \(url.absoluteString) answered HTTP \(status) (not retried): \(text)", status: status, attempts: attempt)
            }
            guard let completion = try? JSONDecoder().decode(Completion.self, from: answer.body), let choice = completion.choices.first else {
                throw JudgeError(message: "the judge at \(url.absoluteString) sent no chat completion; expected {\"choices\":[{\"message\":{\"content\":…}}]}, got: \(text)",
                                 status: status, attempts: attempt)
            }
            return choice.message?.content ?? choice.text ?? ""
        }
        let verb = lastStatus == nil ? "cannot reach the judge at" : "no successful answer from the judge at"
        throw JudgeError(message: "\(verb) \(url.absoluteString) after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(lastFailure)",
                         status: lastStatus, attempts: attempts)
    }

    /// The part of a chat-completions answer the judge reads (`text` for legacy completions servers).
    private struct Completion: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable { var content: String? }
            var message: Message?
            var text: String?
        }
        var choices: [Choice]
    }

    /// A transport failure in words: the timeout named when it expired, else what failed (without
    /// the URL, which the judge's message gives once).
    static func describe(_ error: ClientError, timeout: TimeInterval) -> String {
        switch error {
        case .deadlineExceeded: return "no answer within \(timeout) s (timed out)"
        case .answerTooLarge(_, let limit): return "the answer is longer than \(limit) bytes"
        case .transport(_, let reason): return reason
        case .invalidURL(let url): return "\(url) is not an http(s) URL with a host"
        case .unexpectedStatus(_, let status, _): return "HTTP \(status)"
        }
    }
}
