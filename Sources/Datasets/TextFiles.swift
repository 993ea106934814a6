import Foundation

/// Reads plain text files (UTF-8, gzip allowed): whole, or one record per line.
public enum PlainText {
    /// The whole file as one string, unchanged.
    /// - Parameter url: the file.
    /// - Throws: ``DatasetError`` for an unreadable or non-UTF-8 file.
    public static func contents(of url: URL) throws(DatasetError) -> String {
        try FileContents.text(of: url)
    }

    /// The file's non-blank lines with their 1-based line numbers; line endings (`\n` or `\r\n`)
    /// are removed, other whitespace is kept.
    /// - Parameter url: the file.
    /// - Throws: ``DatasetError`` for an unreadable or non-UTF-8 file.
    public static func lines(of url: URL) throws(DatasetError) -> [(line: Int, text: String)] {
        var result: [(line: Int, text: String)] = []
        let text = try FileContents.text(of: url)
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.allSatisfy(\.isWhitespace) { continue }
            result.append((index + 1, String(line)))
        }
        return result
    }
}

/// Reads prompts for generation (PPO rollouts, evaluation): `{"prompt"}` JSON Lines or JSON,
/// a `.txt` file with one prompt per line (blank lines skipped), or a CSV/TSV column.
public enum PromptSet {
    /// Reads prompts.
    /// - Parameters:
    ///   - url: the file; its format comes from its name (``FileContents/format(of:)``).
    ///   - field: the JSON field or CSV/TSV column holding the prompt (default `prompt`); unused for `.txt`.
    ///   - skipBadRecords: whether a bad record is counted and left out instead of thrown.
    /// - Returns: the prompts, in file order, and the records skipped.
    /// - Throws: ``DatasetError`` for a bad file, a missing column, or a bad record unless skipping.
    public static func read(_ url: URL, field: String = "prompt",
                            skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<String> {
        if FileContents.format(of: url) == .plainText {
            return ReadReport(records: try PlainText.lines(of: url).map(\.text))
        }
        return try RecordFile.read(url, requiredColumns: [field], skipBadRecords: skipBadRecords) {
            (record) throws(DatasetError) in try record.string(field)
        }
    }
}

/// Reads a pretraining corpus: a `.txt` file is one document (the whole file); a JSON Lines,
/// JSON or CSV/TSV file gives one document per record's `text` field.
public enum TextCorpus {
    /// Reads documents.
    /// - Parameters:
    ///   - url: the file.
    ///   - field: the field holding each document's text (default `text`); unused for `.txt`.
    ///   - skipBadRecords: whether a bad record is counted and left out instead of thrown.
    /// - Returns: the documents and the records skipped.
    /// - Throws: ``DatasetError`` for a bad file, a missing column, or a bad record unless skipping.
    public static func read(_ url: URL, field: String = "text",
                            skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<String> {
        if FileContents.format(of: url) == .plainText {
            return ReadReport(records: [try PlainText.contents(of: url)])
        }
        return try RecordFile.read(url, requiredColumns: [field], skipBadRecords: skipBadRecords) {
            (record) throws(DatasetError) in try record.string(field)
        }
    }
}
