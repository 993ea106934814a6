// A learned reward model as a reward function.

import Foundation
import Models
import Tensors
import Tokenizers

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
