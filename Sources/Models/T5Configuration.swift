// T5's hyper-parameters, read from and written to a Hugging Face `config.json` (`T5Config`): both
// T5 v1.0 (ReLU feed-forward, `lm_head` tied to the shared embedding, decoder output scaled by
// d_model^-0.5) and v1.1 / Flan-T5 ("gated-gelu", an untied `lm_head`, no scaling).

import Foundation
import NN

/// The configuration of a T5 encoder-decoder, with `T5Config`'s field names in JSON.
public struct T5Configuration: LanguageModelConfiguration, Equatable, Decodable {
    /// V (`vocab_size`).
    public var vocabularySize: Int = 32128
    /// C, the width of the residual stream (`d_model`).
    public var modelDimension: Int = 512
    /// HS, the width of one attention head (`d_kv`); heads × d_kv need not equal d_model.
    public var headSize: Int = 64
    /// The feed-forward width (`d_ff`).
    public var feedForwardDimension: Int = 2048
    /// Encoder blocks (`num_layers`).
    public var encoderLayers: Int = 6
    /// Decoder blocks (`num_decoder_layers`; absent means as many as the encoder).
    public var decoderLayers: Int = 6
    /// NH (`num_heads`).
    public var heads: Int = 8
    /// Relative-position buckets (`relative_attention_num_buckets`).
    public var relativeAttentionBuckets: Int = 32
    /// Distances at or beyond this share the last bucket (`relative_attention_max_distance`).
    public var relativeAttentionMaxDistance: Int = 128
    /// Dropout everywhere T5 has it (`dropout_rate`).
    public var dropout: Float = 0.1
    /// ε of every RMS norm (`layer_norm_epsilon`).
    public var layerNormEpsilon: Float = 1e-6
    /// Scales the initial weights (`initializer_factor`).
    public var initializerFactor: Float = 1
    /// The feed-forward kind (`feed_forward_proj`): "ACT" or "gated-ACT".
    public var feedForwardProjection: String = "relu"
    /// Whether `lm_head` is the shared embedding (`tie_word_embeddings`, default true).
    public var tieWordEmbeddings: Bool = true
    /// Whether the decoder output is scaled by d_model^-0.5 before the head (transformers'
    /// `scale_decoder_outputs`; absent, it follows `tie_word_embeddings`).
    public var scaleDecoderOutputs: Bool = true
    /// The longest source the checkpoint declares (`n_positions`), if any; longer sources are refused.
    public var sourcePositions: Int?
    /// Padding id (`pad_token_id`).
    public var padTokenId: Int? = 0
    /// End-of-sequence id (`eos_token_id`).
    public var eosTokenId: Int? = 1
    /// The decoder's first input (`decoder_start_token_id`; T5: the pad id).
    public var decoderStartTokenId: Int = 0
    /// Outputs of a `T5ForSequenceClassification` head (`num_labels`, or the size of `id2label`);
    /// nil for a language model.
    public var labelCount: Int?

    /// A configuration; the defaults are t5-small's.
    public init() {}

    /// "t5".
    public var modelType: String { "t5" }
    /// C (`d_model`).
    public var hiddenSize: Int { modelDimension }
    /// Decoder blocks (what code outside the family counts as layers).
    public var layers: Int { decoderLayers }
    /// The longest sequence trainers should build: `n_positions`, or 512 (T5's pretraining length).
    public var positions: Int { sourcePositions ?? 512 }
    /// T5 has no BOS.
    public var bosTokenId: Int? { nil }
    /// NH · HS, the attention width.
    public var innerDimension: Int { heads * headSize }
    /// Whether the feed-forward is gated (`gated-…`).
    public var isGated: Bool { feedForwardProjection.hasPrefix("gated-") }

    /// The feed-forward activation as transformers resolves it: the part after "gated-", except
    /// that "gated-gelu" means "gelu_new".
    public var activation: String {
        if feedForwardProjection == "gated-gelu" { return "gelu_new" }
        return String(feedForwardProjection.split(separator: "-", omittingEmptySubsequences: false).last ?? "")
    }

    /// The activations this implementation computes.
    public static let supportedActivations = ["relu", "gelu", "gelu_new", "gelu_pytorch_tanh", "silu", "swish"]

    /// About how many weights the model has.
    public var parameterCount: Int {
        let C = modelDimension, attention = 4 * C * innerDimension
        let feedForward = C * feedForwardDimension * (isGated ? 3 : 2)
        return vocabularySize * C * (tieWordEmbeddings ? 1 : 2) + encoderLayers * (attention + feedForward + 2 * C)
            + decoderLayers * (2 * attention + feedForward + 3 * C) + 2 * relativeAttentionBuckets * heads
    }

    static let maximumParameters = 1 << 36

