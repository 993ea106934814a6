// BERT-family encoders as Hugging Face's BertModel and RobertaModel compute them: word, position and
// token-type embeddings with a layer norm; post-norm blocks (attention → add → norm, feed-forward →
// add → norm) with bidirectional attention over the non-padding tokens; an optional pooler
// (tanh of a dense map of the first token). Parameter names are HF's (`encoder.layer.0.attention.self.query.weight`).
// RoBERTa differs only in its position ids (counted from padding id + 1, padding at the padding id)
// and its defaults. Shapes: B batch, T time, C hidden size.

import Kernels
import NN
import Tensors

/// One batch of encoder inputs.
public struct EncoderInput {
    /// Token ids (B, T), special tokens included.
    public var ids: IndexTensor
    /// Segment ids (B, T), or nil for all zeros.
    public var tokenTypes: IndexTensor?
    /// (B, T): 1 for real tokens, 0 for padding.
    public var mask: Tensor

    /// A batch; the mask's shape must be the ids'.
    public init(ids: IndexTensor, tokenTypes: IndexTensor? = nil, mask: Tensor) {
        require(ids.shape.count == 2 && mask.shape == ids.shape, "EncoderInput: ids \(ids.shape) and mask \(mask.shape) must both be (B, T)")
        if let tokenTypes { require(tokenTypes.shape == ids.shape, "EncoderInput: token types \(tokenTypes.shape) differ from ids \(ids.shape)") }
        self.ids = ids
        self.tokenTypes = tokenTypes
        self.mask = mask
    }

    /// Right-pads `sequences` (already with their special tokens) with `padding`.
    public init(sequences: [[Int]], padding: Int, tokenTypes: [[Int]]? = nil) {
        let B = sequences.count, T = max(sequences.map(\.count).max() ?? 1, 1)
        var ids = [Int32](repeating: Int32(padding), count: B * T)
        var mask = [Float](repeating: 0, count: B * T)
        var types = [Int32](repeating: 0, count: B * T)
        for (b, sequence) in sequences.enumerated() {
            for (t, id) in sequence.enumerated() {
                ids[b * T + t] = Int32(id)
                mask[b * T + t] = 1
                if let tokenTypes { types[b * T + t] = Int32(tokenTypes[b][t]) }
            }
        }
        self.init(ids: IndexTensor(shape: [B, T], values: ids), tokenTypes: tokenTypes == nil ? nil : IndexTensor(shape: [B, T], values: types),
                  mask: Tensor(shape: [B, T], values: mask))
    }

    /// Time steps.
    public var time: Int { ids.shape[1] }
}

/// Word, position and token-type embeddings, summed, normalized, dropped out.
public final class BertEmbeddings: Module {
    /// (V, C).
    public var word_embeddings: Embedding
    /// (max_position_embeddings, C).
    public var position_embeddings: Embedding
    /// (type_vocab_size, C).
    public var token_type_embeddings: Embedding
    /// HF's name is `LayerNorm` (the underscore is dropped from parameter names).
    public var _LayerNorm: LayerNorm
    /// `hidden_dropout_prob`.
    public var dropout: Dropout
    /// The hyper-parameters.
    public let configuration: EncoderConfiguration

    init(_ configuration: EncoderConfiguration, generator: inout RandomGenerator, source: RandomSource) {
        self.configuration = configuration
        let C = configuration.hiddenSize, std = configuration.initializerRange
        word_embeddings = Embedding(count: configuration.vocabularySize, dimension: C, standardDeviation: std, generator: &generator)
        position_embeddings = Embedding(count: configuration.positions, dimension: C, standardDeviation: std, generator: &generator)
        token_type_embeddings = Embedding(count: configuration.typeVocabularySize, dimension: C, standardDeviation: std, generator: &generator)
        // HF zeroes the padding row (RoBERTa's position table has one too).
        zeroRow(word_embeddings.weight, configuration.padTokenId)
        if configuration.family == .roberta { zeroRow(position_embeddings.weight, configuration.padTokenId) }
        _LayerNorm = LayerNorm(dimension: C, epsilon: configuration.layerNormEpsilon)
        dropout = Dropout(probability: configuration.hiddenDropout, source: source)
    }

