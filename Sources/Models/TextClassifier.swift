// Encoders put to use on text: a classifier with its tokenizer (special tokens, truncation,
// batching, label probabilities), and a sentence-transformers encoder (pooling and normalization
// as its modules.json says).

import Foundation
import NN
import Tensors
import Tokenizers

/// The ids that open and close an encoder's input: [CLS]/[SEP] (BERT) or <s>/</s> (RoBERTa).
func sequenceMarkers(_ tokenizer: any Tokenizer, _ configuration: EncoderConfiguration, path: String) throws -> (begin: Int, end: Int) {
    let names = configuration.family == .roberta ? ("<s>", "</s>") : ("[CLS]", "[SEP]")
    let begin = tokenizer.specialTokens[names.0] ?? (configuration.family == .roberta ? configuration.bosTokenId : nil)
    let end = tokenizer.specialTokens[names.1] ?? (configuration.family == .roberta ? configuration.eosTokenId : nil)
    guard let begin, let end else {
        throw CheckpointError.missingSpecialTokens(path: path, tokens: [names.0, names.1], family: configuration.family.rawValue)
    }
    guard tokenizer.vocabularySize <= configuration.vocabularySize else {
        throw CheckpointError.vocabularyMismatch(path: path, idLimit: tokenizer.vocabularySize, vocabularySize: configuration.vocabularySize)
    }
    return (begin, end)
}

/// `text`'s ids between the markers, the text's own ids cut to `maxLength − 2` (keeping the
/// beginning, as HF's `truncation=True`).
func markedIds(_ text: String, tokenizer: any Tokenizer, markers: (begin: Int, end: Int), maxLength: Int) throws -> [Int] {
    [markers.begin] + (try tokenizer.encodeChecked(text)).prefix(max(maxLength - 2, 0)) + [markers.end]
}

/// A sequence classifier and its tokenizer: texts in, label probabilities out.
public final class TextClassifier: @unchecked Sendable {
    /// The model.
    public let model: any EncoderClassifier
    /// Its tokenizer (ids without special tokens; the markers are added here).
    public let tokenizer: any Tokenizer
    /// Longest input in tokens, markers included; longer texts keep their beginning (HF's
    /// `truncation=True`).
    public var maxLength: Int
    /// The opening and closing marker ids.
    public let markers: (begin: Int, end: Int)

    /// Wraps a model and tokenizer; `maxLength` defaults to what the position table allows (at most 512).
    public init(model: any EncoderClassifier, tokenizer: any Tokenizer, maxLength: Int? = nil, path: String = "classifier") throws {
        self.model = model
        self.tokenizer = tokenizer
        markers = try sequenceMarkers(tokenizer, model.configuration, path: path)
        let limit = model.configuration.maxTokens
        let length = maxLength ?? min(limit, 512)
        guard length >= 3, length <= limit else {
            throw CheckpointError.invalidMaxLength(path: path, length: length, limit: limit)
        }
        self.maxLength = length
    }

    /// Loads a classifier checkpoint directory (config.json, model.safetensors, tokenizer files).
    public static func load(from directory: URL, maxLength: Int? = nil) throws -> TextClassifier {
        let model = try ModelLoader.encoderClassifier(from: directory)
        return try TextClassifier(model: model, tokenizer: try loadTokenizer(from: directory), maxLength: maxLength, path: directory.path)
    }

    /// The label names in output order.
    public var labels: [String] { model.configuration.labels ?? [] }

    /// The index of label `name` (or of a number written as text), nil if there is none.
    public func labelIndex(_ name: String) -> Int? {
        labels.firstIndex(of: name) ?? Int(name).flatMap { labels.indices.contains($0) ? $0 : nil }
    }

    /// The ids of `text` with its markers, truncated to `maxLength`.
    public func encode(_ text: String) throws -> [Int] {
        try markedIds(text, tokenizer: tokenizer, markers: markers, maxLength: maxLength)
    }

