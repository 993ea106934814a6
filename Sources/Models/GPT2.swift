// GPT-2 as Hugging Face's GPT2LMHeadModel computes it: learned positions, pre-norm blocks,
// `gelu_new`, tied `lm_head`, dropouts, and HF's parameter names (`transformer.h.0.attn.c_attn.weight`,
// with Conv1D weights stored (in, out)).
// Shapes: B batch, T time, C channels, NH heads, V vocabulary.

import Foundation
import Kernels
import NN
import Tensors

/// Self-attention of one block: c_attn (C → 3C), fused causal attention, c_proj (C → C).
public final class GPT2Attention: Module {
    /// Packed q, k, v projection, (C, 3C) as HF's Conv1D.
    public var c_attn: Linear
    /// Output projection, (C, C).
    public var c_proj: Linear
    /// Dropout on the attention probabilities (`attn_pdrop`).
    public var attn_dropout: Dropout
    /// Dropout after the output projection (`resid_pdrop`).
    public var resid_dropout: Dropout
    /// Heads.
    public let heads: Int

    init(_ configuration: GPT2Configuration, generator: inout RandomGenerator, source: RandomSource) {
        let C = configuration.embeddingDimension
        let std = configuration.initializerRange
        c_attn = Linear(inputs: C, outputs: 3 * C, layout: .inputsByOutputs, standardDeviation: std, generator: &generator)
        // GPT-2 scales the residual projections by 1/√(2·n_layer) at initialization.
        let projectionStd = std / (2 * Float(configuration.layers)).squareRoot()
        c_proj = Linear(inputs: C, outputs: C, layout: .inputsByOutputs, standardDeviation: projectionStd, generator: &generator)
        attn_dropout = Dropout(probability: configuration.attentionDropout, source: source)
        resid_dropout = Dropout(probability: configuration.residualDropout, source: source)
        heads = configuration.heads
    }

    /// x: (B, T, C) → (B, T, C). With a cache, x holds only the new positions and `mask` covers
    /// every position so far.
    public func callAsFunction(_ x: Tensor, mask: Tensor?, cache: KeyValueCache?, layer: Int) -> Tensor {
        let qkv = c_attn(x)
        let attended: Tensor
        if let cache {
            attended = cache.attention(qkv, layer: layer, paddingMask: mask)
        } else if attn_dropout.isTraining && attn_dropout.probability > 0 {
            attended = causalSelfAttention(qkv, heads: heads, paddingMask: mask, dropoutProbability: attn_dropout.probability,
                                           generator: &attn_dropout.source.generator)
        } else {
            attended = causalSelfAttention(qkv, heads: heads, paddingMask: mask)
        }
        return resid_dropout(c_proj(attended))
    }
}

/// The feed-forward part of a block: c_fc (C → 4C), activation, c_proj (4C → C).
public final class GPT2MLP: Module {
    /// (C, 4C).
    public var c_fc: Linear
    /// (4C, C).
    public var c_proj: Linear
    /// Dropout after the projection (`resid_pdrop`).
    public var dropout: Dropout
    /// The activation's name.
    public let activation: String

    init(_ configuration: GPT2Configuration, generator: inout RandomGenerator, source: RandomSource) {
        let C = configuration.embeddingDimension, hidden = configuration.mlpDimension
        let std = configuration.initializerRange
        c_fc = Linear(inputs: C, outputs: hidden, layout: .inputsByOutputs, standardDeviation: std, generator: &generator)
        c_proj = Linear(inputs: hidden, outputs: C, layout: .inputsByOutputs,
                        standardDeviation: std / (2 * Float(configuration.layers)).squareRoot(), generator: &generator)
        dropout = Dropout(probability: configuration.residualDropout, source: source)
        activation = configuration.activationFunction
    }

    /// x: (B, T, C) → (B, T, C).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let hidden = c_fc(x)
        let activated = activation == "relu" ? hidden.relu() : hidden.gelu()
        return dropout(c_proj(activated))
    }
}

/// One pre-norm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(·)).
public final class GPT2Block: Module {
    /// Norm before attention.
    public var ln_1: LayerNorm
    /// Attention.
    public var attn: GPT2Attention
    /// Norm before the MLP.
    public var ln_2: LayerNorm
    /// MLP.
    public var mlp: GPT2MLP

    init(_ configuration: GPT2Configuration, generator: inout RandomGenerator, source: RandomSource) {
        ln_1 = LayerNorm(dimension: configuration.embeddingDimension, epsilon: configuration.layerNormEpsilon)
        attn = GPT2Attention(configuration, generator: &generator, source: source)
        ln_2 = LayerNorm(dimension: configuration.embeddingDimension, epsilon: configuration.layerNormEpsilon)
        mlp = GPT2MLP(configuration, generator: &generator, source: source)
    }

    /// x: (B, T, C) → (B, T, C).
    public func callAsFunction(_ x: Tensor, mask: Tensor?, cache: KeyValueCache?, layer: Int) -> Tensor {
        let h = x + attn(ln_1(x), mask: mask, cache: cache, layer: layer)
        return h + mlp(ln_2(h))
    }
}

/// The GPT-2 trunk (HF `GPT2Model`): token and position embeddings, blocks, final norm.
public final class GPT2Model: TransformerTrunk {
    /// Token embedding (V, C); also the output projection when tied.
    public var wte: Embedding
    /// Position embedding (n_positions, C).
    public var wpe: Embedding
    /// Dropout on the summed embeddings (`embd_pdrop`).
    public var drop: Dropout
    /// The blocks.
    public var h: [GPT2Block]
    /// Final layer norm.
    public var ln_f: LayerNorm
    /// The hyper-parameters.
    public let configuration: GPT2Configuration

