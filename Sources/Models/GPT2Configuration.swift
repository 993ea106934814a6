// GPT-2's hyper-parameters, read from and written to a Hugging Face `config.json`.

import Foundation
import NN

/// The configuration of a GPT-2 model, with Hugging Face's `GPT2Config` field names in JSON.
public struct GPT2Configuration: LanguageModelConfiguration, Codable, Equatable {
    /// V, the number of token ids (`vocab_size`).
    public var vocabularySize: Int
    /// The longest sequence, the size of the position table (`n_positions`).
    public var positions: Int
    /// C, the width of the residual stream (`n_embd`).
    public var embeddingDimension: Int
    /// The number of transformer blocks (`n_layer`).
    public var layers: Int
    /// NH, attention heads per block (`n_head`); C must divide by it.
    public var heads: Int
    /// The MLP's hidden width (`n_inner`); nil means 4·C.
    public var innerDimension: Int?
    /// The MLP activation (`activation_function`): "gelu_new" (tanh form), "gelu_pytorch_tanh"
    /// (the same function) or "relu".
    public var activationFunction: String
    /// Dropout after the attention and MLP projections (`resid_pdrop`).
    public var residualDropout: Float
    /// Dropout on token + position embeddings (`embd_pdrop`).
    public var embeddingDropout: Float
    /// Dropout on attention probabilities (`attn_pdrop`).
    public var attentionDropout: Float
    /// ε of every layer norm (`layer_norm_epsilon`).
    public var layerNormEpsilon: Float
    /// Standard deviation of the initial weights (`initializer_range`).
    public var initializerRange: Float
    /// Beginning-of-sequence id (`bos_token_id`).
    public var bosTokenId: Int?
    /// End-of-sequence id (`eos_token_id`); generation stops on it.
    public var eosTokenId: Int?
    /// Padding id (`pad_token_id`), when the checkpoint names one.
    public var padTokenId: Int?
    /// Whether `lm_head` shares the token embedding (`tie_word_embeddings`, default true).
    public var tieWordEmbeddings: Bool
    /// Labels of a sequence-classification head (`num_labels`), when present.
    public var labelCount: Int?

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", positions = "n_positions", embeddingDimension = "n_embd"
        case layers = "n_layer", heads = "n_head", innerDimension = "n_inner"
        case activationFunction = "activation_function", residualDropout = "resid_pdrop"
        case embeddingDropout = "embd_pdrop", attentionDropout = "attn_pdrop"
        case layerNormEpsilon = "layer_norm_epsilon", initializerRange = "initializer_range"
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", padTokenId = "pad_token_id"
        case tieWordEmbeddings = "tie_word_embeddings", labelCount = "num_labels"
    }

    /// "gpt2".
    public var modelType: String { "gpt2" }
    /// C (`n_embd`).
    public var hiddenSize: Int { embeddingDimension }

    /// The activations this implementation computes.
    public static let supportedActivations = ["gelu_new", "gelu_pytorch_tanh", "relu"]

    /// A configuration; defaults are GPT-2 small's (124M parameters).
    public init(
        vocabularySize: Int = 50257, positions: Int = 1024, embeddingDimension: Int = 768, layers: Int = 12,
        heads: Int = 12, innerDimension: Int? = nil, activationFunction: String = "gelu_new",
        residualDropout: Float = 0.1, embeddingDropout: Float = 0.1, attentionDropout: Float = 0.1,
        layerNormEpsilon: Float = 1e-5, initializerRange: Float = 0.02, bosTokenId: Int? = 50256,
        eosTokenId: Int? = 50256, padTokenId: Int? = nil, tieWordEmbeddings: Bool = true, labelCount: Int? = nil
    ) {
        self.vocabularySize = vocabularySize
        self.positions = positions
        self.embeddingDimension = embeddingDimension
        self.layers = layers
        self.heads = heads
        self.innerDimension = innerDimension
        self.activationFunction = activationFunction
        self.residualDropout = residualDropout
        self.embeddingDropout = embeddingDropout
        self.attentionDropout = attentionDropout
        self.layerNormEpsilon = layerNormEpsilon
        self.initializerRange = initializerRange
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.padTokenId = padTokenId
        self.tieWordEmbeddings = tieWordEmbeddings
        self.labelCount = labelCount
    }

    /// Decodes a Hugging Face config; fields GPT-2 does not need are ignored, optional ones take
    /// `GPT2Config`'s defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = GPT2Configuration()
        vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? defaults.vocabularySize
        positions = try c.decodeIfPresent(Int.self, forKey: .positions) ?? defaults.positions
        embeddingDimension = try c.decodeIfPresent(Int.self, forKey: .embeddingDimension) ?? defaults.embeddingDimension
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? defaults.layers
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? defaults.heads
        innerDimension = try c.decodeIfPresent(Int.self, forKey: .innerDimension)
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? defaults.activationFunction
        residualDropout = try c.decodeIfPresent(Float.self, forKey: .residualDropout) ?? defaults.residualDropout
        embeddingDropout = try c.decodeIfPresent(Float.self, forKey: .embeddingDropout) ?? defaults.embeddingDropout
        attentionDropout = try c.decodeIfPresent(Float.self, forKey: .attentionDropout) ?? defaults.attentionDropout
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? defaults.layerNormEpsilon
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? defaults.initializerRange
        // An absent id takes GPT2Config's default (50256); an explicit null means "none".
        bosTokenId = c.contains(.bosTokenId) ? try c.decodeIfPresent(Int.self, forKey: .bosTokenId) : defaults.bosTokenId
        eosTokenId = c.contains(.eosTokenId) ? try c.decodeIfPresent(Int.self, forKey: .eosTokenId) : defaults.eosTokenId
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        labelCount = try c.decodeIfPresent(Int.self, forKey: .labelCount)
        // Attention variants HF GPT-2 offers that this implementation does not compute.
        let variants = try decoder.container(keyedBy: VariantKeys.self)
        // transformers writes id2label (not always num_labels) for sequence classifiers.
        if labelCount == nil, let labels = try? variants.decodeIfPresent([String: String].self, forKey: .idToLabel) {
            labelCount = labels.count
        }
        if try variants.decodeIfPresent(Bool.self, forKey: .scaleWeights) == false {
            throw DecodingError.dataCorrupted(.init(codingPath: [VariantKeys.scaleWeights], debugDescription: "only scale_attn_weights = true is supported"))
        }
        for key in [VariantKeys.inverseLayerScale, .reorderAndUpcast] where try variants.decodeIfPresent(Bool.self, forKey: key) == true {
            throw DecodingError.dataCorrupted(.init(codingPath: [key], debugDescription: "\(key.stringValue) = true is not supported"))
        }
    }

    private enum VariantKeys: String, CodingKey {
        case scaleWeights = "scale_attn_weights", inverseLayerScale = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcast = "reorder_and_upcast_attn", idToLabel = "id2label"
    }

    /// The MLP's hidden width (n_inner, or 4·n_embd; saturating, so that a hostile n_embd is an
    /// error from ``validate(path:)`` rather than an overflow trap).
    public var mlpDimension: Int {
        innerDimension ?? { let (product, overflow) = embeddingDimension.multipliedReportingOverflow(by: 4); return overflow ? Int.max : product }()
    }

    /// About how many weights the model has: (V + P)·C + L·(4·C² + 2·C·inner + 13·C) (an upper
    /// bound; the heads aside). Valid once the sizes are within ``limits``.
    public var parameterCount: Int {
        let C = embeddingDimension, inner = mlpDimension
        return (vocabularySize + positions) * C + layers * (4 * C * C + 2 * C * inner + 13 * C)
    }

    /// Upper bounds on the sizes a config may ask for, checked before anything is allocated (far
    /// above any GPT-2: 2^24 tokens, 2^20 positions, width 2^16, 1,024 layers, 2^36 parameters).
    static let limits: [(field: String, maximum: Int)] = [
        ("vocab_size", 1 << 24), ("n_positions", 1 << 20), ("n_embd", 1 << 16), ("n_layer", 1024), ("n_head", 1 << 12), ("n_inner", 1 << 18),
    ]
    static let maximumParameters = 1 << 36

    /// Checks the fields against each other; the error names the field.
    /// - Throws: ``CheckpointError`` naming `path` and the field.
    public func validate(path: String = "config.json") throws {
        func fail(_ field: String, _ problem: String) throws -> Never { throw CheckpointError.invalidField(path: path, field: field, problem: problem) }
        for (name, value) in [("vocab_size", vocabularySize), ("n_positions", positions), ("n_embd", embeddingDimension),
                              ("n_layer", layers), ("n_head", heads), ("n_inner", mlpDimension)] where value <= 0 {
            try fail(name, "must be a positive integer, got \(value)")
        }
        for ((name, maximum), value) in zip(Self.limits, [vocabularySize, positions, embeddingDimension, layers, heads, mlpDimension])
            where value > maximum {
            try fail(name, "is \(value); at most \(maximum) is accepted")
        }
        // All factors are bounded above by now, so the count cannot overflow.
        let parameters = parameterCount
        if parameters > Self.maximumParameters {
            throw CheckpointError.tooManyParameters(path: path, fields: ["vocab_size", "n_positions", "n_embd", "n_layer", "n_inner"],
                                                    parameters: parameters, maximum: Self.maximumParameters)
        }
        if let labelCount, labelCount < 1 || labelCount > 1 << 20 {
            try fail("num_labels", "is \(labelCount); it must be from 1 to \(1 << 20)")
        }
        if embeddingDimension % heads != 0 {
            try fail("n_embd", "(\(embeddingDimension)) must be divisible by 'n_head' (\(heads))")
        }
        if !Self.supportedActivations.contains(activationFunction) {
            throw CheckpointError.unsupportedValue(path: path, field: "activation_function", value: activationFunction, supported: Self.supportedActivations)
        }
        for (name, value) in [("resid_pdrop", residualDropout), ("embd_pdrop", embeddingDropout), ("attn_pdrop", attentionDropout)]
            where !(value >= 0 && value < 1) {
            try fail(name, "must be in [0, 1), got \(value)")
        }
        if !(layerNormEpsilon > 0) { try fail("layer_norm_epsilon", "must be positive, got \(layerNormEpsilon)") }
        for (name, id) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId), ("pad_token_id", padTokenId)] {
            if let id, id < 0 || id >= vocabularySize { try fail(name, "is \(id), outside the vocabulary 0..<\(vocabularySize)") }
        }
    }

    /// Reads and validates `config.json`; errors name the file and the field.
    /// - Throws: ``CheckpointError`` naming the file and the field.
    public static func load(from url: URL) throws -> GPT2Configuration {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CheckpointError.missingFile(path: url.path, needed: "a checkpoint directory needs config.json")
        }
        let configuration: GPT2Configuration
        do {
            configuration = try JSONDecoder().decode(GPT2Configuration.self, from: data)
        } catch let error as DecodingError {
            throw CheckpointError(error, path: url.path)
        } catch {
            throw CheckpointError.invalidFile(path: url.path, problem: "not a JSON object: \(error.localizedDescription)")
        }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let type = object["model_type"] as? String, type != "gpt2" {
            throw CheckpointError.unsupportedModelType(path: url.path, modelType: type, supported: ["gpt2"])
        }
        try configuration.validate(path: url.path)
        return configuration
    }

    /// Writes `config.json` with Hugging Face's field names (model_type gpt2).
    public func save(to url: URL, architecture: String = "GPT2LMHeadModel") throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var object = try JSONSerialization.jsonObject(with: encoder.encode(self)) as? [String: Any] ?? [:]
        object["model_type"] = "gpt2"
        // Explicit nulls, so that a reader does not fall back to GPT-2's 50256.
        for key in [CodingKeys.bosTokenId, .eosTokenId, .padTokenId] where object[key.rawValue] == nil { object[key.rawValue] = NSNull() }
        object["architectures"] = [architecture]
        object["n_ctx"] = positions
        object["scale_attn_weights"] = true
        object["use_cache"] = true
        if let labelCount {
            object["id2label"] = Dictionary(uniqueKeysWithValues: (0..<labelCount).map { ("\($0)", "LABEL_\($0)") })
            object["label2id"] = Dictionary(uniqueKeysWithValues: (0..<labelCount).map { ("LABEL_\($0)", $0) })
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: url, options: .atomic)
    }
}
