// A test-only encoder-decoder family ("tiny-s2s"), written only in the tests, so that every
// trainer, sampler, server and evaluation is shown to take an encoder-decoder policy through the
// model interface alone. Encoder: token and position embeddings through a linear map, mean-pooled
// over each prompt's real tokens (the padding mask matters). Decoder: embeddings + learned
// positions + the pooled source, one causal self-attention block (through its cache when
// decoding), an MLP, dropout, an untied head. Batched teacher forcing works for any B and T.
// It is the `TestFamilies` target, which the test targets that need it import.
// Shapes: B batch, S source tokens, T target tokens, C channels, V vocabulary.

import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// config.json of the tiny family (`model_type` "tiny-s2s").
public struct TinySeq2SeqPolicyConfiguration: LanguageModelConfiguration, Codable, Equatable {
    public var modelType: String { "tiny-s2s" }
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var positions: Int
    public var eosTokenId: Int?
    public var padTokenId: Int?
    public var dropout: Float
    public var layers: Int { 1 }
    public var bosTokenId: Int? { nil }

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "d_model", positions = "n_positions", eosTokenId = "eos_token_id"
        case padTokenId = "pad_token_id", dropout = "dropout_rate"
    }

    /// A configuration.
    public init(vocabularySize: Int, hiddenSize: Int, positions: Int, eosTokenId: Int?, padTokenId: Int?, dropout: Float) {
        (self.vocabularySize, self.hiddenSize, self.positions) = (vocabularySize, hiddenSize, positions)
        (self.eosTokenId, self.padTokenId, self.dropout) = (eosTokenId, padTokenId, dropout)
    }
}

/// The tiny encoder-decoder; the decoder starts from the pad id (T5's convention).
public final class TinySeq2SeqPolicy: EncoderDecoderLanguageModel {
    public var sourceEmbedding: Embedding
    public var sourcePosition: Embedding
    public var encoder: Linear
    public var targetEmbedding: Embedding
    public var position: Embedding
    public var qkv: Linear
    public var proj: Linear
    public var up: Linear
    public var down: Linear
    public var dropout: Dropout
    public var head: Linear
    public let source: RandomSource
    public let configuration: TinySeq2SeqPolicyConfiguration

    public init(_ configuration: TinySeq2SeqPolicyConfiguration, seed: UInt64) {
        self.configuration = configuration
        var generator = RandomGenerator(seed: seed)
        let (V, C, P) = (configuration.vocabularySize, configuration.hiddenSize, configuration.positions)
        sourceEmbedding = Embedding(count: V, dimension: C, standardDeviation: 0.3, generator: &generator)
        sourcePosition = Embedding(count: P, dimension: C, standardDeviation: 0.3, generator: &generator)
        encoder = Linear(inputs: C, outputs: C, bias: false, standardDeviation: 0.3, generator: &generator)
        targetEmbedding = Embedding(count: V, dimension: C, standardDeviation: 0.3, generator: &generator)
        position = Embedding(count: P, dimension: C, standardDeviation: 0.3, generator: &generator)
        qkv = Linear(inputs: C, outputs: 3 * C, bias: false, standardDeviation: 0.2, generator: &generator)
        proj = Linear(inputs: C, outputs: C, bias: false, standardDeviation: 0.2, generator: &generator)
        up = Linear(inputs: C, outputs: 2 * C, bias: false, standardDeviation: 0.2, generator: &generator)
        down = Linear(inputs: 2 * C, outputs: C, bias: false, standardDeviation: 0.2, generator: &generator)
        head = Linear(inputs: C, outputs: V, bias: false, standardDeviation: 0.2, generator: &generator)
        source = RandomSource(seed: seed &+ 100)
        dropout = Dropout(probability: configuration.dropout, source: source)
    }

    public var modelConfiguration: any LanguageModelConfiguration { configuration }
    public var decoderStartTokenId: Int { configuration.padTokenId ?? 0 }
    public var maximumSourceLength: Int? { configuration.positions }
    public var maximumTargetLength: Int? { configuration.positions }

    public func encode(_ ids: IndexTensor, mask: Tensor) -> Tensor {
        let (B, S) = (ids.shape[0], ids.shape[1])
        let positions = IndexTensor(shape: [B, S], values: (0..<(B * S)).map { Int32($0 % S) })
        return encoder(sourceEmbedding(ids) + sourcePosition(positions))
    }

