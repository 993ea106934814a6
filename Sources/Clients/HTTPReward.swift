// An external scorer over HTTP as a reward.

import Alignment
import Foundation

/// An external scorer reached over HTTP: POST `{"prompts":[…],"responses":[…]}` as JSON, answer
/// `{"rewards":[…]}` (or `{"scores":[…]}`) with one number per pair.
///
/// The request has a hard deadline (``timeout``, for connecting, sending and the whole answer) and
/// the answer is capped at ``maximumAnswerBytes``. `http:`/`https:` reward specifications make one
/// once ``ClientRegistration/register()`` has run (the `rlhf` tool does so at start).
public struct HTTPReward: RewardFunction {
    /// The endpoint.
    public let url: URL
    /// Seconds to wait for the whole answer.
    public var timeout: TimeInterval
    /// The longest answer accepted: 16 MiB, room for millions of numbers.
    public static let maximumAnswerBytes = 16 << 20

    /// A scorer at `url`.
    /// - Parameters:
    ///   - url: the endpoint (http or https).
    ///   - timeout: seconds allowed for the whole exchange; positive and finite.
    /// - Throws: `RunError` naming the URL when the timeout is not a positive number of seconds.
    public init(url: URL, timeout: TimeInterval = 30) throws {
        guard timeout > 0, timeout.isFinite else { throw RunError.invalidSetting(field: "timeout", source: url.absoluteString, problem: "must be a positive number of seconds, got \(timeout)") }
        self.url = url
        self.timeout = timeout
    }

    /// Posts the batch and reads one reward per pair.
    /// - Parameters:
    ///   - prompts: (N) prompts.
    ///   - responses: (N) responses.
    /// - Returns: (N) finite rewards.
    /// - Throws: `RunError` naming the URL: no answer within the timeout or a failed connection,
    ///   a non-2xx status (with the start of the body), or an answer that is not N finite numbers.
    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        guard prompts.count == responses.count else {
            throw RunError.invalidData(path: url.absoluteString, problem: "\(prompts.count) prompts but \(responses.count) responses; they must pair up")
        }
        let body = try JSONSerialization.data(withJSONObject: ["prompts": prompts, "responses": responses])
        let request = HTTPExchange.Request(url: url, method: "POST", headers: [("Content-Type", "application/json")], body: body,
                                           timeout: timeout, maximumAnswerBytes: Self.maximumAnswerBytes)
        let where_ = url.absoluteString
        let answer: HTTPExchange.Answer
        do {
            answer = try HTTPExchange.sendAndWait(request)
        } catch {
            let reason = error.isTimeout ? "no answer within \(timeout) s" : error.description
            throw RunError.external(source: where_, problem: "the reward server did not answer within \(timeout) s or failed: \(reason)")
        }
        let text = String(decoding: answer.body.prefix(300), as: UTF8.self)
        guard (200..<300).contains(answer.status) else {
            throw RunError.external(source: where_, problem: "the reward server answered HTTP \(answer.status): \(text)")
        }
        struct Answer: Decodable { var rewards: [Double]?; var scores: [Double]? }
        guard let decoded = try? JSONDecoder().decode(Answer.self, from: answer.body), let values = decoded.rewards ?? decoded.scores else {
            throw RunError.external(source: where_, problem: "expected a JSON object {\"rewards\": [numbers]}, got: \(text)")
        }
        let numbers = values.map { Float($0) }
        guard numbers.count == prompts.count, numbers.allSatisfy(\.isFinite) else {
            throw RunError.external(source: where_, problem: "expected \(prompts.count) finite numeric rewards, got \(values.count): \(text)")
        }
        return numbers
    }
}
