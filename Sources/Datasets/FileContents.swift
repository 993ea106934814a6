import Foundation

/// Reads a data file's bytes, decompressing gzip transparently, and names its format.
///
/// A file is treated as gzip when it starts with the gzip magic bytes `1f 8b` (whatever its
/// name); it is decompressed in this process by ``Gzip`` (zlib through compress-nio), members one
/// after another as `gzip -dc` reads them, with the inflated size bounded as it is produced.
public enum FileContents {
    /// The formats the readers recognise from a file name.
    public enum Format: String, Sendable, CaseIterable {
        /// JSON Lines: one JSON object per line (`.jsonl`, `.ndjson`).
        case jsonLines
        /// A JSON array of objects (`.json`).
        case jsonArray
        /// Comma-separated values with a header row (`.csv`).
        case commaSeparated
        /// Tab-separated values with a header row (`.tsv`).
        case tabSeparated
        /// Plain text (`.txt` and anything unrecognised).
        case plainText
    }

    /// The format named by the file's extension, ignoring a final `.gz`.
    ///
    /// `.jsonl`/`.ndjson` → JSON Lines, `.json` → JSON array, `.csv`, `.tsv`, and anything else → text.
    /// - Parameter url: the file.
    /// - Returns: the format.
    public static func format(of url: URL) -> Format {
        var name = url.lastPathComponent.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        let pathExtension = (name as NSString).pathExtension
        switch pathExtension {
        case "jsonl", "ndjson": return .jsonLines
        case "json": return .jsonArray
        case "csv": return .commaSeparated
        case "tsv": return .tabSeparated
        default: return .plainText
        }
    }

    /// The most bytes a gzip file may inflate to (4 GiB): a small file that expands beyond it (a
    /// gzip bomb) is an error naming the file, not an exhausted memory.
    public static let maximumDecompressedBytes = 1 << 32

    /// The file's bytes, gunzipped when the file is gzip (at most `limit` bytes once inflated).
    /// - Parameter url: the file.
    /// - Returns: the (decompressed) bytes.
    /// - Throws: ``DatasetError`` naming the file when it cannot be read, is corrupt or truncated
    ///   gzip, or inflates beyond `limit`.
    public static func data(of url: URL, limit: Int = maximumDecompressedBytes) throws(DatasetError) -> Data {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DatasetError(path: url.path, message: "cannot read the file (\(error.localizedDescription))")
        }
        guard Gzip.isCompressed(data) else { return data }
        return try Gzip.decompress(data, path: url.path, limit: limit)
    }

    /// The file's text, decoded as UTF-8 after gunzipping when needed.
    /// - Parameter url: the file.
    /// - Returns: the text.
    /// - Throws: ``DatasetError`` when the file cannot be read or is not UTF-8.
    public static func text(of url: URL) throws(DatasetError) -> String {
        let data = try data(of: url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError(path: url.path, message: "the file is not valid UTF-8")
        }
        return text
    }
}

/// Reads any structured data file into ``RawRecord``s, choosing the reader by file name.
///
/// | name ends in (before an optional `.gz`) | reader |
/// |---|---|
/// | `.jsonl`, `.ndjson` | ``JSONLines`` |
/// | `.json` | ``JSONArrayFile`` (or ``JSONLines`` when the file does not start with `[`) |
/// | `.csv`, `.tsv` | ``DelimitedText`` (header row; every cell a string) |
///
/// Plain text has no fields, so it is an error here; ``PromptSet`` and ``TextCorpus`` read `.txt`.
public enum RecordFile {
    /// Reads a file's records.
    /// - Parameters:
    ///   - url: the file.
    ///   - requiredColumns: for CSV/TSV, columns that must be in the header (checked up front, so
    ///     the error names the missing column at line 1); ignored for JSON.
    ///   - skipBadRecords: whether a bad line or row is counted and left out instead of thrown.
    /// - Returns: the records and the count skipped.
    /// - Throws: ``DatasetError`` for an unreadable file, an unsupported format, a missing column,
    ///   or a bad record unless skipping.
    public static func read(_ url: URL, requiredColumns: [String] = [],
                            skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<RawRecord> {
        switch FileContents.format(of: url) {
        case .jsonLines:
            return try JSONLines.read(url, skipBadRecords: skipBadRecords)
        case .jsonArray:
            let data = try FileContents.data(of: url)
            let firstByte = data.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }
            if firstByte == UInt8(ascii: "[") {
                return try JSONArrayFile.parse(data, path: url.path, skipBadRecords: skipBadRecords)
            }
            return try JSONLines.parse(data, path: url.path, skipBadRecords: skipBadRecords)
        case .commaSeparated, .tabSeparated:
            let table = try DelimitedText.read(url, skipBadRecords: skipBadRecords)
            try table.requireColumns(requiredColumns)
            return table.report
        case .plainText:
            throw DatasetError(path: url.path, message: "plain text has no fields; expected a .jsonl, .json, .csv or .tsv file (optionally .gz)")
        }
    }

    /// Reads a file's records and gives each one a shape with `parse`, collecting skipped records
    /// from both stages.
    /// - Parameters:
    ///   - url: the file.
    ///   - requiredColumns: CSV/TSV columns that must exist (see ``read(_:requiredColumns:skipBadRecords:)``).
    ///   - skipBadRecords: whether a bad record is counted and left out instead of thrown.
    ///   - parse: the conversion of one record.
    /// - Returns: the converted records and all skipped ones, in line order.
    /// - Throws: ``DatasetError`` as for reading, or from `parse` unless skipping.
    public static func read<Record>(_ url: URL, requiredColumns: [String] = [], skipBadRecords: Bool = false,
                                    parse: (RawRecord) throws(DatasetError) -> Record) throws(DatasetError) -> ReadReport<Record> {
        try read(url, requiredColumns: requiredColumns, skipBadRecords: skipBadRecords)
            .compactMapRecords(skipBadRecords: skipBadRecords, parse)
    }
}
