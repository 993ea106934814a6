// A reward model: an HF `*ForSequenceClassification` checkpoint (any registered family), its tokenizer, and
// `reward_model.json` beside it — the reward normalization (gain and bias, as
// openai/lm-human-preferences fits them) and, for a K-class head, the reward of each label.
// Every consumer reads rewards through `rewards(for:)`, so the normalization is always applied.

import Foundation
import Kernels
import NN
import Tensors
import Tokenizers

/// `reward_model.json`: how raw head outputs become rewards.
public struct RewardHead: Codable, Equatable, Sendable {
    /// The file name inside a checkpoint folder.
    public static let fileName = "reward_model.json"

    /// reward = gain · raw + bias.
    public var gain: Float = 1
    /// See `gain`.
    public var bias: Float = 0
    /// For a K-class head: the label names, in head order (nil for a scalar head).
    public var labels: [String]?
    /// For a K-class head: the reward of each label; the raw reward is Σₖ softmax(logits)ₖ · rewardₖ.
    public var labelRewards: [Float]?
    /// Longest input in tokens; longer texts keep their end (where the reward is read).
    public var maxLength: Int
    /// What the normalization was fitted on, for the record (samples, their raw mean and std).
    public var normalizationSamples: Int?
    public var normalizationMean: Float?
    public var normalizationStandardDeviation: Float?

    enum CodingKeys: String, CodingKey {
        case gain, bias, labels, labelRewards = "label_rewards", maxLength = "max_length"
        case normalizationSamples = "normalization_samples", normalizationMean = "normalization_mean"
        case normalizationStandardDeviation = "normalization_std"
    }

    /// A scalar head with gain 1 and bias 0.
    public init(maxLength: Int, labels: [String]? = nil, labelRewards: [Float]? = nil) {
        self.maxLength = maxLength
        self.labels = labels
        self.labelRewards = labelRewards
    }
}

extension SequenceClassifier {
    /// Outputs (B, num_labels) read at position `lengths[b] − 1` of each right-padded row (a
    /// causal trunk needs no attention mask: it never looks at the padding after a row's end; a
    /// trunk with a bidirectional encoder gets one built from `lengths`).
    /// - Parameters:
    ///   - ids: (B, T), right-padded.
    ///   - lengths: real tokens per row, each in 1...T.
    public func outputs(_ ids: IndexTensor, lengths: [Int]) -> Tensor {
        let (B, T) = (ids.shape[0], ids.shape[1])
        require(lengths.count == B && lengths.allSatisfy { (1...T).contains($0) }, "outputs: lengths \(lengths) for ids \(ids.shape)")
        let mask = trunk.readsPaddingAfterRowEnd
            ? Tensor(shape: [B, T], values: lengths.flatMap { length in (0..<T).map { $0 < length ? Float(1) : 0 } }) : nil
        let hidden = trunk.hiddenStates(ids, positions: nil, mask: mask, cache: nil)
        return scores(hidden: hidden, at: lengths.map { $0 - 1 })
    }
}

/// A trained reward model with its tokenizer and head description.
public final class RewardModel {
    /// The network.
    public let classifier: SequenceClassifier
    /// Its tokenizer.
    public let tokenizer: any Tokenizer
    /// Gain, bias, label rewards, max length.
    public var head: RewardHead

    /// Wraps a classifier.
    public init(classifier: SequenceClassifier, tokenizer: any Tokenizer, head: RewardHead) {
        self.classifier = classifier
        self.tokenizer = tokenizer
        self.head = head
    }

    /// Loads a reward-model checkpoint: the classifier, the tokenizer files, and reward_model.json
    /// (absent: a scalar head with gain 1, bias 0, max length n_positions — a plain HF
    /// `*ForSequenceClassification` checkpoint).
    public static func load(from directory: URL) throws -> RewardModel {
        let classifier = try SequenceClassifier.load(from: directory)
        let tokenizer = try loadTokenizer(from: directory)
        try checkTokenizer(tokenizer, fits: classifier.modelConfiguration, path: directory.path)
        let url = directory.appendingPathComponent(RewardHead.fileName)
        var head = RewardHead(maxLength: classifier.modelConfiguration.positions)
        if let data = FileManager.default.contents(atPath: url.path) {
            do { head = try JSONDecoder().decode(RewardHead.self, from: data) } catch {
                throw CheckpointError.invalidFile(path: url.path, problem: "not a valid reward head description: \(error)")
            }
        }
        let K = classifier.score.weight.shape[0]
        if K > 1 {
            guard let rewards = head.labelRewards, rewards.count == K else {
                throw CheckpointError.invalidField(path: url.path, field: "label_rewards", problem: "\(head.labelRewards.map { "lists \($0.count) rewards" } ?? "is absent"); the head has \(K) labels, so it must list \(K) rewards")
            }
        }
        guard head.maxLength >= 1 && head.maxLength <= classifier.modelConfiguration.positions else {
            throw CheckpointError.invalidField(path: url.path, field: "max_length", problem: "is \(head.maxLength); expected 1...\(classifier.modelConfiguration.positions)")
        }
        return RewardModel(classifier: classifier, tokenizer: tokenizer, head: head)
    }

