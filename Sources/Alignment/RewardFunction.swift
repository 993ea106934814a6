// Reward functions: what PPO (and evaluation) call to score a batch of responses. A learned
// reward model, programmatic rewards, a classifier's label probability, and an external HTTP
// scorer all answer the same question.

import Foundation
import Models
import Tensors
import Tokenizers

/// Scores responses to prompts: one reward per (prompt, response) pair, higher is better.
public protocol RewardFunction {
    /// The rewards of `responses[i]` given `prompts[i]`; both arrays have the same length.
    func rewards(prompts: [String], responses: [String]) throws -> [Float]
}

/// Prompts and responses must pair up.
func checkCounts(_ prompts: [String], _ responses: [String]) throws {
    guard prompts.count == responses.count else {
        throw RunError.invalidData(path: "reward", problem: "\(prompts.count) prompts but \(responses.count) responses; they must pair up")
    }
}