    /// A padded batch of already-encoded sequences.
    public func input(_ sequences: [[Int]]) -> EncoderInput {
        EncoderInput(sequences: sequences, padding: model.configuration.padTokenId)
    }

    /// The logits of each sequence (ids with their markers), computed in evaluation mode without
    /// gradients, in batches of similar lengths; rows in input order.
    public func logits(_ sequences: [[Int]], batchSize: Int = 32) -> [[Float]] {
        let order = sequences.indices.sorted { sequences[$0].count < sequences[$1].count }
        var result = [[Float]](repeating: [], count: sequences.count)
        let K = labels.count, size = max(batchSize, 1)
        model.evaluating {
            for start in stride(from: 0, to: order.count, by: size) {
                let rows = Array(order[start..<min(start + size, order.count)])
                let values = withNoGrad { model(input(rows.map { sequences[$0] })) }.scalars
                for (row, index) in rows.enumerated() { result[index] = Array(values[(row * K)..<((row + 1) * K)]) }
            }
        }
        return result
    }

    /// Whether outputs are read as independent sigmoids: a multi-label head, or a single output
    /// (a softmax over one label would always be 1).
    public var usesSigmoid: Bool { model.configuration.isMultiLabel || labels.count == 1 }

    /// Probabilities from logit rows: one sigmoid per label (see `usesSigmoid`) or a softmax.
    public func probabilities(logits rows: [[Float]]) -> [[Float]] {
        let K = labels.count
        guard !rows.isEmpty else { return [] }
        let logits = Tensor(shape: [rows.count, K], values: rows.flatMap { $0 })
        let values = withNoGrad { usesSigmoid ? logits.sigmoid() : logits.softmax() }.scalars
        return (0..<rows.count).map { Array(values[($0 * K)..<(($0 + 1) * K)]) }
    }

    /// The probability of each label for each text: softmax over the labels, or one sigmoid per
    /// label for a multi-label (or one-output) classifier.
    public func probabilities(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
        probabilities(logits: logits(try texts.map(encode), batchSize: batchSize))
    }
}

/// A sentence-transformers model: a BERT encoder, pooling (mean, CLS or max over the real
/// tokens) and optional L2 normalization, as its modules.json lists them.
public final class SentenceEncoder: @unchecked Sendable {
    /// How token states become one vector.
    public enum Pooling: String, Sendable { case mean, cls, max }
    /// The encoder.
    public let model: BertModel
    /// Its tokenizer.
    public let tokenizer: any Tokenizer
    /// The pooling.
    public let pooling: Pooling
    /// Whether embeddings are scaled to unit length (a Normalize module).
    public let normalize: Bool
    /// Longest input in tokens (`max_seq_length`), markers included.
    public let maxLength: Int
    private let markers: (begin: Int, end: Int)