    /// The position ids of `input`: 0..<T for BERT; for RoBERTa, padding id + the running count of
    /// non-padding ids at real tokens and the padding id at padding (transformers'
    /// `create_position_ids_from_input_ids`).
    public func positionIds(_ ids: IndexTensor) -> IndexTensor {
        let (B, T) = (ids.shape[0], ids.shape[1])
        guard configuration.family == .roberta else { return IndexTensor(shape: [B, T], values: (0..<(B * T)).map { Int32($0 % T) }) }
        let pad = Int32(configuration.padTokenId)
        var positions = [Int32](repeating: pad, count: B * T)
        for b in 0..<B {
            var count: Int32 = 0
            for t in 0..<T where ids.values[b * T + t] != pad {
                count += 1
                positions[b * T + t] = pad + count
            }
        }
        return IndexTensor(shape: [B, T], values: positions)
    }

    /// (B, T, C).
    public func callAsFunction(_ input: EncoderInput) -> Tensor {
        let positions = positionIds(input.ids)
        let limit = Int32(configuration.positions)
        require(positions.values.allSatisfy { $0 < limit },
                "encoder: \(input.time) tokens need position ids up to \(positions.values.max() ?? 0), beyond max_position_embeddings \(limit); the input is too long")
        let types = input.tokenTypes ?? IndexTensor(shape: input.ids.shape, values: [Int32](repeating: 0, count: input.ids.count))
        require(types.values.allSatisfy { $0 >= 0 && Int($0) < configuration.typeVocabularySize },
                "encoder: a token type id is outside 0..<\(configuration.typeVocabularySize) (type_vocab_size)")
        require(input.ids.values.allSatisfy { $0 >= 0 && Int($0) < configuration.vocabularySize },
                "encoder: a token id is outside 0..<\(configuration.vocabularySize) (vocab_size)")
        let summed = word_embeddings(input.ids) + position_embeddings(positions) + token_type_embeddings(types)
        return dropout(_LayerNorm(summed))
    }
}

/// Zeroes row `row` of a (V, C) table.
private func zeroRow(_ table: Tensor, _ row: Int) {
    let C = table.shape[1]
    guard row >= 0, row < table.shape[0] else { return }
    for c in 0..<C { table.data[row * C + c] = 0 }
}

/// The attention projections (`attention.self`): query, key, value, each (C, C), fused into one
/// product per call.
public final class BertSelfAttention: Module {
    public var query: Linear
    public var key: Linear
    public var value: Linear
    /// `attention_probs_dropout_prob`.
    public var dropout: Dropout
    /// Heads.
    public let heads: Int

    init(_ configuration: EncoderConfiguration, generator: inout RandomGenerator, source: RandomSource) {
        let C = configuration.hiddenSize, std = configuration.initializerRange
        query = Linear(inputs: C, outputs: C, standardDeviation: std, generator: &generator)
        key = Linear(inputs: C, outputs: C, standardDeviation: std, generator: &generator)
        value = Linear(inputs: C, outputs: C, standardDeviation: std, generator: &generator)
        dropout = Dropout(probability: configuration.attentionDropout, source: source)
        heads = configuration.heads
    }

    /// x (B, T, C) → heads concatenated (B, T, C), padded keys unseen.
    public func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        let weight = concat([query.weight, key.weight, value.weight], axis: 0)
        let bias = concat([query.bias!, key.bias!, value.bias!], axis: 0)
        let qkv = linear(x, weight: weight, bias: bias)
        let p = dropout.isTraining ? dropout.probability : 0
        return bidirectionalSelfAttention(qkv, heads: heads, paddingMask: mask, dropoutProbability: p, generator: &dropout.source.generator)
    }
}

/// A dense map, dropout, and a layer norm of the sum with the block's input (`attention.output`
/// and `output`).
public final class BertResidualOutput: Module {
    public var dense: Linear
    /// HF's `LayerNorm`.
    public var _LayerNorm: LayerNorm
    public var dropout: Dropout

    init(inputs: Int, _ configuration: EncoderConfiguration, generator: inout RandomGenerator, source: RandomSource) {
        dense = Linear(inputs: inputs, outputs: configuration.hiddenSize, standardDeviation: configuration.initializerRange, generator: &generator)
        _LayerNorm = LayerNorm(dimension: configuration.hiddenSize, epsilon: configuration.layerNormEpsilon)
        dropout = Dropout(probability: configuration.hiddenDropout, source: source)
    }

    /// LayerNorm(dropout(dense(x)) + residual).
    public func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor { _LayerNorm(dropout(dense(x)) + residual) }
}

/// `attention`: self-attention and its output.
public final class BertAttention: Module {
    /// HF's name is `self`.
    public var _self: BertSelfAttention
    public var output: BertResidualOutput

