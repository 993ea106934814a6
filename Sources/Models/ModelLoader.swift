// Which family a checkpoint directory holds, read from its config.json (`model_type`, then
// `architectures`), and the loaders of each family, by kind: causal LM, decoder classifier,
// encoder classifier, encoder-decoder LM. GPT-2 (a decoder) and BERT/RoBERTa (encoders) are built in; another family
// (or a test's) registers a ``ModelFamily``.

import Foundation
import NN
import Synchronization

/// The size of a new, randomly initialized model (nanoGPT's knobs), whatever its family.
public struct NewModelShape: Sendable, Equatable {
    /// V, positions, C, blocks, attention heads.
    public var vocabularySize: Int, positions: Int, hiddenSize: Int, layers: Int, heads: Int
    /// Dropout everywhere the family has it.
    public var dropout: Float
    /// Beginning-of-sequence, end-of-sequence and padding ids.
    public var bosTokenId: Int?, eosTokenId: Int?, padTokenId: Int?

    /// A shape.
    public init(vocabularySize: Int, positions: Int, hiddenSize: Int, layers: Int, heads: Int, dropout: Float, bosTokenId: Int?, eosTokenId: Int?,
                padTokenId: Int? = nil) {
        (self.vocabularySize, self.positions, self.hiddenSize, self.layers, self.heads) = (vocabularySize, positions, hiddenSize, layers, heads)
        (self.dropout, self.bosTokenId, self.eosTokenId, self.padTokenId) = (dropout, bosTokenId, eosTokenId, padTokenId)
    }
}

/// A model family: the names its config.json carries and how to load its checkpoints.
public struct ModelFamily: Sendable {
    /// `model_type` values of the family ("gpt2").
    public var modelTypes: [String]
    /// `architectures` names of the family ("GPT2LMHeadModel", "GPT2ForSequenceClassification", …).
    public var architectures: [String]
    /// Reads and validates a checkpoint directory's config.json.
    public var loadConfiguration: @Sendable (URL) throws -> any LanguageModelConfiguration
    /// Loads a causal LM checkpoint directory, in evaluation mode; nil for an encoder-only family.
    public var loadLanguageModel: (@Sendable (URL) throws -> any CausalLanguageModel)?
    /// Loads an encoder-decoder LM checkpoint directory (`T5ForConditionalGeneration`), in
    /// evaluation mode; nil for a family without one.
    public var loadEncoderDecoderModel: (@Sendable (URL) throws -> any EncoderDecoderLanguageModel)?
    /// Loads a sequence-classifier checkpoint directory (a decoder trunk and a score head), in
    /// evaluation mode; nil when the family's classifiers are encoders.
    public var loadClassifier: (@Sendable (URL) throws -> SequenceClassifier)?
    /// Loads an encoder classifier checkpoint directory (`BertForSequenceClassification` layout),
    /// in evaluation mode; nil for decoder families.
    public var loadEncoderClassifier: (@Sendable (URL) throws -> any EncoderClassifier)?
    /// A new, randomly initialized causal LM of a shape (seeded), validated; nil when the family
    /// cannot start from scratch.
    public var newLanguageModel: (@Sendable (NewModelShape, UInt64) throws -> any CausalLanguageModel)?
    /// A new, randomly initialized encoder-decoder of a shape (seeded), validated; nil otherwise.
    public var newEncoderDecoderModel: (@Sendable (NewModelShape, UInt64) throws -> any EncoderDecoderLanguageModel)?
    /// Special tokens a tokenizer trained for a new model of the family must have, in id order
    /// (T5: `<pad>`, `</s>`, `<unk>`, `<extra_id_0>` … `<extra_id_99>`); empty: the trainer's default.
    public var newModelSpecialTokens: [String]
    /// Whether the family's sequence classifiers read their score at a closing end-of-sequence
    /// token the text must end with (T5's `</s>`, which its tokenizer appends); false: at the
    /// text's last token (decoders).
    public var classifierReadsEndOfSequence: Bool

