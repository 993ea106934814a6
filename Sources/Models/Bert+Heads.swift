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
    /// The bias of the output layer (num_labels).
    var outputBias: Tensor { get }
}

extension EncoderClassifier {
    /// Sets the output bias to the labels' prior log-odds (multi-label: log(p / (1 − p)) per label)
    /// or log-frequencies (single-label), from how often each label occurs in `counts` of `total`
    /// texts; a label never seen counts as half a text. A new head then starts at the base rates
    /// instead of spending its first steps learning them (with 28 sigmoids at 0.5, GoEmotions'
    /// first hundreds of steps only learn that most labels are rare).
    public func initializeOutputBias(counts: [Int], total: Int) {
        precondition(counts.count == outputBias.count, "initializeOutputBias: \(counts.count) counts for \(outputBias.count) outputs")
        for (k, count) in counts.enumerated() {
            let p = min(max(Double(count), 0.5) / Double(max(total, 1)), 1 - 1e-4)
            outputBias.data[k] = Float(configuration.isMultiLabel ? Foundation.log(p / (1 - p)) : Foundation.log(p))
        }
    }

    /// Writes an HF checkpoint directory (config.json with id2label and problem_type,
    /// model.safetensors, the tokenizer's files when given).
    public func save(to directory: URL, tokenizer: (any Tokenizer)? = nil) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try configuration.save(to: directory.appendingPathComponent("config.json"), architecture: Self.architecture)
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
        try tokenizer?.save(to: directory)
        if configuration.family == .roberta, tokenizer is ByteLevelBPETokenizer { try markAsRobertaTokenizer(in: directory) }
    }
}

/// Rewrites a byte-level BPE tokenizer's files as RoBERTa's: the `RobertaProcessing`
/// post-processor (<s> A </s>) in tokenizer.json and a `RobertaTokenizer` tokenizer_config.json
/// naming its special tokens, so that transformers adds the markers and pads with <pad>.
func markAsRobertaTokenizer(in directory: URL) throws {
    let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
    guard var object = (try? JSONSerialization.jsonObject(with: Data(contentsOf: tokenizerURL))) as? [String: Any] else {
        throw CheckpointError.invalidFile(path: tokenizerURL.path, problem: "cannot read the tokenizer just written")
    }
    var ids: [String: Int] = [:]
    for entry in object["added_tokens"] as? [[String: Any]] ?? [] {
        if let content = entry["content"] as? String, let id = entry["id"] as? Int { ids[content] = id }
    }
    guard let begin = ids["<s>"], let end = ids["</s>"] else {
        throw CheckpointError.missingSpecialTokens(path: tokenizerURL.path, tokens: ["<s>", "</s>"], family: EncoderConfiguration.Family.roberta.rawValue)
    }
    object["post_processor"] = ["type": "RobertaProcessing", "sep": ["</s>", end], "cls": ["<s>", begin],
                                "trim_offsets": true, "add_prefix_space": false] as [String: Any]
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]).write(to: tokenizerURL, options: .atomic)
    var config: [String: Any] = ["tokenizer_class": "RobertaTokenizer", "add_prefix_space": false, "clean_up_tokenization_spaces": false]
    for (key, token) in [("bos_token", "<s>"), ("cls_token", "<s>"), ("eos_token", "</s>"), ("sep_token", "</s>"),
                         ("pad_token", "<pad>"), ("unk_token", "<unk>"), ("mask_token", "<mask>")] where ids[token] != nil {
        config[key] = token
    }
    try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        .write(to: directory.appendingPathComponent("tokenizer_config.json"), options: .atomic)
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
    public var outputBias: Tensor { classifier.bias! }

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
    public var outputBias: Tensor { classifier.out_proj.bias! }

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
        throw CheckpointError.notAClassifier(path: directory.appendingPathComponent("config.json").path)
    }
    try checkWeights(directory.appendingPathComponent("model.safetensors"), holdMostOf: configuration.parameterCount)
    let model = makeEncoderClassifier(configuration)
    try loadEncoderParameters(model, family: configuration.family, from: directory.appendingPathComponent("model.safetensors"), allowMissing: { _ in false })
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
    try checkWeights(directory.appendingPathComponent("model.safetensors"), holdMostOf: configuration.parameterCount)
    let model = makeEncoderClassifier(configuration, seed: seed)
    try loadEncoderParameters(model, family: configuration.family, from: directory.appendingPathComponent("model.safetensors"), skipHead: true,
                              allowMissing: { $0.hasPrefix("classifier.") || $0.contains(".pooler.") })
    model.setTraining(true)
    return model
}

/// Fills `module` (a classifier, or a bare `BertModel`) from a safetensors file by name. A name is
/// found as written, with or without the `bert.`/`roberta.` prefix, and with old checkpoints'
/// `LayerNorm.gamma`/`beta` for `weight`/`bias` (as transformers renames them). Missing tensors are
/// an error unless `allowMissing` accepts them; tensors that match nothing are an error unless
/// ignorable: buffers, MLM heads, a pooler the module does not have, or a head with `skipHead`.
func loadEncoderParameters(_ module: Module, family: EncoderConfiguration.Family, from url: URL, skipHead: Bool = false,
                           allowMissing: (String) -> Bool) throws {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw CheckpointError.missingFile(path: url.path, needed: "a checkpoint directory needs model.safetensors; pickle .bin files are never loaded")
    }
    let file = try SafeTensorsFile(contentsOf: url)
    let available = Set(file.names)
    let prefix = family == .roberta ? "roberta." : "bert."
    var used = Set<String>()
    let report = try module.loadSafeTensors(from: file, strict: false) { name in
        if skipHead && name.hasPrefix("classifier.") { return "\u{0}skip" }
        var candidates = [name, name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : prefix + name]
        for candidate in candidates where candidate.hasSuffix("LayerNorm.weight") || candidate.hasSuffix("LayerNorm.bias") {
            candidates.append(candidate.hasSuffix(".weight") ? String(candidate.dropLast(6)) + "gamma" : String(candidate.dropLast(4)) + "beta")
        }
        let found = candidates.first { available.contains($0) } ?? name
        used.insert(found)
        return found
    }
    let missing = report.missing.filter { !(skipHead && $0.hasPrefix("classifier.")) && !allowMissing($0) }
    if let first = missing.first {
        throw CheckpointError.missingTensor(path: url.path, name: first, others: missing.count - 1, encoderFamily: family.rawValue)
    }
    let hasPooler = module.namedParameters().contains { $0.name.contains("pooler.") }
    let unexpected = file.names.filter { name in
        !used.contains(name) && !isIgnorableEncoderTensor(name) && !(!hasPooler && name.contains("pooler."))
            && !(skipHead && (name.hasPrefix("classifier.") || name.hasPrefix("score.")))
    }
    if let first = unexpected.first {
        throw CheckpointError.unexpectedTensor(path: url.path, name: first, others: unexpected.count - 1)
    }
}
