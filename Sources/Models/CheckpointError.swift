// Why a checkpoint directory or one of its files cannot be used: the file, and the field, tensor
// or tokenizer at fault.

import Foundation

/// A checkpoint directory or file that cannot be used. Every case names the file (`path`; "config"
/// for a model made from settings rather than read) and says what was found and what was expected.
public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file the checkpoint needs is absent; `needed` says what needs it ("a checkpoint directory
    /// needs config.json").
    case missingFile(path: String, needed: String)
    /// A file that is there but cannot be read or does not hold what it should (not JSON, not a
    /// JSON object, the wrong structure); `problem` says what was expected.
    case invalidFile(path: String, problem: String)
    /// A config field holds a value the model cannot use; `problem` continues "field 'NAME' …"
    /// ("must be positive, got -1", "is 0; it must be at least 3").
    case invalidField(path: String, field: String, problem: String)
    /// A config field holds a value outside a closed list.
    case unsupportedValue(path: String, field: String, value: String, supported: [String])
    /// A required config field is absent.
    case missingField(path: String, field: String)
    /// The size fields together ask for more parameters than are accepted (checked before
    /// anything is allocated).
    case tooManyParameters(path: String, fields: [String], parameters: Int, maximum: Int)
    /// `model_type` names no supported family (`modelType` nil: the field is absent).
    case unsupportedModelType(path: String, modelType: String?, supported: [String])
    /// config.json has no `model_type` and none of its `architectures` is known.
    case unknownArchitectures(path: String, architectures: [String], supported: [String])
    /// A new, randomly initialized model of `modelType` cannot be made (path "config");
    /// `creatable` lists the model types that can.
    case cannotCreate(modelType: String, creatable: [String])
    /// An encoder config without labels (`id2label` or `num_labels`) where a classifier was expected.
    case notAClassifier(path: String)
    /// The weights file lacks a tensor the model has, and `others` more; `encoderFamily` (when
    /// loading an encoder) is named in the hint.
    case missingTensor(path: String, name: String, others: Int, encoderFamily: String?)
    /// The weights file holds a tensor the model does not have, and `others` more.
    case unexpectedTensor(path: String, name: String, others: Int)
    /// config.json asks for about `parameters` weights but the file holds only `held` values, so
    /// the config does not describe these weights (checked before the model is built).
    case weightsMismatch(path: String, parameters: Int, held: Int)
    /// The tokenizer lacks the special tokens that open and close an encoder's input.
    case missingSpecialTokens(path: String, tokens: [String], family: String)
    /// The tokenizer can produce ids up to `idLimit − 1`, beyond the model's `vocab_size`.
    case vocabularyMismatch(path: String, idLimit: Int, vocabularySize: Int)
    /// A classifier's longest input is outside 3...`limit` (the model's positions).
    case invalidMaxLength(path: String, length: Int, limit: Int)
    /// The checkpoint's family (`modelTypes`) has no model of the `kind` asked for (a causal LM
    /// from an encoder, say); `families` are the model types that have one.
    case missingKind(path: String, modelTypes: [String], kind: String, families: [String])

    /// The file at fault ("config" for a model made from settings).
    public var path: String {
        switch self {
        case let .missingFile(path, _), let .invalidFile(path, _), let .invalidField(path, _, _), let .unsupportedValue(path, _, _, _),
             let .missingField(path, _), let .tooManyParameters(path, _, _, _), let .unsupportedModelType(path, _, _),
             let .unknownArchitectures(path, _, _), let .notAClassifier(path), let .missingTensor(path, _, _, _),
             let .unexpectedTensor(path, _, _), let .weightsMismatch(path, _, _), let .missingSpecialTokens(path, _, _),
             let .vocabularyMismatch(path, _, _), let .invalidMaxLength(path, _, _), let .missingKind(path, _, _, _):
            return path
        case .cannotCreate:
            return "config"
        }
    }

    /// What is wrong and what was expected, without the file.
    public var message: String {
        /// " and N more", or nothing.
        func more(_ others: Int) -> String { others > 0 ? " and \(others) more" : "" }
        switch self {
        case let .missingFile(_, needed):
            return "no such file (\(needed))"
        case let .invalidFile(_, problem):
            return problem
        case let .invalidField(_, field, problem):
            return "field '\(field)' \(problem)"
        case let .unsupportedValue(_, field, value, supported):
            return "field '\(field)' is '\(value)'; supported: \(supported.joined(separator: ", "))"
        case let .missingField(_, field):
            return "missing field '\(field)'"
        case let .tooManyParameters(_, fields, parameters, maximum):
            return "fields \(fields.map { "'\($0)'" }.joined(separator: ", ")) ask for \(parameters) parameters; at most \(maximum) are accepted"
        case let .unsupportedModelType(_, modelType, supported):
            return "field 'model_type' is \(modelType.map { "'\($0)'" } ?? "missing"); supported model types: \(supported.joined(separator: ", "))"
        case let .unknownArchitectures(_, architectures, supported):
            return "no field 'model_type' and no known 'architectures' (\(architectures.joined(separator: ", "))); supported model types: \(supported.joined(separator: ", "))"
        case let .cannotCreate(modelType, creatable):
            return "field 'model_type' is '\(modelType)'; a new model can be one of: \(creatable.joined(separator: ", "))"
        case .notAClassifier:
            return "no 'id2label' or 'num_labels': this is a bare encoder, not a classifier (train one with rlhf classifier train)"
        case let .missingTensor(_, name, others, family):
            return "missing tensor '\(name)'\(more(others))\(family.map { " (is this checkpoint a \($0) encoder?)" } ?? "")"
        case let .unexpectedTensor(_, name, others):
            return "unexpected tensor '\(name)'\(more(others)) (is this checkpoint for another architecture?)"
        case let .weightsMismatch(_, parameters, held):
            return "config.json asks for about \(parameters) weights but the file holds \(held) values; the config does not describe these weights"
        case let .missingSpecialTokens(_, tokens, family):
            return "the tokenizer has no \(tokens.joined(separator: " and ")) special tokens, which a \(family) encoder needs"
        case let .vocabularyMismatch(_, idLimit, vocabularySize):
            return "the tokenizer can produce ids up to \(idLimit - 1) but config.json's 'vocab_size' is \(vocabularySize): they do not belong together"
        case let .invalidMaxLength(_, length, limit):
            return "max length \(length) must be in 3...\(limit) (the model's positions)"
        case let .missingKind(_, modelTypes, kind, families):
            return "model_type '\(modelTypes.joined(separator: "/"))' has no \(kind); families that have one: \(families.joined(separator: ", "))"
        }
    }

    /// "<file>: <what is wrong>".
    public var description: String { "\(path): \(message)" }
}

extension CheckpointError {
    /// A `DecodingError` from reading the JSON file at `path`, naming the field: a wrong type, a
    /// null, a missing field, or text that is not JSON.
    init(_ error: DecodingError, path: String) {
        func name(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case let .typeMismatch(type, context):
            self = .invalidField(path: path, field: name(context.codingPath), problem: "has the wrong type: expected \(type)")
        case let .valueNotFound(type, context):
            self = .invalidField(path: path, field: name(context.codingPath), problem: "is null: expected \(type)")
        case let .keyNotFound(key, context):
            self = .missingField(path: path, field: name(context.codingPath + [key]))
        case let .dataCorrupted(context):
            self = .invalidFile(path: path, problem: "invalid JSON\(context.codingPath.isEmpty ? "" : " at '\(name(context.codingPath))'"): \(context.debugDescription)")
        @unknown default:
            self = .invalidFile(path: path, problem: "\(error)")
        }
    }
}
