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
    /// The response tokens in row order (N of them), and the flat (B·L) index of the position
    /// that predicts each: the only positions whose logits PPO needs.
    let responseTargets: [Int32], responsePositions: [Int32]

    init(prompts: [[Int32]], responses: [[Int32]], padding: Int32) {
        B = prompts.count
        L = zip(prompts, responses).map { $0.count + $1.count }.max() ?? 1
        var ids = [Int32](repeating: padding, count: B * L), targets = [Int32](repeating: 0, count: B * L)
        var mask = [Float](repeating: 0, count: B * (L - 1))
        var starts: [Int] = [], responseTargets: [Int32] = [], responsePositions: [Int32] = []
        for b in 0..<B {
            let row = prompts[b] + responses[b]
            for (t, token) in row.enumerated() {
                ids[b * L + t] = token
                if t > 0 { targets[b * L + t - 1] = token }
            }
            let start = prompts[b].count - 1
            starts.append(start)
            for j in 0..<responses[b].count {
                mask[b * (L - 1) + start + j] = 1
                responseTargets.append(responses[b][j])
                responsePositions.append(Int32(b * L + start + j))
            }
        }
        self.responseTargets = responseTargets
        self.responsePositions = responsePositions
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

    /// Response tokens in all.
    var responseCount: Int { responseTargets.count }

    /// The hidden states (B, L, C) at the response-predicting positions, (N, C) (differentiable).
    func responseRows(_ hidden: Tensor) -> Tensor {
        let C = hidden.shape[2]
        let index = IndexTensor(shape: [responseCount, C], values: responsePositions.flatMap { Array(repeating: $0, count: C) })
        return Tensors.gather(hidden.reshaped([B * L, C]), axis: 0, index: index)
    }

    /// Per-row values laid out flat in row order, (N).
    func flat(_ rows: [[Float]]) -> Tensor { Tensor(shape: [responseCount], values: rows.flatMap { $0 }) }

    /// A flat (N) tensor cut into rows.
    func rows(_ flat: Tensor) -> [[Float]] {
        let values = flat.scalars
        var start = 0
        return lengths.map { length in
            defer { start += length }
            return Array(values[start..<(start + length)])
        }
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

    /// log π(response tokens), values and entropy at the response positions only, each (N) in row
    /// order (differentiable unless called under `withNoGrad`). The LM head runs on those N rows,
    /// not on every prompt position.
    func policyPass(_ grid: SequenceGrid, entropyToo: Bool, entropyDifferentiable: Bool = false) -> (logProbabilities: Tensor, values: Tensor, entropy: Tensor?) {
        let N = grid.responseCount
        let selected = grid.responseRows(policy.model.transformer(grid.ids))
        var logits = policy.model.logits(hidden: selected)
        let values: Tensor
        if let valueModel {
            values = valueModel.valueHead.summary(grid.responseRows(valueModel.model.transformer(grid.ids))).reshaped([N])
        } else {
            values = policy.valueHead.summary(selected).reshaped([N])
        }
        if temperature != 1 && temperature > 0 { logits = logits * (1 / temperature) }
        let logProbabilities = tokenLogProbabilities(logits, tokens: IndexTensor(shape: [N], values: grid.responseTargets))
        // The entropy is a diagnostic unless it is in the loss: then it needs no graph.
        let entropyValues = entropyToo ? (entropyDifferentiable ? entropy(logits) : withNoGrad { entropy(logits) }) : nil
        return (logProbabilities, values, entropyValues)
    }

    /// log π_ref(response tokens), (N), without gradients.
    func referencePass(_ grid: SequenceGrid) -> Tensor {
        responseLogProbabilities(reference, grid: grid, temperature: temperature)
    }
}