    /// A randomly initialized trunk (HF's init: N(0, initializer_range), residual projections
    /// scaled by 1/√(2·n_layer), layer norms at (1, 0)).
    public init(_ configuration: GPT2Configuration, generator: inout RandomGenerator, source: RandomSource) {
        self.configuration = configuration
        let C = configuration.embeddingDimension
        wte = Embedding(count: configuration.vocabularySize, dimension: C, standardDeviation: configuration.initializerRange, generator: &generator)
        wpe = Embedding(count: configuration.positions, dimension: C, standardDeviation: configuration.initializerRange, generator: &generator)
        drop = Dropout(probability: configuration.embeddingDropout, source: source)
        h = (0..<configuration.layers).map { _ in GPT2Block(configuration, generator: &generator, source: source) }
        ln_f = LayerNorm(dimension: C, epsilon: configuration.layerNormEpsilon)
    }

    /// The final hidden states (B, T, C).
    ///
    /// - Parameters:
    ///   - ids: (B, T) token ids.
    ///   - positions: (B, T) position ids; nil means 0..<T for every row (after `past` cached ones).
    ///   - mask: (B, T) (or (B, past+T) with a cache): 1 for real tokens, 0 for padding.
    ///   - cache: keys and values of earlier positions, extended by this call.
    public func callAsFunction(_ ids: IndexTensor, positions: IndexTensor? = nil, mask: Tensor? = nil, cache: KeyValueCache? = nil) -> Tensor {
        require(ids.shape.count == 2, "GPT2Model: ids must be (B, T), got \(ids.shape)")
        let (B, T) = (ids.shape[0], ids.shape[1])
        let past = cache?.length ?? 0
        let positionIds = positions ?? IndexTensor(shape: [B, T], values: (0..<(B * T)).map { Int32(past + $0 % T) })
        require(positionIds.shape == ids.shape, "GPT2Model: position ids \(positionIds.shape) differ from ids \(ids.shape)")
        let limit = Int32(configuration.positions)
        require(positionIds.values.allSatisfy { $0 >= 0 && $0 < limit },
                "GPT2Model: a position id is outside 0..<\(limit) (n_positions); the sequence is too long for this model")
        var x = drop(wte(ids) + wpe(positionIds))
        for (layer, block) in h.enumerated() { x = block(x, mask: mask, cache: cache, layer: layer) }
        return ln_f(x)
    }

    /// A key/value cache sized for this model.
    public func makeCache(batch: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(layers: configuration.layers, batch: batch, heads: configuration.heads,
                      headSize: configuration.embeddingDimension / configuration.heads, capacity: capacity)
    }

    // The model interface (``TransformerTrunk``).

    public var modelConfiguration: any LanguageModelConfiguration { configuration }
    public var parameterPrefix: String { "transformer" }
    public var classifierArchitecture: String { "GPT2ForSequenceClassification" }

    public func hiddenStates(_ ids: IndexTensor, positions: IndexTensor?, mask: Tensor?, cache: KeyValueCache?) -> Tensor {
        self(ids, positions: positions, mask: mask, cache: cache)
    }

    public func saveConfiguration(to url: URL, architecture: String, labelCount: Int?) throws {
        var configuration = self.configuration
        configuration.labelCount = labelCount
        // transformers reads a classifier's rows at their last non-pad token and needs a pad id to batch.
        if labelCount != nil && configuration.padTokenId == nil { configuration.padTokenId = configuration.eosTokenId }
        try configuration.save(to: url, architecture: architecture)
    }
}

/// GPT-2 with a language-modelling head (HF `GPT2LMHeadModel`): logits = ln_f(h)·wteᵀ when tied.
public final class GPT2LMHeadModel: CausalLanguageModel {
    /// The trunk (names `transformer.*`).
    public var transformer: GPT2Model
    /// A separate output projection (V, C), only when `tie_word_embeddings` is false.
    public var lm_head: Linear?
    /// Where dropout masks come from; save `source.generator` to resume a run exactly.
    public let source: RandomSource

    /// A randomly initialized model.
    public init(_ configuration: GPT2Configuration, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        source = RandomSource(seed: seed ^ 0x5EED)
        transformer = GPT2Model(configuration, generator: &generator, source: source)
        lm_head = configuration.tieWordEmbeddings ? nil
            : Linear(inputs: configuration.embeddingDimension, outputs: configuration.vocabularySize, bias: false,
                     standardDeviation: configuration.initializerRange, generator: &generator)
    }

    /// The hyper-parameters.
    public var configuration: GPT2Configuration { transformer.configuration }

    /// The trunk, as the model interface sees it.
    public var trunk: any TransformerTrunk { transformer }

    /// Logits (B, T, V) for the hidden states (B, T, C).
    public func logits(hidden: Tensor) -> Tensor {
        linear(hidden, weight: lm_head?.weight ?? transformer.wte.weight, bias: nil)
    }

}

/// Position ids for left-padded rows, as Hugging Face's generate computes them: the running count
/// of real tokens minus one, and 1 at padding.
public func positionIds(mask: [[Int32]]) -> IndexTensor {
    let B = mask.count, T = mask.first?.count ?? 0
    var values: [Int32] = []
    values.reserveCapacity(B * T)
    for row in mask {
        var seen: Int32 = 0
        for m in row {
            seen += m
            values.append(m == 0 ? 1 : seen - 1)
        }
    }
    return IndexTensor(shape: [B, T], values: values)
}
