// PPO rollouts: sample responses, score them (with lm-human-preferences' truncation and penalty),
// and record the policy's and the frozen reference's log-probabilities and the values, from
// which the per-token rewards −β·(log π − log π_ref) (+ the score on the last token) follow.
//
// Prompt + response pairs go to the models as a ``ResponseBatch``: each model lays them out its own
// way (a causal LM's right-padded grid, an encoder-decoder's encoder and decoder inputs) and
// returns the states that predict the response tokens, flat in row order.

import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// One iteration's rollouts, one entry per prompt.
public struct PPORollouts: Sendable {
    /// The prompts' text and tokens.
    public var prompts: [String], promptTokens: [[Int32]]
    /// The sampled responses' tokens (EOS included when generation ended with it).
    public var responseTokens: [[Int32]]
    /// The response text the reward function saw (after truncation, without EOS).
    public var responses: [String]
    /// The scores used (after penalty, clipping and scaling) and the reward function's own.
    public var scores: [Float], rawScores: [Float]
    /// Per response token: log π_old, log π_ref, V_old, and the reward.
    public var logProbabilities: [[Float]], referenceLogProbabilities: [[Float]], values: [[Float]], rewards: [[Float]]

    /// Rollouts from their parts (rewards as ``PPOTrainer/shapedRewards(logProbabilities:referenceLogProbabilities:scores:klCoefficient:)``
    /// makes them).
    public init(prompts: [String], promptTokens: [[Int32]], responseTokens: [[Int32]], responses: [String], scores: [Float],
                rawScores: [Float], logProbabilities: [[Float]], referenceLogProbabilities: [[Float]], values: [[Float]],
                rewards: [[Float]]) {
        self.prompts = prompts
        self.promptTokens = promptTokens
        self.responseTokens = responseTokens
        self.responses = responses
        self.scores = scores
        self.rawScores = rawScores
        self.logProbabilities = logProbabilities
        self.referenceLogProbabilities = referenceLogProbabilities
        self.values = values
        self.rewards = rewards
    }

    /// Σ_t (log π − log π_ref) per sequence.
    public var klPerSequence: [Float] { zip(logProbabilities, referenceLogProbabilities).map { zip($0, $1).reduce(0) { $0 + $1.0 - $1.1 } } }
}

/// The policy (with its value head or a separate value model) and the frozen reference.
struct PPOModels {
    let policy: ValueHeadModel
    let valueModel: ValueHeadModel?
    let reference: any AutoregressiveModel
    /// How the responses were sampled (temperature, support, banned EOS).
    let distribution: ResponseDistribution

    /// log π(response tokens), values and entropy at the response positions only, each (N) in row
    /// order (differentiable unless called under `withNoGrad`). The LM head runs on those N rows,
    /// not on every prompt position.
    func policyPass(_ grid: ResponseBatch, entropyToo: Bool, entropyDifferentiable: Bool = false) -> (logProbabilities: Tensor, values: Tensor, entropy: Tensor?) {
        // The policy's final states (a causal LM's trunk, an encoder-decoder's decoder) feed both
        // its LM head and its value head, unless a separate value model gives the values.
        let selected = policy.model.responseStates(grid)
        let values = valueModel?.responseOutputs(grid).values ?? policy.valueHead.summary(selected).reshaped([grid.responseCount])
        let (logProbabilities, entropy) = distribution.evaluate(policy.model.outputLogits(selected), grid: grid, entropyToo: entropyToo,
                                                                entropyDifferentiable: entropyDifferentiable)
        return (logProbabilities, values, entropy)
    }

    /// log π_ref(response tokens), (N), without gradients.
    func referencePass(_ grid: ResponseBatch) -> Tensor {
        distribution.logProbabilities(reference, grid: grid)
    }
}
