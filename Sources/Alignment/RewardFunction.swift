// Reward functions: what PPO (and evaluation) call to score a batch of responses. A learned
// reward model, programmatic rewards, a classifier's label probability, and an external HTTP
// scorer all answer the same question.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Models
import Tensors
import Tokenizers

/// Scores responses to prompts: one reward per (prompt, response) pair, higher is better.
public protocol RewardFunction {
    /// The rewards of `responses[i]` given `prompts[i]`; both arrays have the same length.
    func rewards(prompts: [String], responses: [String]) throws -> [Float]
}

/// A learned reward model (normalization applied): it reads `prompt + response`.
public struct LearnedReward: RewardFunction {
    /// The model.
    public let model: RewardModel
    /// Texts per forward pass.
    public var batchSize: Int

    /// Wraps a loaded reward model.
    public init(model: RewardModel, batchSize: Int = 16) {
        self.model = model
        self.batchSize = batchSize
    }

    /// Loads a reward-model checkpoint directory.
    public init(checkpoint: URL, batchSize: Int = 16) throws {
        self.init(model: try RewardModel.load(from: checkpoint), batchSize: batchSize)
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        return try model.rewards(for: zip(prompts, responses).map { $0 + $1 }, batchSize: batchSize)
    }
}

/// The fraction of the response's letters that are uppercase (0 for a response without letters):
/// the "answer in uppercase" task's reward.
public struct UppercaseFractionReward: RewardFunction {
    /// Creates the reward.
    public init() {}

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        return responses.map { response in
            let letters = response.unicodeScalars.filter { $0.properties.isAlphabetic && ($0.properties.isUppercase || $0.properties.isLowercase) }
            guard !letters.isEmpty else { return 0 }
            return Float(letters.filter(\.properties.isUppercase).count) / Float(letters.count)
        }
    }
}

/// `match` when the response matches a regular expression, else `noMatch`.
public struct RegexReward: RewardFunction {
    /// The pattern (NSRegularExpression syntax).
    public let pattern: String
    /// Rewards for a match and for none.
    public var match: Float, noMatch: Float
    private let expression: NSRegularExpression

    /// Compiles `pattern`; an invalid pattern is an error that shows it.
    public init(pattern: String, match: Float = 1, noMatch: Float = 0) throws {
        do { expression = try NSRegularExpression(pattern: pattern) } catch {
            throw RunError(path: "reward", message: "invalid regular expression '\(pattern)': \(error.localizedDescription)")
        }
        self.pattern = pattern
        self.match = match
        self.noMatch = noMatch
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        return responses.map { response in
            let range = NSRange(response.startIndex..., in: response)
            return expression.firstMatch(in: response, range: range) != nil ? match : noMatch
        }
    }
}

/// −|length − target| / target: 0 at the target length, lower the further away. Length counts
/// tokens when a tokenizer is given, else characters.
public struct TargetLengthReward: RewardFunction {
    /// The length that scores best.
    public let target: Int
    /// Counts tokens when given.
    public let tokenizer: (any Tokenizer)?

    /// A reward for responses of `target` tokens (or characters without a tokenizer).
    public init(target: Int, tokenizer: (any Tokenizer)? = nil) throws {
        guard target > 0 else { throw RunError(path: "reward", message: "the target length must be positive, got \(target)") }
        self.target = target
        self.tokenizer = tokenizer
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        return try responses.map { response in
            let length = try tokenizer.map { try $0.encodeChecked(response).count } ?? response.count
            return -Float(abs(length - target)) / Float(target)
        }
    }
}

/// A decoder sequence classifier's (any registered family) probability of one output for `prompt + response` (or the
/// response alone); ``EncoderLabelReward`` is the same for BERT/RoBERTa classifiers.
public struct ClassifierLabelReward: RewardFunction {
    /// The classifier.
    public let classifier: SequenceClassifier
    /// Its tokenizer.
    public let tokenizer: any Tokenizer
    /// The output whose probability is the reward.
    public let label: Int
    /// Whether the prompt is scored with the response (else the response alone).
    public var includePrompt: Bool

    /// Loads a classifier checkpoint; `label` must be one of its outputs.
    public init(checkpoint: URL, label: Int, includePrompt: Bool = false) throws {
        classifier = try SequenceClassifier.load(from: checkpoint)
        tokenizer = try loadTokenizer(from: checkpoint)
        try checkTokenizer(tokenizer, fits: classifier.modelConfiguration, path: checkpoint.path)
        let K = classifier.score.weight.shape[0]
        guard K >= 2, (0..<K).contains(label) else {
            throw RunError(path: checkpoint.path, message: "label \(label) is not one of the classifier's \(K) outputs (a label probability needs ≥ 2)")
        }
        self.label = label
        self.includePrompt = includePrompt
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        let configuration = classifier.modelConfiguration
        let texts = zip(prompts, responses).map { includePrompt ? $0 + $1 : $1 }
        let sequences = try texts.map { text -> [Int32] in
            let ids = try tokenizer.encodeChecked(text).suffix(configuration.positions).map { Int32($0) }
            return ids.isEmpty ? [Int32(configuration.eosTokenId ?? 0)] : ids
        }
        let (ids, lengths) = rightPadded(sequences, padding: Int32(configuration.padTokenId ?? configuration.eosTokenId ?? 0))
        let probabilities = withNoGrad { classifier.outputs(ids, lengths: lengths).softmax() }
        let K = classifier.score.weight.shape[0]
        return (0..<texts.count).map { probabilities.scalars[$0 * K + label] }
    }
}

