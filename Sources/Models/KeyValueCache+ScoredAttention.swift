// Decoding through a key/value cache with separate query, key and value projections and an
// additive score bias: T5's decoder self-attention (its relative-position bias). The packed
// GPT-2 form is `KeyValueCache.attention(_:layer:paddingMask:)`.
// Storage per layer: (B, NH, capacity, HS).

import Kernels
import Tensors

extension KeyValueCache {
    /// Appends the new keys and values (B, Tn, NH·HS) to layer `layer` at positions
    /// length ..< length + Tn, then attends each new query (B, Tn, NH·HS) to every position up to
    /// its own. Never recorded for gradients.
    ///
    /// - bias: (NH, Tn, length + Tn) added to the scores, or nil.
    /// - paddingMask: (B, length + Tn) over every position so far, or nil.
    /// - scale: multiplies q·kᵀ; nil means 1/√HS.
    /// - Returns: (B, Tn, NH·HS).
    public func scoredAttention(query: Tensor, key: Tensor, value: Tensor, layer: Int, bias: Tensor?, paddingMask: Tensor? = nil, scale: Float? = nil) -> Tensor {
        let C = heads * headSize
        require(query.rank == 3 && query.shape[0] <= batch && query.shape[2] == C && key.shape == query.shape && value.shape == query.shape,
                "KeyValueCache.scoredAttention: query \(query.shape), key \(key.shape), value \(value.shape); expected (B ≤ \(batch), Tn, \(C)) each")
        let rows = query.shape[0], Tn = query.shape[1], past = lengths[layer], L = past + Tn
        require(L <= capacity, "KeyValueCache: \(L) positions exceed the capacity \(capacity)")
        if let bias { require(bias.shape == [heads, Tn, L], "KeyValueCache.scoredAttention: bias \(bias.shape), expected [\(heads), \(Tn), \(L)]") }
        if let paddingMask { require(paddingMask.shape == [rows, L], "KeyValueCache.scoredAttention: padding mask \(paddingMask.shape), expected [\(rows), \(L)]") }
        for b in 0..<rows {
            for h in 0..<heads {
                for t in 0..<Tn {
                    let slot = ((b * heads + h) * capacity + past + t) * headSize
                    let column = (b * Tn + t) * C + h * headSize
                    (keys[layer].pointer + slot).update(from: key.data + column, count: headSize)
                    (values[layer].pointer + slot).update(from: value.data + column, count: headSize)
                }
            }
        }
        lengths[layer] = L
        let out = Tensor(zeros: [rows, Tn, C])
        let cacheLayout = HeadLayout.headMajor(heads: heads, capacity: capacity, headSize: headSize)
        let rowLayout = HeadLayout.interleaved(time: Tn, width: C, headSize: headSize)
        scoredAttentionForward(query: query.data, rowLayout, key: keys[layer].pointer, cacheLayout, value: values[layer].pointer, cacheLayout,
                               out: out.data, rowLayout, probabilities: nil, bias: bias?.data, biasBatchStride: 0, keyMask: paddingMask?.data,
                               dropoutMask: nil,
                               shape: ScoredAttentionShape(batch: rows, heads: heads, headSize: headSize, queries: Tn, keys: L,
                                                           scale: scale ?? 1 / Float(headSize).squareRoot(), causalOffset: past))
        return out
    }
}