    init(_ configuration: EncoderConfiguration, generator: inout RandomGenerator, source: RandomSource) {
        _self = BertSelfAttention(configuration, generator: &generator, source: source)
        output = BertResidualOutput(inputs: configuration.hiddenSize, configuration, generator: &generator, source: source)
    }

    public func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor { output(_self(x, mask: mask), residual: x) }
}

/// `intermediate`: the feed-forward expansion and its activation.
public final class BertIntermediate: Module {
    public var dense: Linear
    /// `hidden_act`.
    public let activation: String

    init(_ configuration: EncoderConfiguration, generator: inout RandomGenerator) {
        dense = Linear(inputs: configuration.hiddenSize, outputs: configuration.intermediateSize,
                       standardDeviation: configuration.initializerRange, generator: &generator)
        activation = configuration.activation
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let hidden = dense(x)
        switch activation {
        case "gelu": return hidden.geluErf()
        case "relu": return hidden.relu()
        default: return hidden.gelu()
        }
    }
}

/// One post-norm encoder block (`encoder.layer.N`).
public final class BertLayer: Module {
    public var attention: BertAttention
    public var intermediate: BertIntermediate
    public var output: BertResidualOutput

    init(_ configuration: EncoderConfiguration, generator: inout RandomGenerator, source: RandomSource) {
        attention = BertAttention(configuration, generator: &generator, source: source)
        intermediate = BertIntermediate(configuration, generator: &generator)
        output = BertResidualOutput(inputs: configuration.intermediateSize, configuration, generator: &generator, source: source)
    }

    public func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        let attended = attention(x, mask: mask)
        return output(intermediate(attended), residual: attended)
    }
}

/// `encoder`: the blocks.
public final class BertEncoder: Module {
    public var layer: [BertLayer]

    init(_ configuration: EncoderConfiguration, generator: inout RandomGenerator, source: RandomSource) {
        layer = (0..<configuration.layers).map { _ in BertLayer(configuration, generator: &generator, source: source) }
    }
}

/// `pooler`: tanh(dense(first token's hidden state)).
public final class BertPooler: Module {
    public var dense: Linear

    init(_ configuration: EncoderConfiguration, generator: inout RandomGenerator) {
        dense = Linear(inputs: configuration.hiddenSize, outputs: configuration.hiddenSize,
                       standardDeviation: configuration.initializerRange, generator: &generator)
    }

    /// hidden (B, T, C) → (B, C).
    public func callAsFunction(_ hidden: Tensor) -> Tensor { dense(firstToken(hidden)).tanh() }
}

/// hidden[:, 0, :] as (B, C).
public func firstToken(_ hidden: Tensor) -> Tensor {
    let (B, C) = (hidden.shape[0], hidden.shape[2])
    return hidden.slice(axis: 1, 0..<1).reshaped([B, C])
}

/// The encoder (HF `BertModel` / `RobertaModel`): embeddings, blocks, and a pooler when asked.
public final class BertModel: Module {
    public var embeddings: BertEmbeddings
    public var encoder: BertEncoder
    /// Present in BertModel (and BertForSequenceClassification); RoBERTa's classifier has none.
    public var pooler: BertPooler?
    /// The hyper-parameters.
    public let configuration: EncoderConfiguration

    /// A randomly initialized encoder (HF's init: N(0, initializer_range) weights, zero biases,
    /// layer norms at (1, 0), zero padding rows).
    public init(_ configuration: EncoderConfiguration, pooler: Bool, generator: inout RandomGenerator, source: RandomSource) {
        self.configuration = configuration
        embeddings = BertEmbeddings(configuration, generator: &generator, source: source)
        encoder = BertEncoder(configuration, generator: &generator, source: source)
        self.pooler = pooler ? BertPooler(configuration, generator: &generator) : nil
    }

    /// The last hidden states (B, T, C).
    public func callAsFunction(_ input: EncoderInput) -> Tensor {
        var x = embeddings(input)
        for block in encoder.layer { x = block(x, mask: input.mask) }
        return x
    }
}

/// Mean of the hidden states over the real tokens (sentence-transformers' mean pooling): (B, C).
public func meanPooled(_ hidden: Tensor, mask: Tensor) -> Tensor {
    let (B, T, C) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
    require(mask.shape == [B, T], "meanPooled: mask \(mask.shape), expected [\(B), \(T)]")
    let expanded = Tensor(zeros: [B, T, C])
    for index in 0..<(B * T) where mask.data[index] != 0 {
        (expanded.data + index * C).update(repeating: 1, count: C)
    }
    return maskedMean(hidden, mask: expanded, axis: 1)
}