/// An encoder classifier's probability of one label (for example a GoEmotions classifier's "joy",
/// as trlX's sentiment example rewards), for the response alone or `prompt + response`; batched,
/// in evaluation mode, without gradients. Multi-label classifiers give the label's sigmoid,
/// single-label ones its softmax share.
public struct EncoderLabelReward: RewardFunction {
    /// The classifier and its tokenizer.
    public let classifier: TextClassifier
    /// The output whose probability is the reward.
    public let label: Int
    /// Whether the prompt is scored with the response.
    public var includePrompt: Bool
    /// Texts per forward pass.
    public var batchSize: Int

    /// Wraps a classifier; `label` is a label name or an output index.
    public init(classifier: TextClassifier, label: String, includePrompt: Bool = true, batchSize: Int = 32, path: String = "classifier") throws {
        guard let index = classifier.labelIndex(label) else {
            throw RunError(path: path, message: "label '\(label)' is not one of the classifier's labels: \(classifier.labels.joined(separator: ", "))")
        }
        self.classifier = classifier
        self.label = index
        self.includePrompt = includePrompt
        self.batchSize = batchSize
    }

    /// Loads a classifier checkpoint directory.
    public init(checkpoint: URL, label: String, includePrompt: Bool = true, batchSize: Int = 32) throws {
        try self.init(classifier: try TextClassifier.load(from: checkpoint), label: label, includePrompt: includePrompt,
                      batchSize: batchSize, path: checkpoint.path)
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        let texts = zip(prompts, responses).map { includePrompt ? $0 + $1 : $1 }
        return try classifier.probabilities(texts, batchSize: batchSize).map { $0[label] }
    }
}

/// An external scorer reached over HTTP: POST `{"prompts":[…],"responses":[…]}` as JSON, answer
/// `{"rewards":[…]}` (or `{"scores":[…]}`) with one number per pair.
public struct HTTPReward: RewardFunction {
    /// The endpoint.
    public let url: URL
    /// Seconds to wait for an answer.
    public var timeout: TimeInterval

    /// A scorer at `url`; `timeout` must be positive and finite.
    public init(url: URL, timeout: TimeInterval = 30) throws {
        guard timeout > 0, timeout.isFinite else { throw RunError(path: url.absoluteString, message: "the timeout must be a positive number of seconds, got \(timeout)") }
        self.url = url
        self.timeout = timeout
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["prompts": prompts, "responses": responses])
        let (data, response, failure) = BlockingHTTP.send(request, timeout: timeout)
        let where_ = url.absoluteString
        if let failure {
            throw RunError(path: where_, message: "the reward server did not answer within \(timeout) s or failed: \(failure.localizedDescription)")
        }
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            throw RunError(path: where_, message: "the reward server answered HTTP \(http.statusCode): \(String(decoding: (data ?? Data()).prefix(300), as: UTF8.self))")
        }
        struct Answer: Decodable { var rewards: [Double]?; var scores: [Double]? }
        let text = String(decoding: (data ?? Data()).prefix(300), as: UTF8.self)
        guard let data, let answer = try? JSONDecoder().decode(Answer.self, from: data), let values = answer.rewards ?? answer.scores else {
            throw RunError(path: where_, message: "expected a JSON object {\"rewards\": [numbers]}, got: \(text)")
        }
        let numbers = values.map { Float($0) }
        guard numbers.count == prompts.count, numbers.allSatisfy(\.isFinite) else {
            throw RunError(path: where_, message: "expected \(prompts.count) finite numeric rewards, got \(values.count): \(text)")
        }
        return numbers
    }
}

/// One HTTP exchange that blocks the calling thread until it ends, with a hard deadline: what the
/// command-line tool's external scorers and judges use (URLSession, also on Linux through
/// FoundationNetworking). Call it off Swift concurrency's cooperative threads.
public enum BlockingHTTP {
    /// Sends `request` and waits for the answer.
    /// - Parameters:
    ///   - request: the request (its URL, method, headers, body).
    ///   - timeout: seconds allowed for the request and for the whole exchange, rounded up to
    ///     whole seconds (FoundationNetworking truncates fractions, so 0.5 s would expire at once);
    ///     the caller is released at most 5 s after that even if URLSession has not given up.
    /// - Returns: the body, the response and the transport error, as URLSession reports them; a
    ///   missed deadline is an error naming the URL.
    public static func send(_ request: URLRequest, timeout: TimeInterval) -> (Data?, URLResponse?, Error?) {
        final class Box: @unchecked Sendable { var result: (Data?, URLResponse?, Error?) = (nil, nil, nil) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let seconds = max(timeout.rounded(.up), 1)
        var request = request
        request.timeoutInterval = seconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        let session = URLSession(configuration: configuration)
        session.dataTask(with: request) { data, response, error in
            box.result = (data, response, error)
            done.signal()
        }.resume()
        if done.wait(timeout: .now() + seconds + 5) == .timedOut {
            session.invalidateAndCancel()
            return (nil, nil, RunError(path: request.url?.absoluteString ?? "request", message: "no answer within \(timeout) s"))
        }
        session.finishTasksAndInvalidate()
        return box.result
    }
}

/// Prompts and responses must pair up.
func checkCounts(_ prompts: [String], _ responses: [String]) throws {
    guard prompts.count == responses.count else {
        throw RunError(path: "reward", message: "\(prompts.count) prompts but \(responses.count) responses; they must pair up")
    }
}