    /// Checks the fields against each other; the error names the field.
    /// - Throws: ``CheckpointError`` naming `path` and the field.
    public func validate(path: String = "config.json") throws {
        func fail(_ field: String, _ problem: String) throws -> Never { throw CheckpointError.invalidField(path: path, field: field, problem: problem) }
        let sizes: [(String, Int, Int)] = [
            ("vocab_size", vocabularySize, 1 << 24), ("d_model", modelDimension, 1 << 16), ("d_kv", headSize, 1 << 12),
            ("d_ff", feedForwardDimension, 1 << 18), ("num_layers", encoderLayers, 1024), ("num_decoder_layers", decoderLayers, 1024),
            ("num_heads", heads, 1 << 10), ("relative_attention_num_buckets", relativeAttentionBuckets, 1 << 12),
            ("relative_attention_max_distance", relativeAttentionMaxDistance, 1 << 20),
        ]
        for (name, value, maximum) in sizes {
            if value <= 0 { try fail(name, "must be a positive integer, got \(value)") }
            if value > maximum { try fail(name, "is \(value); at most \(maximum) is accepted") }
        }
        if parameterCount > Self.maximumParameters {
            throw CheckpointError.tooManyParameters(path: path, fields: ["vocab_size", "d_model", "d_ff", "num_layers"],
                                                    parameters: parameterCount, maximum: Self.maximumParameters)
        }
        // The encoder halves the buckets (one half per direction) and the exact half must be ≥ 1.
        if relativeAttentionBuckets < 4 {
            try fail("relative_attention_num_buckets", "is \(relativeAttentionBuckets); T5's bidirectional buckets need at least 4")
        }
        // The decoder's exact buckets reach buckets/2; the logarithmic ones must start beyond them.
        if relativeAttentionMaxDistance <= relativeAttentionBuckets / 2 {
            try fail("relative_attention_max_distance", "(\(relativeAttentionMaxDistance)) must exceed half of relative_attention_num_buckets (\(relativeAttentionBuckets / 2)), where the decoder's logarithmic buckets begin")
        }
        let parts = feedForwardProjection.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count > 2 || (parts.count == 2 && parts[0] != "gated") || !Self.supportedActivations.contains(activation) {
            throw CheckpointError.unsupportedValue(path: path, field: "feed_forward_proj", value: feedForwardProjection,
                                                   supported: ["relu", "gated-gelu", "gelu", "gelu_new", "gated-gelu_new", "gated-silu", "silu"])
        }
        if !(dropout >= 0 && dropout < 1) { try fail("dropout_rate", "must be in [0, 1), got \(dropout)") }
        if !(layerNormEpsilon > 0) { try fail("layer_norm_epsilon", "must be positive, got \(layerNormEpsilon)") }
        if let labelCount, labelCount < 1 || labelCount > 1 << 16 { try fail("num_labels", "(or the size of id2label) is \(labelCount); expected 1...65536") }
        if let sourcePositions, sourcePositions <= 0 { try fail("n_positions", "must be a positive integer, got \(sourcePositions)") }
        for (name, id) in [("eos_token_id", eosTokenId), ("pad_token_id", padTokenId), ("decoder_start_token_id", decoderStartTokenId)] {
            if let id, id < 0 || id >= vocabularySize { try fail(name, "is \(id), outside the vocabulary 0..<\(vocabularySize)") }
        }
    }

    /// Reads a `T5Config` JSON object; absent fields take its defaults.
    /// - Throws: ``CheckpointError`` naming `path` and the field when a field has the wrong type.
    public init(json data: Data, path: String) throws {
        do {
            self = try JSONDecoder().decode(T5Configuration.self, from: data)
        } catch let error as DecodingError {
            throw CheckpointError(error, path: path)
        }
    }

    /// Reads and validates `config.json`; errors name the file and the field.
    /// - Throws: ``CheckpointError`` naming the file and the field.
    public static func load(from url: URL) throws -> T5Configuration {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CheckpointError.missingFile(path: url.path, needed: "a checkpoint directory needs config.json")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CheckpointError.invalidFile(path: url.path, problem: "not a JSON object")
        }
        if let type = object["model_type"] as? String, type != "t5" {
            throw CheckpointError.unsupportedModelType(path: url.path, modelType: type, supported: ["t5"])
        }
        let configuration = try T5Configuration(json: data, path: url.path)
        try configuration.validate(path: url.path)
        return configuration
    }
    /// The config.json object, with `T5Config`'s names; a classifier's (`labelCount` set) names
    /// `T5ForSequenceClassification` and carries `num_labels` and `id2label`.
    public var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "model_type": "t5", "is_encoder_decoder": true,
            "architectures": [labelCount == nil ? "T5ForConditionalGeneration" : "T5ForSequenceClassification"],
            "vocab_size": vocabularySize, "d_model": modelDimension, "d_kv": headSize, "d_ff": feedForwardDimension,
            "num_layers": encoderLayers, "num_decoder_layers": decoderLayers, "num_heads": heads,
            "relative_attention_num_buckets": relativeAttentionBuckets, "relative_attention_max_distance": relativeAttentionMaxDistance,
            "dropout_rate": Double(dropout), "layer_norm_epsilon": Double(layerNormEpsilon), "initializer_factor": Double(initializerFactor),
            "feed_forward_proj": feedForwardProjection, "dense_act_fn": activation, "is_gated_act": isGated,
            "tie_word_embeddings": tieWordEmbeddings, "decoder_start_token_id": decoderStartTokenId, "use_cache": true,
        ]
        // transformers ≥ 5 reads the scaling from tie_word_embeddings unless it is written out.
        if scaleDecoderOutputs != tieWordEmbeddings { object["scale_decoder_outputs"] = scaleDecoderOutputs }
        object["pad_token_id"] = padTokenId.map { $0 as Any } ?? NSNull()
        object["eos_token_id"] = eosTokenId.map { $0 as Any } ?? NSNull()
        if let sourcePositions { object["n_positions"] = sourcePositions }
        if let labelCount {
            object["num_labels"] = labelCount
            object["id2label"] = Dictionary(uniqueKeysWithValues: (0..<labelCount).map { ("\($0)", "LABEL_\($0)") })
            object["label2id"] = Dictionary(uniqueKeysWithValues: (0..<labelCount).map { ("LABEL_\($0)", $0) })
            object["classifier_dropout"] = 0.0
        }
        return object
    }

    /// Writes `config.json`. Float fields keep a decimal point (transformers ≥ 5 validates
    /// `initializer_factor` as a float and refuses `1`).
    public func save(to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: jsonObject, options: [.prettyPrinted, .sortedKeys])
        var text = String(decoding: data, as: UTF8.self)
        for key in ["dropout_rate", "layer_norm_epsilon", "initializer_factor"] {
            text = text.replacingOccurrences(of: #"("\#(key)" ?: ?)(-?[0-9]+)(?=[,\n}])"#, with: "$1$2.0", options: .regularExpression)
        }
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}

