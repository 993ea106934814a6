// The "answer in uppercase" task's reward.

import Foundation
import Models
import Tensors
import Tokenizers

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
