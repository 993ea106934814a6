// T5's blocks and stacks as transformers' `T5Stack` computes them: pre-norm residual sub-layers
// with RMS norms (`T5LayerNorm`) — self-attention, cross-attention (decoder only), feed-forward
// (ReLU `DenseReluDense`, or gated-GELU `wi_0`/`wi_1` in v1.1 / Flan-T5) — dropout on the
// embeddings, after every sub-layer and after the final norm. Parameter names are HF's
// (`encoder.block.0.layer.0.SelfAttention.q.weight`, `decoder.block.1.layer.2.DenseReluDense.wo.weight`).
// Shapes: B batch, S source tokens, T target tokens, C = d_model.

import Kernels
import NN
import Tensors

/// A feed-forward sub-layer body (`DenseReluDense`).
public protocol T5FeedForward: Module {
    /// (…, C) → (…, C).
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// Applies a T5 activation by transformers' name.
func t5Activation(_ name: String, _ x: Tensor) -> Tensor {
    switch name {
    case "relu": return x.relu()
    case "gelu": return x.geluErf()
    case "silu", "swish": return x * x.sigmoid()
    default: return x.gelu()  // gelu_new, gelu_pytorch_tanh
    }
}

/// A `T5LayerNorm` with its weight at `initializer_factor` (transformers' init).
func t5Norm(_ configuration: T5Configuration) -> RMSNorm {
    let norm = RMSNorm(dimension: configuration.modelDimension, epsilon: configuration.layerNormEpsilon)
    if configuration.initializerFactor != 1 {
        norm.weight = Tensor(repeating: configuration.initializerFactor, shape: [configuration.modelDimension], requiresGrad: true)
    }
    return norm
}

/// `T5DenseActDense`: wo(dropout(act(wi(x)))).
public final class T5DenseActDense: T5FeedForward {
    public var wi: Linear
    public var wo: Linear
    public var dropout: Dropout
    let activation: String

    init(_ configuration: T5Configuration, generator: inout RandomGenerator, source: RandomSource) {
        let (C, F, factor) = (configuration.modelDimension, configuration.feedForwardDimension, configuration.initializerFactor)
        wi = Linear(inputs: C, outputs: F, bias: false, standardDeviation: factor / Float(C).squareRoot(), generator: &generator)
        wo = Linear(inputs: F, outputs: C, bias: false, standardDeviation: factor / Float(F).squareRoot(), generator: &generator)
        dropout = Dropout(probability: configuration.dropout, source: source)
        activation = configuration.activation
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { wo(dropout(t5Activation(activation, wi(x)))) }
}

/// `T5DenseGatedActDense`: wo(dropout(act(wi_0(x)) · wi_1(x))).
public final class T5DenseGatedActDense: T5FeedForward {
    public var wi_0: Linear
    public var wi_1: Linear
    public var wo: Linear
    public var dropout: Dropout
    let activation: String

    init(_ configuration: T5Configuration, generator: inout RandomGenerator, source: RandomSource) {
        let (C, F, factor) = (configuration.modelDimension, configuration.feedForwardDimension, configuration.initializerFactor)
        wi_0 = Linear(inputs: C, outputs: F, bias: false, standardDeviation: factor / Float(C).squareRoot(), generator: &generator)
        wi_1 = Linear(inputs: C, outputs: F, bias: false, standardDeviation: factor / Float(C).squareRoot(), generator: &generator)
        wo = Linear(inputs: F, outputs: C, bias: false, standardDeviation: factor / Float(F).squareRoot(), generator: &generator)
        dropout = Dropout(probability: configuration.dropout, source: source)
        activation = configuration.activation
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { wo(dropout(t5Activation(activation, wi_0(x)) * wi_1(x))) }
}

/// `T5LayerSelfAttention`: x + dropout(SelfAttention(layer_norm(x))).
public final class T5LayerSelfAttention: Module {
    public var SelfAttention: T5Attention
    public var layer_norm: RMSNorm
    public var dropout: Dropout

    init(_ configuration: T5Configuration, isDecoder: Bool, relativeBias: Bool, generator: inout RandomGenerator, source: RandomSource) {
        SelfAttention = T5Attention(configuration, isDecoder: isDecoder, relativeBias: relativeBias, generator: &generator, source: source)
        layer_norm = t5Norm(configuration)
        dropout = Dropout(probability: configuration.dropout, source: source)
    }
}

/// `T5LayerCrossAttention`: x + dropout(EncDecAttention(layer_norm(x), encoded)).
public final class T5LayerCrossAttention: Module {
    public var EncDecAttention: T5Attention
    public var layer_norm: RMSNorm
    public var dropout: Dropout

    init(_ configuration: T5Configuration, generator: inout RandomGenerator, source: RandomSource) {
        EncDecAttention = T5Attention(configuration, isDecoder: true, relativeBias: false, generator: &generator, source: source)
        layer_norm = t5Norm(configuration)
        dropout = Dropout(probability: configuration.dropout, source: source)
    }
}

/// `T5LayerFF`: x + dropout(DenseReluDense(layer_norm(x))).
public final class T5LayerFF: Module {
    public var DenseReluDense: any T5FeedForward
    public var layer_norm: RMSNorm
    public var dropout: Dropout

