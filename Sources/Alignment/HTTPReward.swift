// An external scorer over HTTP as a reward.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Models
import Tensors
import Tokenizers

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
