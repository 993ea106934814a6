// config.json of BERT-family encoders (Hugging Face `BertConfig` and `RobertaConfig`): the fields
// this implementation reads, with transformers' defaults, validated with errors naming the field.

import Foundation

/// The hyper-parameters of a BERT or RoBERTa encoder and of its classification head.
public struct EncoderConfiguration: Equatable, Sendable {
    /// The two families: BERT (positions 0..<T) and RoBERTa (positions offset past the padding id).
    public enum Family: String, Sendable { case bert, roberta }

    /// `model_type`.
    public var family: Family
    /// `vocab_size`.
    public var vocabularySize: Int
    /// `hidden_size` (C).
    public var hiddenSize: Int
    /// `num_hidden_layers`.
    public var layers: Int
    /// `num_attention_heads`.
    public var heads: Int
    /// `intermediate_size` (the feed-forward width).
    public var intermediateSize: Int
    /// `hidden_act`: "gelu" (exact, erf), "gelu_new"/"gelu_pytorch_tanh" (tanh form) or "relu".
    public var activation: String
    /// `hidden_dropout_prob`.
    public var hiddenDropout: Float
    /// `attention_probs_dropout_prob`.
    public var attentionDropout: Float
    /// `classifier_dropout` (nil: `hidden_dropout_prob`).
    public var classifierDropout: Float?
    /// `max_position_embeddings` (RoBERTa: the usable length is this − padding id − 1).
    public var positions: Int
    /// `type_vocab_size` (segment ids).
    public var typeVocabularySize: Int
    /// `layer_norm_eps`.
    public var layerNormEpsilon: Float
    /// `initializer_range`.
    public var initializerRange: Float
    /// `pad_token_id`.
    public var padTokenId: Int
    /// `bos_token_id`, `eos_token_id` (RoBERTa's <s> and </s>).
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    /// The classification labels in output order (`id2label`); nil for a bare encoder.
    public var labels: [String]?
    /// `problem_type`: "single_label_classification" (softmax), "multi_label_classification"
    /// (sigmoid per label) or nil (decided by the data, as transformers does).
    public var problemType: String?

    /// A configuration with transformers' defaults for `family` (BERT-base sizes).
    public init(family: Family = .bert, vocabularySize: Int = 30522, hiddenSize: Int = 768, layers: Int = 12, heads: Int = 12,
                intermediateSize: Int = 3072, activation: String = "gelu", hiddenDropout: Float = 0.1, attentionDropout: Float = 0.1,
                classifierDropout: Float? = nil, positions: Int = 512, typeVocabularySize: Int = 2, layerNormEpsilon: Float = 1e-12,
                initializerRange: Float = 0.02, padTokenId: Int = 0, bosTokenId: Int? = nil, eosTokenId: Int? = nil,
                labels: [String]? = nil, problemType: String? = nil) {
        self.family = family
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.activation = activation
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
        self.classifierDropout = classifierDropout
        self.positions = positions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
        self.initializerRange = initializerRange
        self.padTokenId = padTokenId
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.labels = labels
        self.problemType = problemType
    }

    /// The activations this implementation computes.
    public static let supportedActivations = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"]
    /// The problem types a classification head may have.
    public static let problemTypes = ["single_label_classification", "multi_label_classification"]

    /// The first position id of a real token: 0 for BERT, padding id + 1 for RoBERTa.
    public var firstPosition: Int { family == .roberta ? padTokenId + 1 : 0 }

    /// The longest input (special tokens included) the position table allows.
    public var maxTokens: Int { positions - firstPosition }

    /// Whether outputs are independent sigmoids (multi-label) rather than one softmax.
    public var isMultiLabel: Bool { problemType == "multi_label_classification" }

