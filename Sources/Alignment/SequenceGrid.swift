// Prompt + response rows laid out for one forward pass that scores the responses (PPO's rollouts
// and updates, DPO's pairs, evaluations).
//
// Rows are right-padded to the longest prompt + response, L tokens. Only the first L − 1 columns
// are fed to the model: position t predicts token t + 1, so the last column predicts nothing,
// and a row of exactly n_positions + 1 tokens still fits the model. Row b's response token j is
// predicted at column P_b − 1 + j.

import Tensors

/// Right-padded prompt + response rows and where each response token is predicted.
struct SequenceGrid {
    /// Rows, and the longest prompt + response in tokens.
    let B: Int, L: Int
    /// (B, L − 1) input ids: each row without its last token, padded.
    let ids: IndexTensor
    /// Response lengths, per row.
    let lengths: [Int]
    /// The response tokens in row order (N of them); the flat (B·(L − 1)) index of the position
    /// that predicts each (the only positions whose logits are needed); and each token's index
    /// within its response (j).
    let responseTargets: [Int32], responsePositions: [Int32], responseIndices: [Int32]

    /// Lays out `prompts[b] + responses[b]` for every b; prompts must not be empty.
    init(prompts: [[Int32]], responses: [[Int32]], padding: Int32) {
        B = prompts.count
        L = zip(prompts, responses).map { $0.count + $1.count }.max() ?? 2
        let width = max(L - 1, 1)
        var ids = [Int32](repeating: padding, count: B * width)
        var responseTargets: [Int32] = [], responsePositions: [Int32] = [], responseIndices: [Int32] = []
        for b in 0..<B {
            let row = prompts[b] + responses[b]
            for (t, token) in row.dropLast().enumerated() { ids[b * width + t] = token }
            let start = prompts[b].count - 1
            for j in 0..<responses[b].count {
                responseTargets.append(responses[b][j])
                responsePositions.append(Int32(b * width + start + j))
                responseIndices.append(Int32(j))
            }
        }
        self.responseTargets = responseTargets
        self.responsePositions = responsePositions
        self.responseIndices = responseIndices
        self.ids = IndexTensor(shape: [B, width], values: ids)
        self.lengths = responses.map(\.count)
    }

    /// Response tokens in all (N).
    var responseCount: Int { responseTargets.count }

    /// The hidden states (B, L − 1, C) at the response-predicting positions, (N, C) (differentiable).
    func responseRows(_ hidden: Tensor) -> Tensor {
        let C = hidden.shape[2]
        let index = IndexTensor(shape: [responseCount, C], values: responsePositions.flatMap { Array(repeating: $0, count: C) })
        return Tensors.gather(hidden.reshaped([hidden.shape[0] * hidden.shape[1], C]), axis: 0, index: index)
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
}
