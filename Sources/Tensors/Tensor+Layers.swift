// Ops with learned weights or saved state: layer norm, embedding, dropout, fused attention.
// (The key/value cache that decoding attends through is in Models: KeyValueCache.swift.)

import Kernels

/// Layer normalization over the last dimension (biased variance, as torch.nn.LayerNorm).
///
/// - x: (…, C). weight, bias: (C).
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
    let C = x.shape.last ?? 0
    require(weight.shape == [C] && bias.shape == [C], "layerNorm: weight \(weight.shape) and bias \(bias.shape) for input \(x.shape), expected [\(C)]")
    let N = x.count / max(C, 1)
    let out = Tensor(zeros: x.shape)
    let mean = TensorStorage(count: N), rstd = TensorStorage(count: N)
    layerNormForward(x.data, weight: weight.data, bias: bias.data, out: out.data, mean: mean.pointer,
                     rstd: rstd.pointer, rows: N, channels: C, epsilon: epsilon)
    return Tensor.record(out, inputs: [x, weight, bias]) { _, gradient in
        layerNormBackward(x.data, weight: weight.data, mean: mean.pointer, rstd: rstd.pointer, dout: gradient.data,
                          dx: x.requiresGrad ? x.gradientStorage() : nil,
                          dweight: weight.requiresGrad ? weight.gradientStorage() : nil,
                          dbias: bias.requiresGrad ? bias.gradientStorage() : nil, rows: N, channels: C)
    }
}

/// Looks up rows of `weight` (V, C) for `ids` (…) giving (…, C); the backward pass scatter-adds.
public func embedding(_ weight: Tensor, ids: IndexTensor) -> Tensor {
    require(weight.rank == 2, "embedding: weight must be (V, C), got \(weight.shape)")
    let (V, C) = (weight.shape[0], weight.shape[1])
    let out = Tensor(zeros: ids.shape + [C])
    ids.values.withUnsafeBufferPointer { idPointer in
        embeddingForward(weight: weight.data, ids: idPointer.baseAddress!, out: out.data, count: ids.count, vocabulary: V, channels: C)
    }
    return Tensor.record(out, inputs: [weight]) { _, gradient in
        ids.values.withUnsafeBufferPointer { idPointer in
            embeddingBackward(ids: idPointer.baseAddress!, dout: gradient.data, dweight: weight.gradientStorage(), count: ids.count, channels: C)
        }
    }
}

/// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1 − p),
/// drawing the mask from `generator`. Returns `x` itself when p is 0.
public func dropout(_ x: Tensor, probability p: Float, generator: inout RandomGenerator) -> Tensor {
    require(p >= 0 && p < 1, "dropout: probability \(p) must be in [0, 1)")
    if p == 0 { return x }
    let mask = TensorStorage(count: x.count)
    let keep = 1 / (1 - p)
    for i in 0..<x.count { mask.pointer[i] = generator.nextFloat() < p ? 0 : keep }
    let out = Tensor(zeros: x.shape)
    binaryForward(.multiply, x.data, aCount: x.count, mask.pointer, bCount: x.count, out.data)
    return Tensor.record(out, inputs: [x]) { _, gradient in
        binaryBackward(.multiply, x.data, aCount: x.count, mask.pointer, bCount: x.count, dout: gradient.data,
                       da: x.gradientStorage(), db: nil)
    }
}

/// Fused causal multi-head self-attention over packed q, k, v.
///
/// - qkv: (B, T, 3C), each token's [q | k | v] (Hugging Face GPT-2's `c_attn` output).
/// - heads: NH; C must divide by it.
/// - paddingMask: (B, T) with 1 for real tokens and 0 for padding, or nil. Padded keys receive no
///   attention; a query that sees no real key outputs zeros.
/// - Returns: (B, T, C), heads concatenated, before the output projection.
public func causalSelfAttention(_ qkv: Tensor, heads: Int, paddingMask: Tensor? = nil) -> Tensor {
    attention(qkv, heads: heads, paddingMask: paddingMask, dropoutMask: nil, causal: true)
}

/// Bidirectional multi-head self-attention (an encoder's, as BERT's): every query attends to every
/// key whose `paddingMask` is 1, with dropout probability `p` on the attention probabilities
/// (masks drawn from `generator`; p = 0 draws nothing). Shapes as `causalSelfAttention`.
public func bidirectionalSelfAttention(
    _ qkv: Tensor, heads: Int, paddingMask: Tensor? = nil, dropoutProbability p: Float = 0, generator: inout RandomGenerator
) -> Tensor {
    require(p >= 0 && p < 1, "bidirectionalSelfAttention: dropout probability \(p) must be in [0, 1)")
    return attention(qkv, heads: heads, paddingMask: paddingMask, dropoutMask: p == 0 ? nil : dropoutMask(qkv, heads: heads, p: p, generator: &generator),
                     causal: false)
}

/// A (B, NH, T, T) attention-dropout mask of 0 or 1/(1 − p).
private func dropoutMask(_ qkv: Tensor, heads: Int, p: Float, generator: inout RandomGenerator) -> TensorStorage {
    let (B, T) = (qkv.shape[0], qkv.shape[1])
    let mask = TensorStorage(count: B * heads * T * T)
    let keep = 1 / (1 - p)
    for i in 0..<mask.count { mask.pointer[i] = generator.nextFloat() < p ? 0 : keep }
    return mask
}

/// Causal self-attention with dropout on the attention probabilities (HF's `attn_pdrop`): each
/// probability is zeroed with probability p, the rest scaled by 1/(1 − p), masks drawn from
/// `generator`. Arguments as `causalSelfAttention(_:heads:paddingMask:)`.
public func causalSelfAttention(
    _ qkv: Tensor, heads: Int, paddingMask: Tensor? = nil, dropoutProbability p: Float, generator: inout RandomGenerator
) -> Tensor {
    require(p >= 0 && p < 1, "causalSelfAttention: dropout probability \(p) must be in [0, 1)")
    if p == 0 { return causalSelfAttention(qkv, heads: heads, paddingMask: paddingMask) }
    return attention(qkv, heads: heads, paddingMask: paddingMask, dropoutMask: dropoutMask(qkv, heads: heads, p: p, generator: &generator),
                     causal: true)
}

private func attention(_ qkv: Tensor, heads: Int, paddingMask: Tensor?, dropoutMask: TensorStorage?, causal: Bool) -> Tensor {
    let name = causal ? "causalSelfAttention" : "bidirectionalSelfAttention"
    require(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "\(name): qkv must be (B, T, 3C), got \(qkv.shape)")
    let (B, T, C) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
    require(heads > 0 && C % heads == 0, "\(name): \(C) channels do not split into \(heads) heads")
    if let paddingMask { require(paddingMask.shape == [B, T], "\(name): padding mask \(paddingMask.shape), expected [\(B), \(T)]") }
    let out = Tensor(zeros: [B, T, C])
    let probabilities = TensorStorage(count: B * heads * T * T)
    attentionForward(qkv: qkv.data, out: out.data, probabilities: probabilities.pointer, paddingMask: paddingMask?.data,
                     dropoutMask: dropoutMask?.pointer, batch: B, time: T, channels: C, heads: heads, causal: causal)
    return Tensor.record(out, inputs: [qkv]) { _, gradient in
        attentionBackward(qkv: qkv.data, probabilities: probabilities.pointer, dout: gradient.data,
                          dqkv: qkv.gradientStorage(), dropoutMask: dropoutMask?.pointer,
                          batch: B, time: T, channels: C, heads: heads, causal: causal)
    }
}