    public func decoderStates(_ ids: IndexTensor, encoded: Tensor, encoderMask: Tensor, cache: EncoderDecoderCache?) -> Tensor {
        let (B, T, S, C) = (ids.shape[0], ids.shape[1], encoded.shape[1], configuration.hiddenSize)
        // Each row's mean over its real source tokens, as one (B, B·S) · (B·S, C) product.
        var weights = [Float](repeating: 0, count: B * B * S)
        for b in 0..<B {
            let real = (0..<S).filter { encoderMask.data[b * S + $0] != 0 }
            for s in real { weights[b * B * S + b * S + s] = 1 / Float(real.count) }
        }
        let context = matmul(Tensor(shape: [B, B * S], values: weights), encoded.reshaped([B * S, C]))  // (B, C)
        let perStep = gather(context, axis: 0, index: IndexTensor(shape: [B * T, C], values: (0..<(B * T)).flatMap { Array(repeating: Int32($0 / T), count: C) }))
        let past = cache?.steps ?? 0
        let positions = IndexTensor(shape: [B, T], values: (0..<(B * T)).map { Int32(past + $0 % T) })
        let x = targetEmbedding(ids) + position(positions) + perStep.reshaped([B, T, C])
        let packed = qkv(x)
        let attended = cache.map { $0.selfAttention.attention(packed, layer: 0) } ?? causalSelfAttention(packed, heads: 2, paddingMask: nil)
        let h = x + dropout(proj(attended))
        return h + down(up(h).relu())
    }

    public func logits(decoded: Tensor) -> Tensor { head(decoded) }

    public func makeDecoderCache(batch: Int, capacity: Int) -> EncoderDecoderCache {
        EncoderDecoderCache(selfAttention: KeyValueCache(layers: 1, batch: batch, heads: 2, headSize: configuration.hiddenSize / 2, capacity: capacity))
    }

    public func save(to directory: URL, tokenizer: (any Tokenizer)?) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as? [String: Any] ?? [:]
        object["model_type"] = "tiny-s2s"
        object["architectures"] = ["TinySeq2SeqForConditionalGeneration"]
        try JSONSerialization.data(withJSONObject: object).write(to: directory.appendingPathComponent("config.json"))
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
        try tokenizer?.save(to: directory)
    }

    public static func configuration(in directory: URL) throws -> TinySeq2SeqPolicyConfiguration {
        try JSONDecoder().decode(TinySeq2SeqPolicyConfiguration.self, from: Data(contentsOf: directory.appendingPathComponent("config.json")))
    }

    /// Loads a checkpoint (a value-head checkpoint's `v_head.*` is left to the value head), in evaluation mode.
    public static func load(from directory: URL) throws -> TinySeq2SeqPolicy {
        let model = TinySeq2SeqPolicy(try configuration(in: directory), seed: 0)
        let report = try model.loadSafeTensors(from: directory.appendingPathComponent("model.safetensors"), strict: false)
        if let first = report.missing.first {
            throw CheckpointError.missingTensor(path: directory.appendingPathComponent("model.safetensors").path, name: first,
                                                others: report.missing.count - 1, encoderFamily: nil)
        }
        model.setTraining(false)
        return model
    }
}

/// The family, registered as T5 will be: one line.
public let tinySeq2SeqFamily = ModelFamily(
    modelTypes: ["tiny-s2s"], architectures: ["TinySeq2SeqForConditionalGeneration"],
    loadConfiguration: { try TinySeq2SeqPolicy.configuration(in: $0) },
    loadEncoderDecoderModel: { try TinySeq2SeqPolicy.load(from: $0) })

public let registerTinySeq2SeqFamily: Void = ModelLoader.register(tinySeq2SeqFamily)

/// A tiny encoder-decoder over `vocabulary` ids: pad 0 (the decoder's start), EOS `eos`.
public func tinySeq2Seq(vocabulary: Int = 12, eos: Int? = 11, dropout: Float = 0, seed: UInt64 = 3) -> TinySeq2SeqPolicy {
    TinySeq2SeqPolicy(TinySeq2SeqPolicyConfiguration(vocabularySize: vocabulary, hiddenSize: 16, positions: 32, eosTokenId: eos,
                                                     padTokenId: 0, dropout: dropout), seed: seed)
}
