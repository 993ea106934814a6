// A reward for matching a regular expression.

import Foundation
import Models
import Tensors
import Tokenizers

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
            throw RunError.invalidSetting(field: "reward", source: "reward", problem: "holds an invalid regular expression '\(pattern)': \(error.localizedDescription)")
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
