// Sequence-classification heads on the encoders, with Hugging Face's names and checkpoint layout:
// BertForSequenceClassification (pooler → dropout → `classifier`) and RobertaForSequenceClassification
// (first token → dropout → `classifier.dense` → tanh → dropout → `classifier.out_proj`); loading a
// classifier, or a bare encoder (e.g. sentence-transformers' MiniLM) to put a new head on.

import Foundation
import Kernels
import NN
import Tensors
import Tokenizers

/// A BERT-family sequence classifier: logits (B, num_labels) of a batch.
public protocol EncoderClassifier: Module {
    /// The hyper-parameters (labels and problem type included).
    var configuration: EncoderConfiguration { get }
    /// Where dropout masks come from.
    var source: RandomSource { get }
    /// The trunk.
    var encoderModel: BertModel { get }
    /// The HF class name written in config.json's `architectures`.
    static var architecture: String { get }
    /// Logits (B, num_labels).
    func callAsFunction(_ input: EncoderInput) -> Tensor
}

extension EncoderClassifier {
    /// The label count.
    public var labelCount: Int { configuration.labels?.count ?? 0 }

    /// Writes an HF checkpoint directory (config.json with id2label and problem_type,
    /// model.safetensors, the tokenizer's files when given).
    public func save(to directory: URL, tokenizer: (any Tokenizer)? = nil) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try configuration.save(to: directory.appendingPathComponent("config.json"), architecture: Self.architecture)
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
        try tokenizer?.save(to: directory)
    }
}

/// HF `BertForSequenceClassification`: `bert.*` (with pooler) and `classifier` (num_labels, C).
public final class BertForSequenceClassification: EncoderClassifier {
    public var bert: BertModel
    public var dropout: Dropout
    public var classifier: Linear
    public let source: RandomSource
    public static let architecture = "BertForSequenceClassification"

    /// A new classifier; `configuration.labels` must be set.
    public init(_ configuration: EncoderConfiguration, seed: UInt64 = 0) {
        precondition((configuration.labels?.count ?? 0) > 0, "BertForSequenceClassification needs labels")
        var generator = RandomGenerator(seed: seed)
        source = RandomSource(seed: seed ^ 0x5EED)
        bert = BertModel(configuration, pooler: true, generator: &generator, source: source)
        dropout = Dropout(probability: configuration.classifierDropout ?? configuration.hiddenDropout, source: source)
        classifier = Linear(inputs: configuration.hiddenSize, outputs: configuration.labels!.count,
                            standardDeviation: configuration.initializerRange, generator: &generator)
    }

    public var configuration: EncoderConfiguration { bert.configuration }
    public var encoderModel: BertModel { bert }

    public func callAsFunction(_ input: EncoderInput) -> Tensor {
        classifier(dropout(bert.pooler!(bert(input))))
    }
}

/// RoBERTa's head (`classifier`): dense (C, C), tanh, out_proj (num_labels, C), dropout before each.
public final class RobertaClassificationHead: Module {
    public var dense: Linear
    public var dropout: Dropout
    public var out_proj: Linear

    init(_ configuration: EncoderConfiguration, generator: inout RandomGenerator, source: RandomSource) {
        let C = configuration.hiddenSize
        dense = Linear(inputs: C, outputs: C, standardDeviation: configuration.initializerRange, generator: &generator)
        dropout = Dropout(probability: configuration.classifierDropout ?? configuration.hiddenDropout, source: source)
        out_proj = Linear(inputs: C, outputs: configuration.labels!.count, standardDeviation: configuration.initializerRange, generator: &generator)
    }

    /// hidden (B, T, C) → logits (B, num_labels), read at the first token (<s>).
    public func callAsFunction(_ hidden: Tensor) -> Tensor {
        out_proj(dropout(dense(dropout(firstToken(hidden))).tanh()))
    }
}

/// HF `RobertaForSequenceClassification`: `roberta.*` (no pooler) and `classifier.*`.
public final class RobertaForSequenceClassification: EncoderClassifier {
    public var roberta: BertModel
    public var classifier: RobertaClassificationHead
    public let source: RandomSource
    public static let architecture = "RobertaForSequenceClassification"

    /// A new classifier; `configuration.labels` must be set.
    public init(_ configuration: EncoderConfiguration, seed: UInt64 = 0) {
        precondition((configuration.labels?.count ?? 0) > 0, "RobertaForSequenceClassification needs labels")
        var generator = RandomGenerator(seed: seed)
        source = RandomSource(seed: seed ^ 0x5EED)
        roberta = BertModel(configuration, pooler: false, generator: &generator, source: source)
        classifier = RobertaClassificationHead(configuration, generator: &generator, source: source)
    }

