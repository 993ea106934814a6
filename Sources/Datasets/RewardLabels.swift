import Foundation

/// A text with a class label, for reward models and classifiers (`{"text","label"}`).
///
/// The label may be a string or an integer in the file; it is kept as a string (`1` → `"1"`).
/// Field names are configurable, so Shakespeare's `{"sample","sentiment"}` reads with
/// `textField: "sample", labelField: "sentiment"`.
public struct LabelledText: Sendable, Hashable, Codable {
    /// The text.
    public var text: String
    /// The label, as a string.
    public var label: String

    /// Creates a labelled text.
    /// - Parameters:
    ///   - text: the text.
    ///   - label: the label.
    public init(text: String, label: String) {
        self.text = text
        self.label = label
    }

    /// Parses a record.
    /// - Parameters:
    ///   - record: the record.
    ///   - textField: the field holding the text (default `text`).
    ///   - labelField: the field holding the label (default `label`), a string or an integer.
    /// - Throws: ``DatasetError`` naming the field when it is missing or of the wrong type.
    public init(record: RawRecord, textField: String = "text", labelField: String = "label") throws(DatasetError) {
        self.init(text: try record.string(textField), label: try record.stringOrInteger(labelField))
    }

    /// Reads a labelled-text file (JSON Lines, JSON array or CSV/TSV; gzip allowed).
    /// - Parameters:
    ///   - url: the file.
    ///   - textField: the field holding the text.
    ///   - labelField: the field holding the label.
    ///   - skipBadRecords: whether a bad record is counted and left out instead of thrown.
    /// - Returns: the texts and the records skipped.
    /// - Throws: ``DatasetError`` for a bad file, a missing CSV column, or a bad record unless skipping.
    public static func read(_ url: URL, textField: String = "text", labelField: String = "label",
                            skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<LabelledText> {
        try RecordFile.read(url, requiredColumns: [textField, labelField], skipBadRecords: skipBadRecords) {
            (record) throws(DatasetError) in
            try LabelledText(record: record, textField: textField, labelField: labelField)
        }
    }

    /// The distinct labels of some examples, sorted.
    /// - Parameter examples: labelled texts.
    public static func labels(in examples: [LabelledText]) -> [String] {
        Array(Set(examples.map(\.label))).sorted()
    }
}

/// A map from class label to scalar reward, as used to score a policy's samples with a
/// classifier's label (for example `happy` → 1, `sad` → -1).
public struct LabelRewardMap: Sendable, Hashable, Codable {
    /// The reward of each label.
    public var rewards: [String: Float]

    /// Creates a map.
    /// - Parameter rewards: the reward of each label.
    public init(_ rewards: [String: Float]) {
        self.rewards = rewards
    }

    /// The common two-class map: `positive` → `positiveReward`, `negative` → `negativeReward`.
    /// - Parameters:
    ///   - positive: the good label (for example `"1"` or `"happy"`).
    ///   - negative: the bad label.
    ///   - positiveReward: its reward, 1 by default.
    ///   - negativeReward: its reward, -1 by default.
    public static func binary(positive: String, negative: String, positiveReward: Float = 1,
                              negativeReward: Float = -1) -> LabelRewardMap {
        LabelRewardMap([positive: positiveReward, negative: negativeReward])
    }

    /// The reward of a label, or nil when the map does not know it.
    /// - Parameter label: the label.
    public subscript(label: String) -> Float? { rewards[label] }

    /// The reward of each example's label, in order.
    /// - Parameter examples: labelled texts.
    /// - Returns: one reward per example.
    /// - Throws: ``DatasetError`` (path `<labels>`, field `label`) naming the first label the
    ///   map does not know and the labels it does.
    public func rewards(for examples: [LabelledText]) throws(DatasetError) -> [Float] {
        var result: [Float] = []
        result.reserveCapacity(examples.count)
        for (index, example) in examples.enumerated() {
            guard let reward = rewards[example.label] else {
                throw DatasetError(path: "<labels>", element: index + 1, field: "label",
                                   message: "no reward for label '\(example.label)' (known: \(rewards.keys.sorted().joined(separator: ", ")))")
            }
            result.append(reward)
        }
        return result
    }

    /// Checks that every label in the examples has a reward.
    /// - Parameter examples: labelled texts, typically a whole file.
    /// - Throws: ``DatasetError`` naming the first unknown label.
    public func validate(_ examples: [LabelledText]) throws(DatasetError) {
        _ = try rewards(for: examples)
    }
}

/// A best-of-N human label: a query, N sampled continuations, and the index of the one a person
/// picked (`{"query","samples":[…],"best":i}`, the label form of openai/lm-human-preferences,
/// where `best` is 0-based).
public struct BestOfN: Sendable, Hashable, Codable {
    /// The query (prompt) the samples continue.
    public var query: String
    /// The N candidate continuations.
    public var samples: [String]
    /// The 0-based index into `samples` of the preferred one.
    public var best: Int

    /// Creates a label, checking that `best` indexes `samples`.
    /// - Parameters:
    ///   - query: the query.
    ///   - samples: the candidates, at least one.
    ///   - best: the 0-based index of the preferred candidate.
    /// - Throws: ``DatasetError`` (path `<memory>`, field `best`) when `best` is out of range.
    public init(query: String, samples: [String], best: Int) throws(DatasetError) {
        guard samples.indices.contains(best) else {
            throw DatasetError(path: "<memory>", field: "best", message: Self.outOfRange(best, count: samples.count))
        }
        self.query = query
        self.samples = samples
        self.best = best
    }

    /// The preferred sample.
    public var bestSample: String { samples[best] }

    /// The candidates other than the preferred one, in order.
    public var otherSamples: [String] { samples.enumerated().filter { $0.offset != best }.map(\.element) }

    /// The label as N-1 preference pairs (best against each other sample), for reward-model
    /// losses that take pairs.
    public var preferencePairs: [PreferencePair] {
        otherSamples.map { PreferencePair(prompt: query, chosen: bestSample, rejected: $0) }
    }

    /// Parses a record `{"query","samples","best"}`.
    /// - Parameter record: the record.
    /// - Throws: ``DatasetError`` naming the field when one is missing, mistyped, `samples` is
    ///   empty, or `best` is out of range.
    public init(record: RawRecord) throws(DatasetError) {
        let query = try record.string("query")
        let samples = try record.strings("samples")
        guard !samples.isEmpty else { throw record.error(field: "samples", "expected at least one sample") }
        let best = try record.integer("best")
        guard samples.indices.contains(best) else {
            throw record.error(field: "best", Self.outOfRange(best, count: samples.count))
        }
        self.query = query
        self.samples = samples
        self.best = best
    }

    static func outOfRange(_ best: Int, count: Int) -> String {
        "index \(best) is out of range for \(count) samples (expected 0...\(count - 1))"
    }

    /// Reads a best-of-N file (JSON Lines or JSON array; gzip allowed).
    /// - Parameters:
    ///   - url: the file.
    ///   - skipBadRecords: whether a bad record is counted and left out instead of thrown.
    /// - Returns: the labels and the records skipped.
    /// - Throws: ``DatasetError`` for a bad file, or a bad record unless skipping.
    public static func read(_ url: URL, skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<BestOfN> {
        try RecordFile.read(url, skipBadRecords: skipBadRecords) { (record) throws(DatasetError) in try BestOfN(record: record) }
    }
}