    /// Reads and validates `config.json`; errors name the file and the field.
    /// - Throws: ``CheckpointError`` naming the file and the field.
    public static func load(from url: URL) throws -> EncoderConfiguration {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CheckpointError.missingFile(path: url.path, needed: "an encoder checkpoint needs config.json")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CheckpointError.invalidFile(path: url.path, problem: "expected a JSON object")
        }
        return try EncoderConfiguration(object: object, path: url.path)
    }

    /// Reads a decoded config.json object.
    /// - Throws: ``CheckpointError`` naming `path` and the field.
    public init(object: [String: Any], path: String) throws {
        func fail(_ field: String, _ problem: String) -> CheckpointError { .invalidField(path: path, field: field, problem: problem) }
        guard let type = object["model_type"] as? String, let family = Family(rawValue: type) else {
            throw CheckpointError.unsupportedModelType(path: path, modelType: object["model_type"].map { "\($0)" },
                                                       supported: [Family.bert, .roberta].map(\.rawValue))
        }
        let defaults = family == .roberta
            ? EncoderConfiguration(family: .roberta, vocabularySize: 50265, positions: 514, typeVocabularySize: 1, layerNormEpsilon: 1e-5,
                                   padTokenId: 1, bosTokenId: 0, eosTokenId: 2)
            : EncoderConfiguration()
        func integer(_ key: String, _ fallback: Int) throws -> Int {
            guard let value = object[key], !(value is NSNull) else { return fallback }
            guard let number = value as? NSNumber, let exact = Int(exactly: number.doubleValue) else {
                throw fail(key, "must be an integer, got \(value)")
            }
            return exact
        }
        func optionalInteger(_ key: String, _ fallback: Int?) throws -> Int? {
            guard object.keys.contains(key) else { return fallback }
            if object[key] is NSNull { return nil }
            return try integer(key, 0)
        }
        func number(_ key: String, _ fallback: Float) throws -> Float {
            guard let value = object[key], !(value is NSNull) else { return fallback }
            guard let number = value as? NSNumber else { throw fail(key, "must be a number, got \(value)") }
            return number.floatValue
        }
        self.family = family
        vocabularySize = try integer("vocab_size", defaults.vocabularySize)
        hiddenSize = try integer("hidden_size", defaults.hiddenSize)
        layers = try integer("num_hidden_layers", defaults.layers)
        heads = try integer("num_attention_heads", defaults.heads)
        intermediateSize = try integer("intermediate_size", defaults.intermediateSize)
        activation = object["hidden_act"] as? String ?? defaults.activation
        hiddenDropout = try number("hidden_dropout_prob", defaults.hiddenDropout)
        attentionDropout = try number("attention_probs_dropout_prob", defaults.attentionDropout)
        classifierDropout = object["classifier_dropout"] is NSNumber ? try number("classifier_dropout", 0) : nil
        positions = try integer("max_position_embeddings", defaults.positions)
        typeVocabularySize = try integer("type_vocab_size", defaults.typeVocabularySize)
        layerNormEpsilon = try number("layer_norm_eps", defaults.layerNormEpsilon)
        initializerRange = try number("initializer_range", defaults.initializerRange)
        padTokenId = try integer("pad_token_id", defaults.padTokenId)
        bosTokenId = try optionalInteger("bos_token_id", defaults.bosTokenId)
        eosTokenId = try optionalInteger("eos_token_id", defaults.eosTokenId)
        problemType = object["problem_type"] as? String
        if let id2label = object["id2label"] as? [String: String] {
            var names = [String?](repeating: nil, count: id2label.count)
            for (key, name) in id2label {
                guard let index = Int(key), names.indices.contains(index), names[index] == nil else {
                    throw fail("id2label", "has key '\(key)'; expected each of the ids 0..<\(id2label.count) once")
                }
                names[index] = name
            }
            labels = names.map { $0! }
        } else if object["id2label"] != nil {
            throw fail("id2label", "must be an object {\"0\": name, …}")
        } else if object["num_labels"] != nil {
            let count = try integer("num_labels", 2)
            guard (1...Self.maximumLabels).contains(count) else { throw fail("num_labels", "is \(count); it must be from 1 to \(Self.maximumLabels)") }
            labels = (0..<count).map { "LABEL_\($0)" }
        } else {
            labels = nil
        }
        if let embedding = object["position_embedding_type"] as? String, embedding != "absolute" {
            throw fail("position_embedding_type", "is '\(embedding)'; only 'absolute' is supported")
        }
        if object["is_decoder"] as? Bool == true { throw fail("is_decoder", "is true; only encoders are supported") }
        try validate(path: path)
    }

    /// About how many weights the encoder has: (V + P + types)·C + L·(4·C² + 2·C·inner + 9·C)
    /// (the head aside). Valid once the sizes are within ``limits``.
    public var parameterCount: Int {
        let C = hiddenSize
        return (vocabularySize + positions + typeVocabularySize) * C + layers * (4 * C * C + 2 * C * intermediateSize + 9 * C)
    }

    /// Upper bounds on the sizes a config may ask for, checked before anything is allocated (far
    /// above any BERT or RoBERTa: 2^24 tokens, 2^20 positions, width 2^16, 1,024 layers, 2^36 parameters).
    static let limits: [(field: String, maximum: Int)] = [
        ("vocab_size", 1 << 24), ("hidden_size", 1 << 16), ("num_hidden_layers", 1024), ("num_attention_heads", 1 << 12),
        ("intermediate_size", 1 << 18), ("max_position_embeddings", 1 << 20), ("type_vocab_size", 1 << 16),
    ]
    static let maximumParameters = 1 << 36, maximumLabels = 1 << 20

    /// Checks the fields against each other; the error names the field.
    /// - Throws: ``CheckpointError`` naming `path` and the field.
    public func validate(path: String = "config.json") throws {
        func fail(_ field: String, _ problem: String) throws -> Never { throw CheckpointError.invalidField(path: path, field: field, problem: problem) }
        let sizes = [vocabularySize, hiddenSize, layers, heads, intermediateSize, positions, typeVocabularySize]
        for ((name, maximum), value) in zip(Self.limits, sizes) {
            if value <= 0 { try fail(name, "must be a positive integer, got \(value)") }
            if value > maximum { try fail(name, "is \(value); at most \(maximum) is accepted") }
        }
        // Every factor is bounded above by now, so the count cannot overflow.
        let parameters = parameterCount
        if parameters > Self.maximumParameters {
            throw CheckpointError.tooManyParameters(path: path, fields: ["vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size", "max_position_embeddings"],
                                                    parameters: parameters, maximum: Self.maximumParameters)
        }
        if let labels, labels.count > Self.maximumLabels { try fail("id2label", "has \(labels.count) labels; at most \(Self.maximumLabels) are accepted") }
        if hiddenSize % heads != 0 { try fail("hidden_size", "(\(hiddenSize)) must be divisible by 'num_attention_heads' (\(heads))") }
        if !Self.supportedActivations.contains(activation) {
            throw CheckpointError.unsupportedValue(path: path, field: "hidden_act", value: activation, supported: Self.supportedActivations)
        }
        for (name, value) in [("hidden_dropout_prob", hiddenDropout), ("attention_probs_dropout_prob", attentionDropout),
                              ("classifier_dropout", classifierDropout ?? 0)] where !(value >= 0 && value < 1) {
            try fail(name, "must be in [0, 1), got \(value)")
        }
        if !(layerNormEpsilon > 0) { try fail("layer_norm_eps", "must be positive, got \(layerNormEpsilon)") }
        if padTokenId < 0 || padTokenId >= vocabularySize { try fail("pad_token_id", "is \(padTokenId), outside the vocabulary 0..<\(vocabularySize)") }
        if maxTokens < 2 { try fail("max_position_embeddings", "(\(positions)) leaves room for \(maxTokens) tokens") }
        if let problemType, !Self.problemTypes.contains(problemType) {
            throw CheckpointError.unsupportedValue(path: path, field: "problem_type", value: problemType, supported: Self.problemTypes)
        }
        if let labels, labels.isEmpty { try fail("id2label", "is empty") }
    }

    /// The config.json object transformers reads (`architectures` names the head).
    public func jsonObject(architecture: String) -> [String: Any] {
        var object: [String: Any] = [
            "model_type": family.rawValue, "architectures": [architecture], "vocab_size": vocabularySize, "hidden_size": hiddenSize,
            "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": intermediateSize, "hidden_act": activation,
            "hidden_dropout_prob": hiddenDropout, "attention_probs_dropout_prob": attentionDropout,
            "max_position_embeddings": positions, "type_vocab_size": typeVocabularySize, "layer_norm_eps": layerNormEpsilon,
            "initializer_range": initializerRange, "pad_token_id": padTokenId, "position_embedding_type": "absolute",
        ]
        object["classifier_dropout"] = classifierDropout.map { $0 as Any } ?? NSNull()
        if let bosTokenId { object["bos_token_id"] = bosTokenId }
        if let eosTokenId { object["eos_token_id"] = eosTokenId }
        if let labels {
            object["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ("\($0)", $1) })
            object["label2id"] = Dictionary(labels.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
        if let problemType { object["problem_type"] = problemType }
        return object
    }

    /// Writes config.json.
    public func save(to url: URL, architecture: String) throws {
        let data = try JSONSerialization.data(withJSONObject: jsonObject(architecture: architecture), options: [.prettyPrinted, .sortedKeys])
        try data.write(to: url, options: .atomic)
    }
}

/// An encoder configuration as code outside the family sees any model's.
public struct EncoderSummary: LanguageModelConfiguration {
    /// The full configuration.
    public let configuration: EncoderConfiguration
    /// Wraps `configuration`.
    public init(_ configuration: EncoderConfiguration) { self.configuration = configuration }
    public var modelType: String { configuration.family.rawValue }
    public var vocabularySize: Int { configuration.vocabularySize }
    public var hiddenSize: Int { configuration.hiddenSize }
    public var positions: Int { configuration.maxTokens }
    public var layers: Int { configuration.layers }
    public var bosTokenId: Int? { configuration.bosTokenId }
    public var eosTokenId: Int? { configuration.eosTokenId }
    public var padTokenId: Int? { configuration.padTokenId }
}