    /// Writes the classifier checkpoint (with `pad_token_id` set, so that transformers reads the
    /// same last token), the tokenizer, and reward_model.json.
    public func save(to directory: URL) throws {
        try classifier.save(to: directory, tokenizer: tokenizer)
        try saveHead(in: directory)
    }

    /// Writes reward_model.json into `directory`.
    public func saveHead(in directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(head).write(to: directory.appendingPathComponent(RewardHead.fileName), options: .atomic)
    }

    /// The tokens the model reads for `text`: its encoding, keeping the last `max_length` tokens
    /// (a T5 classifier's end with `</s>`: ``SequenceClassifier/input(_:limit:)``).
    /// - Throws: the tokenizer's error for text it cannot encode (a character tokenizer's unknown character).
    public func tokens(for text: String) throws -> [Int32] {
        classifier.input(try tokenizer.encodeChecked(text), limit: head.maxLength)
    }

    /// Raw rewards (before gain and bias) of token sequences, (B), differentiable: the scalar
    /// head's output, or Σₖ softmax(logits)ₖ · rewardₖ for a K-class head.
    public func rawRewards(_ sequences: [[Int32]], padding: Int32? = nil) -> Tensor {
        let (ids, lengths) = rightPadded(sequences, padding: padding ?? self.padding)
        let outputs = classifier.outputs(ids, lengths: lengths)
        guard let labelRewards = head.labelRewards, outputs.shape[1] > 1 else { return outputs.reshaped([sequences.count]) }
        let probabilities = outputs.softmax()
        return (probabilities * Tensor(shape: [labelRewards.count], values: labelRewards)).sum(axis: 1)
    }

    /// Normalized rewards of texts (gain · raw + bias), in evaluation mode, in batches.
    /// - Parameters:
    ///   - texts: the full texts (prompt + response).
    ///   - batchSize: texts per forward pass.
    /// - Throws: the tokenizer's error for a text it cannot encode.
    public func rewards(for texts: [String], batchSize: Int = 16) throws -> [Float] {
        let wasTraining = classifier.isTrainingAnywhere
        classifier.setTraining(false)
        defer { if wasTraining { classifier.setTraining(true) } }
        var result: [Float] = []
        result.reserveCapacity(texts.count)
        for start in stride(from: 0, to: texts.count, by: max(batchSize, 1)) {
            let batch = try texts[start..<min(start + max(batchSize, 1), texts.count)].map { try tokens(for: $0) }
            let raw = withNoGrad { rawRewards(batch.map { $0.isEmpty ? [padding] : $0 }) }.scalars
            result += raw.map { head.gain * $0 + head.bias }
        }
        return result
    }

    /// The id used for right padding: the config's pad id, else its EOS id, else 0.
    public var padding: Int32 {
        let configuration = classifier.modelConfiguration
        return Int32(configuration.padTokenId ?? configuration.eosTokenId ?? 0)
    }
}

/// Right-pads token sequences into (B, T) ids and their lengths.
public func rightPadded(_ sequences: [[Int32]], padding: Int32) -> (ids: IndexTensor, lengths: [Int]) {
    let T = max(sequences.map(\.count).max() ?? 1, 1)
    var values = [Int32](repeating: padding, count: sequences.count * T)
    for (b, sequence) in sequences.enumerated() {
        for (t, token) in sequence.enumerated() { values[b * T + t] = token }
    }
    return (IndexTensor(shape: [sequences.count, T], values: values), sequences.map(\.count))
}

/// Refuses a tokenizer that can produce ids the model has no embedding row for (scoring would
/// otherwise stop inside the embedding kernel on the first such text).
/// - Throws: ``CheckpointError`` naming `path`, the largest id and `vocab_size`.
public func checkTokenizer(_ tokenizer: any Tokenizer, fits configuration: any LanguageModelConfiguration, path: String) throws {
    let ids = tokenizer.idLimit
    guard ids <= configuration.vocabularySize else {
        throw CheckpointError.vocabularyMismatch(path: path, idLimit: ids, vocabularySize: configuration.vocabularySize)
    }
}