    /// A family.
    public init(modelTypes: [String], architectures: [String], loadConfiguration: @escaping @Sendable (URL) throws -> any LanguageModelConfiguration,
                loadLanguageModel: (@Sendable (URL) throws -> any CausalLanguageModel)? = nil,
                loadClassifier: (@Sendable (URL) throws -> SequenceClassifier)? = nil,
                loadEncoderClassifier: (@Sendable (URL) throws -> any EncoderClassifier)? = nil,
                newLanguageModel: (@Sendable (NewModelShape, UInt64) throws -> any CausalLanguageModel)? = nil,
                loadEncoderDecoderModel: (@Sendable (URL) throws -> any EncoderDecoderLanguageModel)? = nil,
                newEncoderDecoderModel: (@Sendable (NewModelShape, UInt64) throws -> any EncoderDecoderLanguageModel)? = nil,
                newModelSpecialTokens: [String] = [], classifierReadsEndOfSequence: Bool = false) {
        self.modelTypes = modelTypes
        self.architectures = architectures
        self.loadConfiguration = loadConfiguration
        self.loadLanguageModel = loadLanguageModel
        self.loadClassifier = loadClassifier
        self.loadEncoderClassifier = loadEncoderClassifier
        self.newLanguageModel = newLanguageModel
        self.loadEncoderDecoderModel = loadEncoderDecoderModel
        self.newEncoderDecoderModel = newEncoderDecoderModel
        self.newModelSpecialTokens = newModelSpecialTokens
        self.classifierReadsEndOfSequence = classifierReadsEndOfSequence
    }

    /// BERT and RoBERTa encoders (HF `BertModel`/`RobertaModel`, `*ForSequenceClassification`):
    /// classifiers only (sentence-transformers' MiniLM, emotion classifiers).
    public static let bertEncoders = ModelFamily(
        modelTypes: ["bert", "roberta"],
        architectures: ["BertModel", "BertForSequenceClassification", "RobertaModel", "RobertaForSequenceClassification"],
        loadConfiguration: { EncoderSummary(try EncoderConfiguration.load(from: $0.appendingPathComponent("config.json"))) },
        loadEncoderClassifier: { try Models.loadEncoderClassifier(from: $0) })

    /// GPT-2 (HF `GPT2LMHeadModel`, `GPT2ForSequenceClassification`, TRL's value-head checkpoints).
    public static let gpt2 = ModelFamily(
        modelTypes: ["gpt2"], architectures: ["GPT2LMHeadModel", "GPT2Model", "GPT2ForSequenceClassification", "AutoModelForCausalLMWithValueHead"],
        loadConfiguration: { try GPT2Configuration.load(from: $0.appendingPathComponent("config.json")) },
        loadLanguageModel: { try GPT2LMHeadModel.load(from: $0) }, loadClassifier: { try SequenceClassifier.loadGPT2(from: $0) },
        newLanguageModel: { shape, seed in
            let configuration = GPT2Configuration(
                vocabularySize: shape.vocabularySize, positions: shape.positions, embeddingDimension: shape.hiddenSize, layers: shape.layers,
                heads: shape.heads, residualDropout: shape.dropout, embeddingDropout: shape.dropout, attentionDropout: shape.dropout,
                bosTokenId: shape.bosTokenId, eosTokenId: shape.eosTokenId)
            try configuration.validate(path: "config")
            return GPT2LMHeadModel(configuration, seed: seed)
        })
}

/// Loads checkpoints of any registered family.
public enum ModelLoader {
    private static let families = Mutex<[ModelFamily]>([.gpt2, .t5, .bertEncoders])

    /// Adds a family; it replaces a registered one that shares a `model_type`.
    public static func register(_ family: ModelFamily) {
        families.withLock { list in
            list.removeAll { !Set($0.modelTypes).isDisjoint(with: family.modelTypes) }
            list.insert(family, at: 0)
        }
    }

    /// The `model_type` values of the registered families.
    public static var supportedModelTypes: [String] { families.withLock { $0.flatMap(\.modelTypes) } }

