// T5's attention (`T5Attention`): query, key, value and output projections without biases, scores
// without the 1/√HS scaling, and a learned relative-position bias — bucketed distances, one scalar
// per bucket and head — that the first block computes and every block shares. Bidirectional in the
// encoder; causal, with buckets for the past only, in the decoder; none in cross-attention.
// Shapes: B batch, Tq queries, Tk keys, C = d_model, NH heads, HS = d_kv, inner = NH·HS.

import Foundation
import Kernels
import NN
import Tensors

/// T5's bucket of a relative position (key position − query position), as transformers'
/// `T5Attention._relative_position_bucket` computes it: half the buckets (per direction, when
/// bidirectional) hold exact distances, the rest logarithmically wider ranges up to `maxDistance`,
/// beyond which all share the last bucket.
public func t5RelativePositionBucket(_ relativePosition: Int, bidirectional: Bool, buckets: Int, maxDistance: Int) -> Int {
    var buckets = buckets, bucket = 0, distance: Int
    if bidirectional {
        buckets /= 2
        if relativePosition > 0 { bucket += buckets }
        distance = abs(relativePosition)
    } else {
        distance = max(-relativePosition, 0)
    }
    let maxExact = buckets / 2
    if distance < maxExact { return bucket + distance }
    // float32 as torch computes it, truncated toward zero by .to(torch.long).
    let ratio = Float(distance) / Float(maxExact)
    let large = maxExact + Int(Foundation.log(ratio) / Float(Foundation.log(Double(maxDistance) / Double(maxExact))) * Float(buckets - maxExact))
    return bucket + min(max(large, maxExact), buckets - 1)
}

/// `SelfAttention` / `EncDecAttention`: q, k, v (inner, C), o (C, inner), and in the first block
/// of each stack `relative_attention_bias` (buckets, NH).
public final class T5Attention: Module {
    public var q: Linear
    public var k: Linear
    public var v: Linear
    public var o: Linear
    /// Only in the first block's self-attention.
    public var relative_attention_bias: Embedding?
    /// Attention-probability dropout (`dropout_rate`).
    public var dropout: Dropout
    /// NH, HS.
    public let heads: Int, headSize: Int
    /// Encoder (bidirectional buckets) or decoder (causal).
    public let isDecoder: Bool
    let buckets: Int, maxDistance: Int

    init(_ configuration: T5Configuration, isDecoder: Bool, relativeBias: Bool, generator: inout RandomGenerator, source: RandomSource) {
        let C = configuration.modelDimension, inner = configuration.innerDimension, factor = configuration.initializerFactor
        // transformers' T5PreTrainedModel._init_weights.
        q = Linear(inputs: C, outputs: inner, bias: false, standardDeviation: factor / Float(C * configuration.headSize).squareRoot(), generator: &generator)
        k = Linear(inputs: C, outputs: inner, bias: false, standardDeviation: factor / Float(C).squareRoot(), generator: &generator)
        v = Linear(inputs: C, outputs: inner, bias: false, standardDeviation: factor / Float(C).squareRoot(), generator: &generator)
        o = Linear(inputs: inner, outputs: C, bias: false, standardDeviation: factor / Float(inner).squareRoot(), generator: &generator)
        relative_attention_bias = relativeBias
            ? Embedding(count: configuration.relativeAttentionBuckets, dimension: configuration.heads,
                        standardDeviation: factor / Float(C).squareRoot(), generator: &generator)
            : nil
        dropout = Dropout(probability: configuration.dropout, source: source)
        heads = configuration.heads
        headSize = configuration.headSize
        self.isDecoder = isDecoder
        buckets = configuration.relativeAttentionBuckets
        maxDistance = configuration.relativeAttentionMaxDistance
    }

    /// The relative-position bias (NH, Tq, Tk) of queries at positions offset ..< offset + Tq over
    /// keys at 0 ..< Tk (differentiable in `relative_attention_bias`).
    public func positionBias(queries Tq: Int, keys Tk: Int, offset: Int = 0) -> Tensor {
        guard let table = relative_attention_bias else {
            return Tensor(zeros: [heads, Tq, Tk])
        }
        var ids = [Int32](repeating: 0, count: Tq * Tk)
        for i in 0..<Tq {
            for j in 0..<Tk {
                ids[i * Tk + j] = Int32(t5RelativePositionBucket(j - (i + offset), bidirectional: !isDecoder, buckets: buckets, maxDistance: maxDistance))
            }
        }
        return table(IndexTensor(shape: [Tq, Tk], values: ids)).permuted([2, 0, 1])
    }

    /// Attention of `x` (B, Tq, C) over itself or over `keyValue` (B, Tk, C), plus `bias`
    /// (NH, Tq, Tk); `keyMask` (B, Tk) hides padded keys. Returns (B, Tq, C) after `o`.
    public func callAsFunction(_ x: Tensor, keyValue: Tensor? = nil, keyMask: Tensor?, bias: Tensor?, causal: Bool) -> Tensor {
        let source = keyValue ?? x
        let attended: Tensor
        if dropout.isTraining && dropout.probability > 0 {
            attended = scoredAttention(query: q(x), key: k(source), value: v(source), heads: heads, bias: bias, keyMask: keyMask,
                                       causal: causal, scale: 1, dropoutProbability: dropout.probability, generator: &dropout.source.generator)
        } else {
            attended = scoredAttention(query: q(x), key: k(source), value: v(source), heads: heads, bias: bias, keyMask: keyMask,
                                       causal: causal, scale: 1)
        }
        return o(attended)
    }

    /// Decoding self-attention for the new positions `x` (B, Tn, C): their keys and values join
    /// `cache` layer `layer`, and each attends to every position so far with `bias`
    /// (NH, Tn, past + Tn), the first block's.
    func attendCached(_ x: Tensor, cache: KeyValueCache, layer: Int, bias: Tensor?) -> Tensor {
        o(cache.scoredAttention(query: q(x), key: k(x), value: v(x), layer: layer, bias: bias, scale: 1))
    }
}