    init(_ configuration: T5Configuration, generator: inout RandomGenerator, source: RandomSource) {
        DenseReluDense = configuration.isGated
            ? T5DenseGatedActDense(configuration, generator: &generator, source: source)
            : T5DenseActDense(configuration, generator: &generator, source: source)
        layer_norm = t5Norm(configuration)
        dropout = Dropout(probability: configuration.dropout, source: source)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x + dropout(DenseReluDense(layer_norm(x))) }
}

/// One block (`block.N`): `layer.0` self-attention, then (decoder) `layer.1` cross-attention, then
/// the feed-forward.
public final class T5Block: Module {
    /// The sub-layers in HF's order.
    public var layer: [Module]

    init(_ configuration: T5Configuration, isDecoder: Bool, first: Bool, generator: inout RandomGenerator, source: RandomSource) {
        var layers: [Module] = [T5LayerSelfAttention(configuration, isDecoder: isDecoder, relativeBias: first, generator: &generator, source: source)]
        if isDecoder { layers.append(T5LayerCrossAttention(configuration, generator: &generator, source: source)) }
        layers.append(T5LayerFF(configuration, generator: &generator, source: source))
        layer = layers
    }

    var selfAttention: T5LayerSelfAttention { layer[0] as! T5LayerSelfAttention }
    var crossAttention: T5LayerCrossAttention? { layer.count == 3 ? layer[1] as? T5LayerCrossAttention : nil }
    var feedForward: T5LayerFF { layer[layer.count - 1] as! T5LayerFF }

    /// x (B, T, C) → (B, T, C).
    /// - Parameters:
    ///   - mask: (B, T) the block's own padding (encoder), or nil.
    ///   - bias: (NH, T, past + T) the position bias the first block computes for all.
    ///   - encoded, encoderMask: (B, S, C) and (B, S), for a decoder block.
    ///   - cache: decoding state; `layer` indexes it.
    func callAsFunction(_ x: Tensor, mask: Tensor?, bias: Tensor?, encoded: Tensor?, encoderMask: Tensor?,
                        cache: EncoderDecoderCache?, layer index: Int) -> Tensor {
        let attention = selfAttention
        var x = x
        let normed = attention.layer_norm(x)
        if let cache {
            x = x + attention.dropout(attention.SelfAttention.attendCached(normed, cache: cache.selfAttention, layer: index, bias: bias))
        } else {
            x = x + attention.dropout(attention.SelfAttention(normed, keyMask: mask, bias: bias, causal: attention.SelfAttention.isDecoder))
        }
        if let cross = crossAttention, let encoded {
            let normed = cross.layer_norm(x)
            let attended: Tensor
            if let cache {
                if cache.crossAttention.count <= index {
                    cache.crossAttention.append((cross.EncDecAttention.k(encoded), cross.EncDecAttention.v(encoded)))
                }
                let (keys, values) = cache.crossAttention[index]
                require(keys.shape[0] == normed.shape[0], "T5 decoding: \(normed.shape[0]) rows, but the cache encoded \(keys.shape[0]) prompts")
                attended = cross.EncDecAttention.o(scoredAttention(
                    query: cross.EncDecAttention.q(normed), key: keys, value: values, heads: cross.EncDecAttention.heads,
                    keyMask: encoderMask, scale: 1))
            } else {
                attended = cross.EncDecAttention(normed, keyValue: encoded, keyMask: encoderMask, bias: nil, causal: false)
            }
            x = x + cross.dropout(attended)
        }
        return feedForward(x)
    }
}

/// `encoder` / `decoder`: the blocks, the final RMS norm, and the dropouts. The token embedding is
/// the model's `shared` table (not a parameter of the stack).
public final class T5Stack: Module {
    public var block: [T5Block]
    public var final_layer_norm: RMSNorm
    public var dropout: Dropout
    /// Decoder (causal, with cross-attention) or encoder.
    public let isDecoder: Bool

    init(_ configuration: T5Configuration, isDecoder: Bool, generator: inout RandomGenerator, source: RandomSource) {
        let count = isDecoder ? configuration.decoderLayers : configuration.encoderLayers
        block = (0..<count).map { T5Block(configuration, isDecoder: isDecoder, first: $0 == 0, generator: &generator, source: source) }
        final_layer_norm = t5Norm(configuration)
        dropout = Dropout(probability: configuration.dropout, source: source)
        self.isDecoder = isDecoder
    }

    /// The stack's final states (B, T, C) for embedded inputs (B, T, C).
    func callAsFunction(_ embedded: Tensor, mask: Tensor?, encoded: Tensor?, encoderMask: Tensor?, cache: EncoderDecoderCache?) -> Tensor {
        let T = embedded.shape[1]
        var x = dropout(embedded)
        // The first block's table gives every block's bias; decoding steps sit after the cache's past.
        let past = cache?.selfAttention.length ?? 0
        let bias = block[0].selfAttention.SelfAttention.positionBias(queries: T, keys: past + T, offset: past)
        for (index, layer) in block.enumerated() {
            x = layer(x, mask: mask, bias: bias, encoded: encoded, encoderMask: encoderMask, cache: cache, layer: index)
        }
        return dropout(final_layer_norm(x))
    }
}