    public var configuration: EncoderConfiguration { roberta.configuration }
    public var encoderModel: BertModel { roberta }

    public func callAsFunction(_ input: EncoderInput) -> Tensor { classifier(roberta(input)) }
}

/// Builds the classifier class for `configuration.family`.
public func makeEncoderClassifier(_ configuration: EncoderConfiguration, seed: UInt64 = 0) -> any EncoderClassifier {
    configuration.family == .roberta ? RobertaForSequenceClassification(configuration, seed: seed) : BertForSequenceClassification(configuration, seed: seed)
}

/// Buffers and heads an encoder checkpoint may carry that a classifier does not use.
func isIgnorableEncoderTensor(_ name: String) -> Bool {
    name.hasSuffix("embeddings.position_ids") || name.hasSuffix("embeddings.token_type_ids")
        || name.hasPrefix("cls.") || name.hasPrefix("lm_head.")
}

/// Loads an encoder classifier checkpoint (config.json with labels + model.safetensors), in
/// evaluation mode.
public func loadEncoderClassifier(from directory: URL) throws -> any EncoderClassifier {
    let configuration = try EncoderConfiguration.load(from: directory.appendingPathComponent("config.json"))
    guard configuration.labels != nil else {
        throw CheckpointError(path: directory.appendingPathComponent("config.json").path,
                              message: "no 'id2label' or 'num_labels': this is a bare encoder, not a classifier (train one with rlhf classifier train)")
    }
    let model = makeEncoderClassifier(configuration)
    try loadEncoderParameters(model, from: directory.appendingPathComponent("model.safetensors"), allowMissing: { _ in false })
    model.setTraining(false)
    return model
}

/// A classifier for `labels` on the encoder stored at `directory`: a bare encoder (BertModel /
/// RobertaModel names, with or without the `bert.`/`roberta.` prefix) or another classifier,
/// whose head is replaced by a new one (as `from_pretrained(num_labels=…)` does). A pooler the
/// checkpoint lacks starts fresh too. The result is in training mode.
public func makeEncoderClassifier(fromEncoder directory: URL, labels: [String], problemType: String?, seed: UInt64) throws -> any EncoderClassifier {
    var configuration = try EncoderConfiguration.load(from: directory.appendingPathComponent("config.json"))
    configuration.labels = labels
    configuration.problemType = problemType
    let model = makeEncoderClassifier(configuration, seed: seed)
    try loadEncoderParameters(model, from: directory.appendingPathComponent("model.safetensors"), skipHead: true,
                              allowMissing: { $0.hasPrefix("classifier.") || $0.contains(".pooler.") })
    model.setTraining(true)
    return model
}

/// Fills `model` from a safetensors file by name; the trunk's names are found with or without
/// their `bert.`/`roberta.` prefix. Missing tensors are an error unless `allowMissing` accepts
/// them; tensors that match nothing are an error unless ignorable (or a head, with `skipHead`).
func loadEncoderParameters(_ model: any EncoderClassifier, from url: URL, skipHead: Bool = false,
                           allowMissing: (String) -> Bool) throws {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw CheckpointError(path: url.path, message: "no such file (a checkpoint directory needs model.safetensors; pickle .bin files are never loaded)")
    }
    let file = try SafeTensorsFile(contentsOf: url)
    let available = Set(file.names)
    let prefix = model.configuration.family == .roberta ? "roberta." : "bert."
    var used = Set<String>()
    let report = try model.loadSafeTensors(from: file, strict: false) { name in
        if skipHead && name.hasPrefix("classifier.") { return "\u{0}skip" }
        let candidates = [name] + (name.hasPrefix(prefix) ? [String(name.dropFirst(prefix.count))] : [])
        let found = candidates.first { available.contains($0) } ?? name
        used.insert(found)
        return found
    }
    let missing = report.missing.filter { !(skipHead && $0.hasPrefix("classifier.")) && !allowMissing($0) }
    if let first = missing.first {
        throw CheckpointError(path: url.path, message: "missing tensor '\(first)'\(missing.count > 1 ? " and \(missing.count - 1) more" : "") (is this checkpoint a \(model.configuration.family.rawValue) encoder?)")
    }
    let unexpected = file.names.filter { name in
        !used.contains(name) && !isIgnorableEncoderTensor(name) && !(skipHead && (name.hasPrefix("classifier.") || name.hasPrefix("score.")))
    }
    if let first = unexpected.first {
        throw CheckpointError(path: url.path, message: "unexpected tensor '\(first)'\(unexpected.count > 1 ? " and \(unexpected.count - 1) more" : "") (is this checkpoint for another architecture?)")
    }
}
