// Pairwise judges: given a prompt and two responses shown in an order, which one is better? A
// reward function (a learned reward model, the lexicon, any `RewardFunction`) judges by scoring
// both; an LLM judge reads both (the Clients module's ChatCompletionsJudge). `JudgeSpecification` turns the
// command line's `--judge` string into one of them.

import Alignment
import Foundation
import Synchronization
import Tokenizers

/// A judge's answer for one pair shown in one order.
public enum PairwiseVerdict: String, Codable, Sendable, CaseIterable {
    /// The response shown first is better.
    case first
    /// The response shown second is better.
    case second
    /// Neither is better (or the judge's answer could not be read).
    case tie
}

/// Decides which of two responses to the same prompt is better.
///
/// `first` and `second` are the order in which the responses are shown; a judge may be
/// position-biased, which is why ``WinRate`` asks in both orders.
public protocol PairwiseJudge {
    /// The verdict for one pair.
    /// - Parameters:
    ///   - prompt: the user's prompt.
    ///   - first: the response shown first (an LLM judge's "Response A").
    ///   - second: the response shown second ("Response B").
    /// - Returns: which shown position is better, or a tie.
    /// - Throws: the judge's failure (an unreachable server, a tokenizer error, …).
    func judge(prompt: String, first: String, second: String) throws -> PairwiseVerdict

    /// Verdicts for many pairs at once; judges that can batch (a reward model) override it.
    /// - Parameter pairs: (prompt, first, second) triples.
    /// - Returns: one verdict per pair, in order.
    /// - Throws: the first failure.
    func judge(pairs: [(prompt: String, first: String, second: String)]) throws -> [PairwiseVerdict]

    /// How many answers so far could not be read and were counted as ties (0 for judges whose
    /// answers are always readable).
    var unparsedAnswers: Int { get }
}

extension PairwiseJudge {
    /// One ``judge(prompt:first:second:)`` call per pair.
    /// - Parameter pairs: (prompt, first, second) triples.
    /// - Returns: one verdict per pair, in order.
    public func judge(pairs: [(prompt: String, first: String, second: String)]) throws -> [PairwiseVerdict] {
        try pairs.map { try judge(prompt: $0.prompt, first: $0.first, second: $0.second) }
    }

    /// None: this judge's answers are always readable.
    public var unparsedAnswers: Int { 0 }
}

/// Judges by reward: scores (prompt, first) and (prompt, second) with a ``RewardFunction``; the
/// higher wins, and scores within `tolerance` of each other tie. It has no position bias: the
/// order only decides which position the better response is in.
public struct RewardModelJudge: PairwiseJudge {
    /// The scorer (for example `LearnedReward(checkpoint:)` or `LexiconSentimentReward()`).
    public let reward: any RewardFunction
    /// Scores closer than this tie.
    public var tolerance: Float

    /// A judge that compares `reward`'s scores.
    /// - Parameters:
    ///   - reward: any reward function.
    ///   - tolerance: the largest score difference that still counts as a tie (≥ 0).
    public init(reward: any RewardFunction, tolerance: Float = 1e-6) {
        precondition(tolerance >= 0, "the tie tolerance must not be negative")
        self.reward = reward
        self.tolerance = tolerance
    }

    /// The verdict of two scores.
    /// - Parameters:
    ///   - first: the score of the response shown first.
    ///   - second: the score of the response shown second.
    /// - Returns: the higher one's position, or a tie within ``tolerance``.
    public func verdict(first: Float, second: Float) -> PairwiseVerdict {
        if abs(first - second) <= tolerance { return .tie }
        return first > second ? .first : .second
    }

    /// Scores both responses and compares them.
    /// - Parameters:
    ///   - prompt: the prompt.
    ///   - first: the response shown first.
    ///   - second: the response shown second.
    /// - Returns: the higher-scored position, or a tie.
    /// - Throws: the reward function's error.
    public func judge(prompt: String, first: String, second: String) throws -> PairwiseVerdict {
        try judge(pairs: [(prompt, first, second)])[0]
    }

    /// Scores all firsts and seconds in one reward call (batched forward passes for a reward model).
    /// - Parameter pairs: (prompt, first, second) triples.
    /// - Returns: one verdict per pair.
    /// - Throws: the reward function's error, or an error when it returns the wrong count.
    public func judge(pairs: [(prompt: String, first: String, second: String)]) throws -> [PairwiseVerdict] {
        guard !pairs.isEmpty else { return [] }
        let prompts = pairs.map(\.prompt)
        let scores = try reward.rewards(prompts: prompts + prompts, responses: pairs.map(\.first) + pairs.map(\.second))
        guard scores.count == 2 * pairs.count else {
            throw RunError.wrongScoreCount(source: "judge", scores: scores.count, responses: 2 * pairs.count)
        }
        return pairs.indices.map { verdict(first: scores[$0], second: scores[pairs.count + $0]) }
    }
}

