// Differentiable ops for encoder-decoder models: scored attention (separate query, key and value,
// an additive score bias, optional causality and dropout; T5's self- and cross-attention) and RMS
// layer normalization (T5's `T5LayerNorm`).
// Shapes: B batch, Tq queries, Tk keys, NH heads, HS head size, C = NH·HS.

import Kernels

/// Multi-head attention of `query` over `key` and `value`, with an additive bias on the scores.
///
/// - Parameters:
///   - query: (B, Tq, C), heads side by side along the channels.
///   - key, value: (B, Tk, C).
///   - heads: NH; C must divide by it.
///   - bias: (NH, Tq, Tk) shared by the batch, or (B, NH, Tq, Tk), added to the scaled scores
///     (T5's relative position bias); receives gradients.
///   - keyMask: (B, Tk): 1 for real keys, 0 for padding, or nil.
///   - causal: query i sees keys 0 ... i + (Tk − Tq) (the queries are the last Tq positions).
///   - scale: multiplies q·kᵀ; nil means 1/√HS (T5 uses 1).
/// - Returns: (B, Tq, C), heads concatenated, before the output projection.
public func scoredAttention(
    query: Tensor, key: Tensor, value: Tensor, heads: Int, bias: Tensor? = nil, keyMask: Tensor? = nil,
    causal: Bool = false, scale: Float? = nil
) -> Tensor {
    scoredAttention(query: query, key: key, value: value, heads: heads, bias: bias, keyMask: keyMask, causal: causal,
                    scale: scale, dropoutMask: nil)
}

/// ``scoredAttention(query:key:value:heads:bias:keyMask:causal:scale:)`` with dropout probability
/// `p` on the attention probabilities (masks drawn from `generator`; p = 0 draws nothing).
public func scoredAttention(
    query: Tensor, key: Tensor, value: Tensor, heads: Int, bias: Tensor? = nil, keyMask: Tensor? = nil,
    causal: Bool = false, scale: Float? = nil, dropoutProbability p: Float, generator: inout RandomGenerator
) -> Tensor {
    require(p >= 0 && p < 1, "scoredAttention: dropout probability \(p) must be in [0, 1)")
    var mask: TensorStorage?
    if p > 0 {
        let count = query.shape[0] * heads * query.shape[1] * key.shape[1]
        let storage = TensorStorage(count: count)
        let keep = 1 / (1 - p)
        for i in 0..<count { storage.pointer[i] = generator.nextFloat() < p ? 0 : keep }
        mask = storage
    }
    return scoredAttention(query: query, key: key, value: value, heads: heads, bias: bias, keyMask: keyMask, causal: causal,
                           scale: scale, dropoutMask: mask)
}

private func scoredAttention(
    query: Tensor, key: Tensor, value: Tensor, heads NH: Int, bias: Tensor?, keyMask: Tensor?, causal: Bool, scale: Float?,
    dropoutMask: TensorStorage?
) -> Tensor {
    require(query.rank == 3 && key.rank == 3 && value.shape == key.shape,
            "scoredAttention: query \(query.shape), key \(key.shape), value \(value.shape); expected (B, Tq, C), (B, Tk, C), (B, Tk, C)")
    let (B, Tq, C, Tk) = (query.shape[0], query.shape[1], query.shape[2], key.shape[1])
    require(key.shape[0] == B && key.shape[2] == C, "scoredAttention: key \(key.shape) does not match query \(query.shape)")
    require(NH > 0 && C % NH == 0, "scoredAttention: \(C) channels do not split into \(NH) heads")
    let HS = C / NH
    var biasBatchStride = 0
    if let bias {
        if bias.shape == [B, NH, Tq, Tk] { biasBatchStride = NH * Tq * Tk } else {
            require(bias.shape == [NH, Tq, Tk], "scoredAttention: bias \(bias.shape), expected [\(NH), \(Tq), \(Tk)] or [\(B), \(NH), \(Tq), \(Tk)]")
        }
    }
    if let keyMask { require(keyMask.shape == [B, Tk], "scoredAttention: key mask \(keyMask.shape), expected [\(B), \(Tk)]") }
    let shape = ScoredAttentionShape(batch: B, heads: NH, headSize: HS, queries: Tq, keys: Tk, scale: scale ?? 1 / Float(HS).squareRoot(),
                                     causalOffset: causal ? Tk - Tq : nil)
    let queryLayout = HeadLayout.interleaved(time: Tq, width: C, headSize: HS)
    let keyLayout = HeadLayout.interleaved(time: Tk, width: C, headSize: HS)
    let out = Tensor(zeros: [B, Tq, C])
    var inputs = [query, key, value]
    if let bias { inputs.append(bias) }
    // The probabilities are kept only for a backward pass (not when decoding or evaluating).
    let recording = GradMode.isEnabled && inputs.contains { $0.requiresGrad }
    let probabilities = TensorStorage(count: recording ? B * NH * Tq * Tk : 0)
    scoredAttentionForward(query: query.data, queryLayout, key: key.data, keyLayout, value: value.data, keyLayout,
                           out: out.data, queryLayout, probabilities: recording ? probabilities.pointer : nil, bias: bias?.data,
                           biasBatchStride: biasBatchStride, keyMask: keyMask?.data, dropoutMask: dropoutMask?.pointer, shape: shape)
    return Tensor.record(out, inputs: inputs) { _, gradient in
        scoredAttentionBackward(query: query.data, queryLayout, key: key.data, keyLayout, value: value.data, keyLayout,
                                probabilities: probabilities.pointer, dout: gradient.data, queryLayout,
                                dQuery: query.requiresGrad ? query.gradientStorage() : nil,
                                dKey: key.requiresGrad ? key.gradientStorage() : nil,
                                dValue: value.requiresGrad ? value.gradientStorage() : nil,
                                dBias: bias.flatMap { $0.requiresGrad ? $0.gradientStorage() : nil }, biasBatchStride: biasBatchStride,
                                dropoutMask: dropoutMask?.pointer, shape: shape)
    }
}

/// RMS layer normalization over the last dimension, without mean or bias (T5's `T5LayerNorm`,
/// Llama's `LlamaRMSNorm`): x / √(mean(x²) + ε) · weight.
///
/// - x: (…, C). weight: (C).
public func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Float = 1e-6) -> Tensor {
    let C = x.shape.last ?? 0
    require(weight.shape == [C], "rmsNorm: weight \(weight.shape) for input \(x.shape), expected [\(C)]")
    let N = x.count / max(C, 1)
    let out = Tensor(zeros: x.shape)
    let rstd = TensorStorage(count: N)
    rmsNormForward(x.data, weight: weight.data, out: out.data, rstd: rstd.pointer, rows: N, channels: C, epsilon: epsilon)
    return Tensor.record(out, inputs: [x, weight]) { _, gradient in
        rmsNormBackward(x.data, weight: weight.data, rstd: rstd.pointer, dout: gradient.data,
                        dx: x.requiresGrad ? x.gradientStorage() : nil,
                        dweight: weight.requiresGrad ? weight.gradientStorage() : nil, rows: N, channels: C)
    }
}
