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
        configuration.labelCount = nil  // a language model: saved as T5ForConditionalGeneration whatever the file said
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

extension ModelFamily {
    /// T5 and Flan-T5 (HF `T5ForConditionalGeneration`): encoder-decoder language models. A new one
    /// is Flan-T5-shaped (gated GELU, untied head, d_ff = 2·d_model, d_kv = d_model / heads) and
    /// its tokenizer needs T5's special tokens.
    public static let t5 = ModelFamily(
        modelTypes: ["t5"], architectures: ["T5ForConditionalGeneration", "T5Model", "T5ForSequenceClassification"],
        loadConfiguration: { try T5Configuration.load(from: $0.appendingPathComponent("config.json")) },
        loadClassifier: { try SequenceClassifier.loadT5(from: $0) },
        loadEncoderDecoderModel: { try T5ForConditionalGeneration.load(from: $0) },
        newEncoderDecoderModel: { shape, seed in
            var configuration = T5Configuration()
            configuration.vocabularySize = shape.vocabularySize
            configuration.modelDimension = shape.hiddenSize
            configuration.heads = shape.heads
            configuration.headSize = shape.heads > 0 ? shape.hiddenSize / shape.heads : 0
            configuration.feedForwardDimension = 2 * shape.hiddenSize
            configuration.encoderLayers = shape.layers
            configuration.decoderLayers = shape.layers
            configuration.dropout = shape.dropout
            configuration.feedForwardProjection = "gated-gelu"
            configuration.tieWordEmbeddings = false
            configuration.scaleDecoderOutputs = false
            configuration.eosTokenId = shape.eosTokenId
            configuration.padTokenId = shape.padTokenId ?? 0
            configuration.decoderStartTokenId = configuration.padTokenId ?? 0
            if shape.heads <= 0 || shape.hiddenSize % shape.heads != 0 {
                throw CheckpointError.invalidField(path: "config", field: "n_embd", problem: "(\(shape.hiddenSize)) must be divisible by n_head (\(shape.heads))")
            }
            try configuration.validate(path: "config")
            let model = T5ForConditionalGeneration(configuration, seed: seed)
            // transformers draws an untied head from N(0, 1), which starts a model trained from
            // scratch at a loss of ~20 nats; N(0, 1/d_model) starts it near ln V, as a tied head does.
            if let head = model.lm_head {
                var generator = RandomGenerator(seed: seed ^ 0x4EAD)
                head.weight = Tensor(normalShape: head.weight.shape, standardDeviation: 1 / Float(shape.hiddenSize).squareRoot(),
                                     generator: &generator, requiresGrad: true)
            }
            return model
        },
        newModelSpecialTokens: T5Configuration.specialTokens, classifierReadsEndOfSequence: true)
}

extension T5Configuration {
    /// The special tokens of T5's tokenizer, in its id order: `<pad>`, `</s>`, `<unk>`, then the
    /// 100 sentinels `<extra_id_0>` … `<extra_id_99>` that span corruption uses.
    public static let specialTokens = ["<pad>", "</s>", "<unk>"] + (0..<100).map { "<extra_id_\($0)>" }
}
