import Foundation

/// A text with one or more class labels, for training and evaluating classifiers.
///
/// Two file shapes are read:
/// - records (JSON Lines, a JSON array, CSV/TSV with a header; gzip allowed) with a text field and
///   either one label (`{"text","label"}`, a string or an integer) or a list (`{"text","labels"}`);
/// - GoEmotions' headerless TSV, `text \t 3,17 \t comment_id`, whose label ids index a names file
///   (`emotions.txt`, one name per line).
public struct ClassificationText: Sendable, Hashable {
    /// The text.
    public var text: String
    /// Its labels (one for single-label data).
    public var labels: [String]

    /// A text and its labels.
    public init(text: String, labels: [String]) {
        self.text = text
        self.labels = labels
    }

    /// Whether `url` looks like GoEmotions' headerless TSV: its first line has three tab-separated
    /// fields, the second a comma-separated list of integers.
    public static func isGoEmotionsTSV(_ url: URL) -> Bool { goEmotionsText(url) != nil }

    /// The text of `url` when it looks like GoEmotions' TSV (see `isGoEmotionsTSV`), else nil; read
    /// once, for `parseGoEmotions`.
    public static func goEmotionsText(_ url: URL) -> String? {
        guard ["tsv", "gz"].contains(url.pathExtension), let text = try? FileContents.text(of: url),
              let line = text.split(separator: "\n", maxSplits: 1).first else { return nil }
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        let looksRight = fields.count == 3 && !fields[1].isEmpty && fields[1].split(separator: ",").allSatisfy { Int($0) != nil }
        return looksRight ? text : nil
    }

    /// Reads GoEmotions' TSV; `names` are the label names by id (emotions.txt).
    /// - Throws: ``DatasetError`` naming the line for a row without three fields, a bad id, or an
    ///   id outside `names`.
    public static func readGoEmotions(_ url: URL, names: [String]) throws(DatasetError) -> [ClassificationText] {
        try parseGoEmotions(try FileContents.text(of: url), path: url.path, names: names)
    }

    /// Parses GoEmotions' TSV text read from `path` (named in errors).
    public static func parseGoEmotions(_ text: String, path: String, names: [String]) throws(DatasetError) -> [ClassificationText] {
        var result: [ClassificationText] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let row = line.hasSuffix("\r") ? line.dropLast() : line
            let fields = row.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3 else {
                throw DatasetError(path: path, line: index + 1, message: "expected 3 tab-separated fields (text, label ids, comment id), found \(fields.count)")
            }
            var labels: [String] = []
            for part in fields[1].split(separator: ",") {
                guard let id = Int(part), names.indices.contains(id) else {
                    throw DatasetError(path: path, line: index + 1, field: "labels",
                                       message: "'\(part)' is not a label id in 0..<\(names.count) (the names file has \(names.count) labels)")
                }
                labels.append(names[id])
            }
            guard !labels.isEmpty else { throw DatasetError(path: path, line: index + 1, field: "labels", message: "no label ids") }
            result.append(ClassificationText(text: String(fields[0]), labels: labels))
        }
        return result
    }

    /// Reads label names, one per line (blank lines ignored); duplicates are an error naming the line.
    public static func readNames(_ url: URL) throws(DatasetError) -> [String] {
        var names: [String] = []
        for (index, line) in try FileContents.text(of: url).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let name = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty else { continue }
            guard !names.contains(name) else { throw DatasetError(path: url.path, line: index + 1, message: "the label '\(name)' appears twice") }
            names.append(name)
        }
        guard !names.isEmpty else { throw DatasetError(path: url.path, message: "no label names") }
        return names
    }

    /// Reads records with `textField` and `labelField`, whose value is one label (string or
    /// integer) or an array of them. With the default `label` field, records that have `labels`
    /// instead are read from it. In CSV/TSV a label cell is one label.
    public static func readRecords(_ url: URL, textField: String = "text", labelField: String = "label",
                                   skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<ClassificationText> {
        try RecordFile.read(url, requiredColumns: [textField], skipBadRecords: skipBadRecords) {
            (record) throws(DatasetError) in
            let text = try record.string(textField)
            let field = labelField == "label" && !record.has("label") && record.has("labels") ? "labels" : labelField
            let value = try record.value(field)
            if let list = value as? [Any] {
                guard !list.isEmpty else { throw record.error(field: field, "an empty list of labels") }
                let labels = try list.enumerated().map { (index, element) throws(DatasetError) -> String in
                    if let text = element as? String { return text }
                    if let integer = RawRecord.integerValue(element) { return String(integer) }
                    throw record.error(field: "\(field)[\(index)]", "expected a string or an integer label, found \(RawRecord.typeName(of: element))")
                }
                return ClassificationText(text: text, labels: labels)
            }
            return ClassificationText(text: text, labels: [try record.stringOrInteger(field)])
        }
    }
}
