// T5 with its language-modelling head (HF `T5ForConditionalGeneration`), a conformer of
// ``EncoderDecoderLanguageModel``: the `shared` embedding feeds both stacks; the head is `shared`
// itself (v1.0, with the decoder output scaled by d_model^-0.5) or its own `lm_head` (v1.1 /
// Flan-T5). Checkpoints load and save with transformers' names.
// Shapes: B batch, S source tokens, T target tokens, C = d_model, V vocabulary.

import Foundation
import Kernels
import NN
import Tensors
import Tokenizers

/// T5 / Flan-T5 (HF `T5ForConditionalGeneration`).
public final class T5ForConditionalGeneration: EncoderDecoderLanguageModel {
    /// (V, C): the token embedding of both stacks, and the head when tied.
    public var shared: Embedding
    /// The encoder stack (`encoder.*`).
    public var encoder: T5Stack
    /// The decoder stack (`decoder.*`).
    public var decoder: T5Stack
    /// The untied head (V, C), or nil when the head is `shared`.
    public var lm_head: Linear?
    /// Where dropout masks come from; save `source.generator` to resume a run exactly.
    public let source: RandomSource
    /// The hyper-parameters.
    public let configuration: T5Configuration

    /// A randomly initialized model (transformers' T5 init), untied when the configuration says so.
    public init(_ configuration: T5Configuration, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        source = RandomSource(seed: seed ^ 0x5EED)
        self.configuration = configuration
        let factor = configuration.initializerFactor
        shared = Embedding(count: configuration.vocabularySize, dimension: configuration.modelDimension, standardDeviation: factor, generator: &generator)
        encoder = T5Stack(configuration, isDecoder: false, generator: &generator, source: source)
        decoder = T5Stack(configuration, isDecoder: true, generator: &generator, source: source)
        lm_head = configuration.tieWordEmbeddings ? nil
            : Linear(inputs: configuration.modelDimension, outputs: configuration.vocabularySize, bias: false, standardDeviation: factor, generator: &generator)
    }

    // The model interface (``EncoderDecoderLanguageModel``).

    public var modelConfiguration: any LanguageModelConfiguration { configuration }
    public var decoderStartTokenId: Int { configuration.decoderStartTokenId }
    public var maximumSourceLength: Int? { configuration.sourcePositions }
    public var maximumTargetLength: Int? { nil }

    public func encode(_ ids: IndexTensor, mask: Tensor) -> Tensor {
        encoder(shared(ids), mask: mask, encoded: nil, encoderMask: nil, cache: nil)
    }

    public func decoderStates(_ ids: IndexTensor, encoded: Tensor, encoderMask: Tensor, cache: EncoderDecoderCache?) -> Tensor {
        decoder(shared(ids), mask: nil, encoded: encoded, encoderMask: encoderMask, cache: cache)
    }

    public func logits(decoded: Tensor) -> Tensor {
        let scaled = configuration.scaleDecoderOutputs ? decoded * (1 / Float(configuration.modelDimension).squareRoot()) : decoded
        return linear(scaled, weight: lm_head?.weight ?? shared.weight, bias: nil)
    }

    public func makeDecoderCache(batch: Int, capacity: Int) -> EncoderDecoderCache {
        EncoderDecoderCache(selfAttention: KeyValueCache(layers: configuration.decoderLayers, batch: batch, heads: configuration.heads,
                                                         headSize: configuration.headSize, capacity: capacity))
    }

    /// transformers' forward with `labels`: logits (B, T, V) of the decoder fed the shifted labels,
    /// and the mean cross-entropy over the labels that are not −100.
    /// - Parameters:
    ///   - ids: (B, S) source ids, right-padded. mask: (B, S).
    ///   - labels: (B, T) target ids, −100 where ignored.
    public func callAsFunction(_ ids: IndexTensor, mask: Tensor, labels: IndexTensor) -> (logits: Tensor, loss: Tensor) {
        teacherForced(sources: ids, mask: mask, labels: labels)
    }
}

extension T5ForConditionalGeneration {
    /// Tensors a T5 checkpoint may carry that are not parameters here: the stacks' copies of the
    /// shared embedding, a stray cross-attention bias table, value or score heads.
    static func isIgnorable(_ name: String) -> Bool {
        name == "encoder.embed_tokens.weight" || name == "decoder.embed_tokens.weight"
            || name == "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"
            || name.hasPrefix("v_head.") || name.hasPrefix("score.")
    }

    /// Loads a Hugging Face T5 / Flan-T5 checkpoint directory (config.json + model.safetensors) in
    /// evaluation mode. The head is untied when config.json says `tie_word_embeddings: false` or
    /// the file has its own `lm_head.weight`.
    /// - Throws: ``CheckpointError`` naming the file and the field or tensor.
    public static func load(from directory: URL) throws -> T5ForConditionalGeneration {
        var configuration = try T5Configuration.load(from: directory.appendingPathComponent("config.json"))
        let weights = directory.appendingPathComponent("model.safetensors")
        try checkWeights(weights, holdMostOf: configuration.parameterCount)
        if configuration.tieWordEmbeddings, FileManager.default.fileExists(atPath: weights.path),
           try SafeTensorsFile(contentsOf: weights).names.contains("lm_head.weight") {
            configuration.tieWordEmbeddings = false
        }
        let model = T5ForConditionalGeneration(configuration)
        try loadParameters(model, from: weights, prefix: "", ignore: isIgnorable)
        model.setTraining(false)
        return model
    }

    /// Writes a checkpoint directory transformers loads with `T5ForConditionalGeneration.from_pretrained`:
    /// config.json, model.safetensors (no `lm_head.weight` when tied), generation_config.json, and
    /// the tokenizer's files when given.
    public func save(to directory: URL, tokenizer: (any Tokenizer)?) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try configuration.save(to: directory.appendingPathComponent("config.json"))
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
        var generation: [String: Any] = ["decoder_start_token_id": decoderStartTokenId]
        if let eos = configuration.eosTokenId { generation["eos_token_id"] = eos }
        if let pad = configuration.padTokenId { generation["pad_token_id"] = pad }
        try JSONSerialization.data(withJSONObject: generation, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("generation_config.json"), options: .atomic)
        try tokenizer?.save(to: directory)
    }
}