extension T5Configuration {
    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", modelDimension = "d_model", headSize = "d_kv", feedForwardDimension = "d_ff"
        case encoderLayers = "num_layers", decoderLayers = "num_decoder_layers", heads = "num_heads"
        case relativeAttentionBuckets = "relative_attention_num_buckets", relativeAttentionMaxDistance = "relative_attention_max_distance"
        case dropout = "dropout_rate", layerNormEpsilon = "layer_norm_epsilon", initializerFactor = "initializer_factor"
        case feedForwardProjection = "feed_forward_proj", tieWordEmbeddings = "tie_word_embeddings"
        case scaleDecoderOutputs = "scale_decoder_outputs", sourcePositions = "n_positions", padTokenId = "pad_token_id"
        case eosTokenId = "eos_token_id", decoderStartTokenId = "decoder_start_token_id"
        case labelCount = "num_labels", idToLabel = "id2label"
    }

    /// Decodes `T5Config`'s fields; absent ones take its defaults (`num_decoder_layers`: as the
    /// encoder; `scale_decoder_outputs`: `tie_word_embeddings`; `decoder_start_token_id`: the pad id).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = T5Configuration()
        d.vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? d.vocabularySize
        d.modelDimension = try c.decodeIfPresent(Int.self, forKey: .modelDimension) ?? d.modelDimension
        d.headSize = try c.decodeIfPresent(Int.self, forKey: .headSize) ?? d.headSize
        d.feedForwardDimension = try c.decodeIfPresent(Int.self, forKey: .feedForwardDimension) ?? d.feedForwardDimension
        d.encoderLayers = try c.decodeIfPresent(Int.self, forKey: .encoderLayers) ?? d.encoderLayers
        d.decoderLayers = try c.decodeIfPresent(Int.self, forKey: .decoderLayers) ?? d.encoderLayers
        d.heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        d.relativeAttentionBuckets = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionBuckets) ?? d.relativeAttentionBuckets
        d.relativeAttentionMaxDistance = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionMaxDistance) ?? d.relativeAttentionMaxDistance
        d.dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        d.layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? d.layerNormEpsilon
        d.initializerFactor = try c.decodeIfPresent(Float.self, forKey: .initializerFactor) ?? d.initializerFactor
        d.feedForwardProjection = try c.decodeIfPresent(String.self, forKey: .feedForwardProjection) ?? d.feedForwardProjection
        d.tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        d.scaleDecoderOutputs = try c.decodeIfPresent(Bool.self, forKey: .scaleDecoderOutputs) ?? d.tieWordEmbeddings
        d.sourcePositions = try c.decodeIfPresent(Int.self, forKey: .sourcePositions)
        // An explicit null means "none"; eos_token_id may be a list (generation stops on the first).
        d.padTokenId = c.contains(.padTokenId) ? try c.decodeIfPresent(Int.self, forKey: .padTokenId) : 0
        if c.contains(.eosTokenId) {
            if let list = try? c.decodeIfPresent([Int].self, forKey: .eosTokenId) { d.eosTokenId = list.first } else {
                d.eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId)
            }
        }
        d.decoderStartTokenId = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenId) ?? (d.padTokenId ?? 0)
        // transformers writes id2label (not always num_labels) for sequence classifiers.
        d.labelCount = try c.decodeIfPresent(Int.self, forKey: .labelCount)
        if d.labelCount == nil, let labels = try? c.decodeIfPresent([String: String].self, forKey: .idToLabel) { d.labelCount = labels.count }
        self = d
    }
}