    /// Loads a sentence-transformers folder: modules.json (Transformer at the root, Pooling,
    /// optionally Normalize), 1_Pooling/config.json, sentence_bert_config.json, and the encoder's
    /// config.json, model.safetensors and tokenizer.
    public init(directory: URL) throws {
        let modulesURL = directory.appendingPathComponent("modules.json")
        var pooling = Pooling.mean, normalize = false
        var maxLength: Int?
        if let data = FileManager.default.contents(atPath: modulesURL.path) {
            guard let modules = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
                throw CheckpointError.invalidFile(path: modulesURL.path, problem: "expected a JSON array of {\"path\", \"type\"} objects")
            }
            for (index, module) in modules.enumerated() {
                let type = module["type"] as? String ?? ""
                let path = module["path"] as? String ?? ""
                switch type.split(separator: ".").last.map(String.init) ?? "" {
                case "Transformer":
                    guard path.isEmpty else { throw CheckpointError.invalidFile(path: modulesURL.path, problem: "module \(index): the Transformer must be at the root, found path '\(path)'") }
                case "Pooling":
                    let configURL = directory.appendingPathComponent(path).appendingPathComponent("config.json")
                    guard let data = FileManager.default.contents(atPath: configURL.path),
                          let config = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                        throw CheckpointError.invalidFile(path: configURL.path, problem: "the Pooling module's config.json is missing or not a JSON object")
                    }
                    let modes = ["pooling_mode_mean_tokens": Pooling.mean, "pooling_mode_cls_token": .cls, "pooling_mode_max_tokens": .max]
                    let chosen = modes.filter { config[$0.key] as? Bool == true }
                    guard chosen.count == 1, let mode = chosen.first else {
                        throw CheckpointError.invalidFile(path: configURL.path, problem: "expected exactly one of \(modes.keys.sorted().joined(separator: ", ")) to be true")
                    }
                    pooling = mode.value
                case "Normalize":
                    normalize = true
                default:
                    throw CheckpointError.invalidFile(path: modulesURL.path, problem: "module \(index) has type '\(type)'; supported: Transformer, Pooling, Normalize")
                }
            }
        }
        let sentenceConfig = directory.appendingPathComponent("sentence_bert_config.json")
        if let data = FileManager.default.contents(atPath: sentenceConfig.path),
           let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            maxLength = object["max_seq_length"] as? Int
        }
        let configuration = try EncoderConfiguration.load(from: directory.appendingPathComponent("config.json"))
        var generator = RandomGenerator(seed: 0)
        let weights = directory.appendingPathComponent("model.safetensors")
        try checkWeights(weights, holdMostOf: configuration.parameterCount)
        let names = try SafeTensorsFile(contentsOf: weights).names
        let hasPooler = names.contains { $0.hasSuffix("pooler.dense.weight") }
        model = BertModel(configuration, pooler: hasPooler, generator: &generator, source: RandomSource(seed: 0))
        try loadEncoderParameters(model, family: configuration.family, from: weights, allowMissing: { _ in false })
        model.setTraining(false)
        tokenizer = try loadTokenizer(from: directory)
        markers = try sequenceMarkers(tokenizer, configuration, path: directory.path)
        self.pooling = pooling
        self.normalize = normalize
        if let maxLength, maxLength < 3 {
            throw CheckpointError.invalidField(path: sentenceConfig.path, field: "max_seq_length", problem: "is \(maxLength); it must be at least 3")
        }
        self.maxLength = min(maxLength ?? configuration.maxTokens, configuration.maxTokens)
    }

    /// The ids of `text` with its markers, truncated to `maxLength`.
    public func encode(_ text: String) throws -> [Int] {
        try markedIds(text, tokenizer: tokenizer, markers: markers, maxLength: maxLength)
    }

    /// One embedding per text.
    public func embed(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
        let sequences = try texts.map(encode)
        var result: [[Float]] = []
        let C = model.configuration.hiddenSize
        for start in stride(from: 0, to: texts.count, by: max(batchSize, 1)) {
            let rows = Array(sequences[start..<min(start + max(batchSize, 1), texts.count)])
            let input = EncoderInput(sequences: rows, padding: model.configuration.padTokenId)
            let pooled: Tensor = withNoGrad {
                let hidden = model(input)
                switch pooling {
                case .mean: return meanPooled(hidden, mask: input.mask)
                case .cls: return firstToken(hidden)
                case .max: return maxPooled(hidden, mask: input.mask)
                }
            }
            for row in 0..<rows.count {
                var vector = Array(pooled.scalars[(row * C)..<((row + 1) * C)])
                if normalize {
                    let norm = max(vector.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                    vector = vector.map { $0 / norm }
                }
                result.append(vector)
            }
        }
        return result
    }
}

/// Max over the real tokens of each row (padding excluded): (B, C), without gradient.
func maxPooled(_ hidden: Tensor, mask: Tensor) -> Tensor {
    let (B, T, C) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
    let out = Tensor(zeros: [B, C])
    for b in 0..<B {
        for c in 0..<C {
            var best = -Float.infinity
            for t in 0..<T where mask.data[b * T + t] != 0 { best = max(best, hidden.data[(b * T + t) * C + c]) }
            out.data[b * C + c] = best == -.infinity ? 0 : best
        }
    }
    return out
}
