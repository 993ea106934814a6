// Prompt + response pairs scored together by one teacher-forced pass: what PPO's rollouts and
// updates, DPO's pairs, SFT's sequences and the evaluations hand to any ``AutoregressiveModel``.
// The model lays the pairs out its own way (a causal LM right-pads prompt + response into one
// grid; an encoder-decoder right-pads the prompts for its encoder and start + response for its
// decoder); this type holds only what is the same for both: the response tokens, flat in row
// order, and how the flat values cut back into rows.
// Shapes: B pairs, R_b response tokens of pair b, N = Σ_b R_b, C channels.

import Kernels
import Tensors

/// B prompt/response pairs and their response tokens laid out flat, row by row.
public struct ResponseBatch: Sendable, Equatable {
    /// The prompts (each non-empty) and the responses (each non-empty), pair by pair.
    public let prompts: [[Int32]], responses: [[Int32]]
    /// R_b per pair.
    public let lengths: [Int]
    /// The response tokens in row order, (N).
    public let targets: [Int32]
    /// Each response token's index within its response (j), (N).
    public let indices: [Int32]

    /// Pairs `prompts[b]`, `responses[b]`.
    /// - Precondition: as many prompts as responses, and no empty prompt or response.
    public init(prompts: [[Int32]], responses: [[Int32]]) {
        require(prompts.count == responses.count, "ResponseBatch: \(prompts.count) prompts for \(responses.count) responses")
        require(!prompts.contains(where: \.isEmpty) && !responses.contains(where: \.isEmpty), "ResponseBatch: an empty prompt or response")
        self.prompts = prompts
        self.responses = responses
        lengths = responses.map(\.count)
        targets = responses.flatMap { $0 }
        indices = responses.flatMap { $0.indices.map { Int32($0) } }
    }

    /// B.
    public var count: Int { prompts.count }
    /// N, the response tokens in all.
    public var responseCount: Int { targets.count }

    /// Per-row values laid out flat in row order, (N).
    public func flat(_ rows: [[Float]]) -> Tensor { Tensor(shape: [responseCount], values: rows.flatMap { $0 }) }

    /// A flat (N) tensor cut into rows.
    public func rows(_ flat: Tensor) -> [[Float]] {
        let values = flat.scalars
        var start = 0
        return lengths.map { length in
            defer { start += length }
            return Array(values[start..<(start + length)])
        }
    }

    /// The rows (N, C) of `states` (B, W, C) that predict the response tokens, when row b's
    /// token j is predicted at column `starts[b] + j` (differentiable).
    public func responseRows(_ states: Tensor, starts: [Int]) -> Tensor {
        let (width, C) = (states.shape[1], states.shape[2])
        var positions: [Int32] = []
        positions.reserveCapacity(responseCount * C)
        for (b, length) in lengths.enumerated() {
            for j in 0..<length { positions += Array(repeating: Int32(b * width + starts[b] + j), count: C) }
        }
        let index = IndexTensor(shape: [responseCount, C], values: positions)
        return Tensors.gather(states.reshaped([states.shape[0] * width, C]), axis: 0, index: index)
    }
}