    /// The family of the checkpoint in `directory`, from config.json's `model_type` (or, without
    /// one, its `architectures`).
    /// - Throws: ``CheckpointError`` naming config.json and the supported families.
    public static func family(of directory: URL) throws -> ModelFamily {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CheckpointError.missingFile(path: url.path, needed: "a checkpoint directory needs config.json")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CheckpointError.invalidFile(path: url.path, problem: "not a JSON object")
        }
        let registered = families.withLock { $0 }
        if let type = object["model_type"] {
            guard let name = type as? String else { throw CheckpointError.invalidField(path: url.path, field: "model_type", problem: "must be a string") }
            guard let family = registered.first(where: { $0.modelTypes.contains(name) }) else {
                throw CheckpointError.unsupportedModelType(path: url.path, modelType: name, supported: registered.flatMap(\.modelTypes))
            }
            return family
        }
        let architectures = object["architectures"] as? [String] ?? []
        if let family = registered.first(where: { family in architectures.contains { family.architectures.contains($0) } }) {
            return family
        }
        // Older GPT-2 checkpoints carry neither; their fields are GPT-2's.
        if object["n_embd"] != nil, let gpt2 = registered.first(where: { $0.modelTypes.contains("gpt2") }) { return gpt2 }
        throw CheckpointError.unknownArchitectures(path: url.path, architectures: architectures, supported: registered.flatMap(\.modelTypes))
    }

    /// The configuration of the checkpoint in `directory` (any registered family), validated.
    public static func configuration(of directory: URL) throws -> any LanguageModelConfiguration {
        try family(of: directory).loadConfiguration(directory)
    }

    /// The id a sequence classifier of the checkpoint's family reads its score at, which its
    /// inputs must end with (T5: `eos_token_id`); nil when it reads a text's last token.
    public static func classifierEndOfSequence(of directory: URL) throws -> Int? {
        let family = try family(of: directory)
        return family.classifierReadsEndOfSequence ? try family.loadConfiguration(directory).eosTokenId : nil
    }

    /// A new, randomly initialized causal LM of the family named `modelType`.
    /// - Throws: ``CheckpointError`` (path "config") naming the field and the families that can.
    public static func newLanguageModel(modelType: String, shape: NewModelShape, seed: UInt64) throws -> any CausalLanguageModel {
        let registered = families.withLock { $0 }
        guard let family = registered.first(where: { $0.modelTypes.contains(modelType) }), let make = family.newLanguageModel else {
            throw CheckpointError.cannotCreate(modelType: modelType, creatable: registered.filter { $0.newLanguageModel != nil }.flatMap(\.modelTypes))
        }
        return try make(shape, seed)
    }

    /// A new, randomly initialized model of the family named `modelType`: a causal LM, or an
    /// encoder-decoder when the family is one.
    /// - Throws: ``CheckpointError`` (path "config") naming the field and the families that can.
    public static func newModel(modelType: String, shape: NewModelShape, seed: UInt64) throws -> any AutoregressiveModel {
        let registered = families.withLock { $0 }
        if let family = registered.first(where: { $0.modelTypes.contains(modelType) }) {
            if let make = family.newLanguageModel { return try make(shape, seed) }
            if let make = family.newEncoderDecoderModel { return try make(shape, seed) }
        }
        throw CheckpointError.cannotCreate(modelType: modelType, creatable: registered.filter { $0.newLanguageModel != nil || $0.newEncoderDecoderModel != nil }.flatMap(\.modelTypes))
    }

    /// The special tokens a tokenizer trained for a new model of `modelType` needs (empty for an
    /// unknown type or a family without requirements).
    public static func newModelSpecialTokens(modelType: String) -> [String] {
        families.withLock { $0 }.first { $0.modelTypes.contains(modelType) }?.newModelSpecialTokens ?? []
    }

    /// Loads the causal language model in `directory` (any registered family), in evaluation mode.
    /// - Throws: ``CheckpointError`` naming config.json when the family has no causal LM (an encoder).
    public static func languageModel(from directory: URL) throws -> any CausalLanguageModel {
        let family = try family(of: directory)
        guard let load = family.loadLanguageModel else { throw unable(directory, family, "causal language model", \ModelFamily.loadLanguageModel) }
        return try load(directory)
    }

    /// Loads the encoder-decoder language model in `directory` (any registered family), in evaluation mode.
    /// - Throws: ``CheckpointError`` naming config.json when the family has none.
    public static func encoderDecoderModel(from directory: URL) throws -> any EncoderDecoderLanguageModel {
        let family = try family(of: directory)
        guard let load = family.loadEncoderDecoderModel else {
            throw unable(directory, family, "encoder-decoder language model", \ModelFamily.loadEncoderDecoderModel)
        }
        return try load(directory)
    }

    /// Loads the policy in `directory`, whatever its shape: the family's causal LM, else its
    /// encoder-decoder LM, in evaluation mode. What the jobs load a policy with.
    /// - Throws: ``CheckpointError`` naming config.json when the family has neither (an encoder).
    public static func autoregressiveModel(from directory: URL) throws -> any AutoregressiveModel {
        let family = try family(of: directory)
        if let load = family.loadLanguageModel { return try load(directory) }
        if let load = family.loadEncoderDecoderModel { return try load(directory) }
        let able = families.withLock { $0 }.filter { $0.loadLanguageModel != nil || $0.loadEncoderDecoderModel != nil }.flatMap(\.modelTypes)
        throw CheckpointError.missingKind(path: directory.appendingPathComponent("config.json").path, modelTypes: family.modelTypes,
                                          kind: "causal or encoder-decoder language model", families: able)
    }

    /// The trunk a new sequence classifier (a reward model) starts from, with the source its
    /// dropout layers draw from: a causal LM's trunk, or an encoder-decoder's
    /// ``EncoderDecoderLanguageModel/classifierTrunk`` (T5's encoder and decoder), in evaluation mode.
    /// - Throws: ``CheckpointError`` naming config.json when the family has neither.
    public static func classifierTrunk(from directory: URL) throws -> (trunk: any TransformerTrunk, source: RandomSource) {
        let model = try autoregressiveModel(from: directory)
        if let causal = model as? any CausalLanguageModel { return (causal.trunk, causal.source) }
        if let encoderDecoder = model as? any EncoderDecoderLanguageModel, let trunk = encoderDecoder.classifierTrunk { return (trunk, model.source) }
        throw CheckpointError.missingKind(path: directory.appendingPathComponent("config.json").path, modelTypes: try family(of: directory).modelTypes,
                                          kind: "sequence classifier", families: families.withLock { $0 }.filter { $0.loadClassifier != nil }.flatMap(\.modelTypes))
    }

    /// Loads the sequence classifier in `directory` (any registered family: a decoder's or T5's), in evaluation mode.
    /// - Throws: ``CheckpointError`` naming config.json when the family's classifiers are encoders.
    public static func classifier(from directory: URL) throws -> SequenceClassifier {
        let family = try family(of: directory)
        guard let load = family.loadClassifier else { throw unable(directory, family, "decoder sequence classifier", \ModelFamily.loadClassifier) }
        return try load(directory)
    }

    /// Loads the encoder classifier in `directory` (BERT, RoBERTa), in evaluation mode.
    /// - Throws: ``CheckpointError`` naming config.json when the family is a decoder.
    public static func encoderClassifier(from directory: URL) throws -> any EncoderClassifier {
        let family = try family(of: directory)
        guard let load = family.loadEncoderClassifier else { throw unable(directory, family, "encoder classifier", \ModelFamily.loadEncoderClassifier) }
        return try load(directory)
    }

    /// "…/config.json: model_type 'bert/roberta' has no causal language model; families that have one: gpt2".
    private static func unable<Loader>(_ directory: URL, _ family: ModelFamily, _ kind: String, _ loader: KeyPath<ModelFamily, Loader?>) -> CheckpointError {
        let able = families.withLock { $0 }.filter { $0[keyPath: loader] != nil }.flatMap(\.modelTypes)
        return .missingKind(path: directory.appendingPathComponent("config.json").path, modelTypes: family.modelTypes, kind: kind, families: able)
    }
}
