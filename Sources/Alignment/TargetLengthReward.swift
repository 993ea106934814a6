// A reward for a target length.

import Foundation
import Models
import Tensors
import Tokenizers

/// −|length − target| / target: 0 at the target length, lower the further away. Length counts
/// tokens when a tokenizer is given, else characters.
public struct TargetLengthReward: RewardFunction {
    /// The length that scores best.
    public let target: Int
    /// Counts tokens when given.
    public let tokenizer: (any Tokenizer)?

    /// A reward for responses of `target` tokens (or characters without a tokenizer).
    public init(target: Int, tokenizer: (any Tokenizer)? = nil) throws {
        guard target > 0 else { throw RunError.invalidSetting(field: "reward", source: "reward", problem: "asks for a target length of \(target); it must be positive") }
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
