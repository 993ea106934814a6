// PPO rollouts: sample responses, score them (with lm-human-preferences' truncation and penalty),
// and record the policy's and the frozen reference's log-probabilities and the values, from
// which the per-token rewards −β·(log π − log π_ref) (+ the score on the last token) follow.
//
// Sequences are prompt + response, right-padded into (B, L); position t of the (B, L − 1) grid
// predicts token t + 1, so row b's response token j sits at column P_b − 1 + j.

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

    /// Σ_t (log π − log π_ref) per sequence.
    public var klPerSequence: [Float] { zip(logProbabilities, referenceLogProbabilities).map { zip($0, $1).reduce(0) { $0 + $1.0 - $1.1 } } }
}

/// Right-padded prompt + response rows and where each response sits in the (B, L − 1) grid.
struct SequenceGrid {
    let B: Int, L: Int
    /// (B, L) ids; (B, L) next-token targets (the last column and padding are 0).
    let ids: IndexTensor, targets: IndexTensor
    /// Column of each row's first response token, and the response lengths.
    let starts: [Int], lengths: [Int]
    /// (B, L − 1): 1 on response tokens.
    let mask: Tensor

    init(prompts: [[Int32]], responses: [[Int32]], padding: Int32) {
        B = prompts.count
        L = zip(prompts, responses).map { $0.count + $1.count }.max() ?? 1
        var ids = [Int32](repeating: padding, count: B * L), targets = [Int32](repeating: 0, count: B * L)
        var mask = [Float](repeating: 0, count: B * (L - 1))
        var starts: [Int] = []
        for b in 0..<B {
            let row = prompts[b] + responses[b]
            for (t, token) in row.enumerated() {
                ids[b * L + t] = token
                if t > 0 { targets[b * L + t - 1] = token }
            }
            let start = prompts[b].count - 1
            starts.append(start)
            for j in 0..<responses[b].count { mask[b * (L - 1) + start + j] = 1 }
        }
        self.ids = IndexTensor(shape: [B, L], values: ids)
        self.targets = IndexTensor(shape: [B, L], values: targets)
        self.starts = starts
        self.lengths = responses.map(\.count)
        self.mask = Tensor(shape: [B, L - 1], values: mask)
    }

    /// Per-row response values laid out in the (B, L − 1) grid (0 elsewhere).
    func scatter(_ rows: [[Float]]) -> Tensor {
        var values = [Float](repeating: 0, count: B * (L - 1))
        for b in 0..<B { for (j, value) in rows[b].enumerated() { values[b * (L - 1) + starts[b] + j] = value } }
        return Tensor(shape: [B, L - 1], values: values)
    }

    /// The response positions of a (B, L − 1) tensor, per row.
    func gather(_ tensor: Tensor) -> [[Float]] {
        let values = tensor.scalars
        return (0..<B).map { b in (0..<lengths[b]).map { values[b * (L - 1) + starts[b] + $0] } }
    }

    /// (B, L − 1) columns of a (B, L) tensor: drops the last position.
    func trimmed(_ tensor: Tensor) -> Tensor { tensor.slice(axis: 1, 0..<(L - 1)) }
}

/// The policy (with its value head or a separate value model) and the frozen reference.
struct PPOModels {
    let policy: GPT2WithValueHead
    let valueModel: GPT2WithValueHead?
    let reference: GPT2LMHeadModel
    let temperature: Float

    /// log π(response tokens), values and per-position entropy over a grid (differentiable
    /// unless called under `withNoGrad`). Each (B, L − 1).
    func policyPass(_ grid: SequenceGrid, entropyToo: Bool) -> (logProbabilities: Tensor, values: Tensor, entropy: Tensor?) {
        var logits: Tensor, values: Tensor
        if let valueModel {
            logits = policy.model(grid.ids)
            values = valueModel.valueHead(valueModel.model.transformer(grid.ids))
        } else {
            (logits, values) = policy(grid.ids)
        }
        if temperature != 1 && temperature > 0 { logits = logits * (1 / temperature) }
        let logProbabilities = grid.trimmed(tokenLogProbabilities(logits, tokens: grid.targets))
        let entropyValues = entropyToo ? grid.trimmed(entropy(logits)) : nil
        return (logProbabilities, grid.trimmed(values), entropyValues)
    }

    /// log π_ref(response tokens), (B, L − 1), without gradients.
    func referencePass(_ grid: SequenceGrid) -> Tensor {
        withNoGrad {
            var logits = reference(grid.ids)
            if temperature != 1 && temperature > 0 { logits = logits * (1 / temperature) }
            return grid.trimmed(tokenLogProbabilities(logits, tokens: grid.targets))
        }
    }
}