/// A judge named by a string, for the command line's `--judge`.
public enum JudgeSpecification {
    /// What a judge specification may be, for error messages.
    public static let expected = "rm:DIR (a reward model), openai:BASE_URL#MODEL (an OpenAI-compatible chat-completions server), "
        + "or a reward spec (\(RewardSpecification.forms))"

    /// Makes a judge.
    /// - Parameters:
    ///   - specification: `rm:DIR` (a reward-model checkpoint scored by ``LearnedReward``),
    ///     `openai:BASE_URL#MODEL` (an LLM judge over the chat-completions protocol, made by
    ///     ``chatCompletionsJudge``; for example `openai:http://127.0.0.1:8080/v1#gpt-4o-mini`), or any ``RewardSpecification`` string
    ///     (`lexicon`, `model:DIR`, `length:N`, …) judged by ``RewardModelJudge``.
    ///   - apiKey: the bearer token for an `openai:` judge (nil: no Authorization header).
    ///   - timeout: seconds per request for an `openai:` judge.
    ///   - tokenizer: the tokenizer `length:N` counts with.
    /// - Returns: the judge.
    /// - Throws: ``JudgeError`` for a specification of no known kind or a malformed `openai:` one;
    ///   the reward's error (for example a missing checkpoint) otherwise.
    public static func make(_ specification: String, apiKey: String? = nil, timeout: TimeInterval = 60,
                            tokenizer: (any Tokenizer)? = nil) throws -> any PairwiseJudge {
        let kind = String(specification.prefix { $0 != ":" })
        let argument = String(specification.dropFirst(kind.count + 1))
        switch kind {
        case "rm":
            guard !argument.isEmpty else { throw JudgeError(message: "--judge '\(specification)': rm: needs a reward-model directory, e.g. rm:runs/rm/final") }
            return RewardModelJudge(reward: try LearnedReward(checkpoint: URL(fileURLWithPath: argument)))
        case "openai":
            guard let makeChatJudge = chatCompletionsJudge else {
                throw JudgeError(message: "--judge '\(specification)': an openai: judge needs the Clients module, which this program has not registered "
                                 + "(the rlhf tool does; a program of your own calls ClientRegistration.register() first)")
            }
            return try makeChatJudge(argument, apiKey, timeout)
        case _ where RewardSpecification.kinds.contains(kind):
            return RewardModelJudge(reward: try RewardSpecification.make(specification, tokenizer: tokenizer))
        default:
            throw JudgeError(message: "--judge is '\(specification)'; expected \(expected)")
        }
    }

    /// Makes the judge of an `openai:BASE_URL#MODEL` specification from the text after `openai:`,
    /// the API key and the timeout. Evaluation has no HTTP client (the demo builds without one):
    /// the Clients module sets this to its `ChatCompletionsJudge` (`ClientRegistration.register()`,
    /// which the `rlhf` tool calls at start). While it is nil, such a specification is an error
    /// saying so.
    public static var chatCompletionsJudge: (@Sendable (_ endpoint: String, _ apiKey: String?, _ timeout: TimeInterval) throws -> any PairwiseJudge)? {
        get { chatJudgeFactory.withLock { $0 } }
        set { chatJudgeFactory.withLock { $0 = newValue } }
    }

    private static let chatJudgeFactory = Mutex<(@Sendable (String, String?, TimeInterval) throws -> any PairwiseJudge)?>(nil)
}

/// A judge that failed: a bad specification, an unreachable server, an unusable answer.
public struct JudgeError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, naming the URL or setting and what was expected.
    public let message: String
    /// The HTTP status of the last answer, when there was one.
    public let status: Int?
    /// How many requests were sent.
    public let attempts: Int

    /// An error.
    /// - Parameters:
    ///   - message: the whole explanation.
    ///   - status: the last HTTP status, if any.
    ///   - attempts: requests sent (0 when none was).
    public init(message: String, status: Int? = nil, attempts: Int = 0) {
        self.message = message
        self.status = status
        self.attempts = attempts
    }

    /// The message.
    public var description: String { message }
}
