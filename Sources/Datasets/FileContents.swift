import Foundation

/// Reads a data file's bytes, decompressing gzip transparently, and names its format.
///
/// A file is treated as gzip when it starts with the gzip magic bytes `1f 8b` (whatever its
/// name); it is decompressed by running the system's `gzip -dc` (looked for at `/usr/bin/gzip`,
/// `/bin/gzip`, then along `PATH`), so this module needs no zlib binding. When gzip is needed
/// but not installed, the error says so.
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
    /// - Throws: ``DatasetError`` when the file cannot be read or decompressed, or inflates beyond `limit`.
    public static func data(of url: URL, limit: Int = maximumDecompressedBytes) throws(DatasetError) -> Data {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DatasetError(path: url.path, message: "cannot read the file (\(error.localizedDescription))")
        }
        guard data.count >= 2, data[data.startIndex] == 0x1f, data[data.startIndex + 1] == 0x8b else { return data }
        return try gunzip(url, limit: limit)
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

    /// Where the `gzip` program is, if anywhere.
    static func gzipExecutable() -> URL? {
        var candidates = ["/usr/bin/gzip", "/bin/gzip"]
        if let path = ProcessInfo.processInfo.environment["PATH"] {
            candidates += path.split(separator: ":").map { "\($0)/gzip" }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }.map(URL.init(fileURLWithPath:))
    }

    /// Runs `gzip -dc` on the file and returns its output, stopping gzip once it passes `limit` bytes.
    static func gunzip(_ url: URL, limit: Int) throws(DatasetError) -> Data {
        guard let gzip = gzipExecutable() else {
            throw DatasetError(path: url.path, message: "the file is gzip-compressed, but no gzip program was found (looked in /usr/bin, /bin and PATH); install gzip or decompress the file first")
        }
        let process = Process()
        process.executableURL = gzip
        process.arguments = ["-dc", "--", url.path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw DatasetError(path: url.path, message: "cannot run \(gzip.path) (\(error.localizedDescription))")
        }
        // Drain stderr concurrently so that neither pipe can fill up and block gzip.
        let errorBox = DataBox()
        let errorReader = Thread { errorBox.data = errors.fileHandleForReading.readDataToEndOfFile() }
        errorReader.start()
        var decompressed = Data()
        var exceeded = false
        while true {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            decompressed.append(chunk)
            if decompressed.count > limit {
                exceeded = true
                kill(process.processIdentifier, SIGKILL)  // not terminate(): gzip may have inherited an ignored SIGTERM
                decompressed = Data()
                while !output.fileHandleForReading.availableData.isEmpty {}  // let gzip see its reader go, then end
                break
            }
        }
        process.waitUntilExit()
        while !errorBox.isSet { errorBox.wait() }
        if exceeded {
            throw DatasetError(path: url.path, message: "the gzip file inflates to more than \(limit) bytes; refused (decompress it yourself if it is meant to be that large)")
        }
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errorBox.data ?? Data(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw DatasetError(path: url.path, message: "gzip failed with status \(process.terminationStatus): \(message)")
        }
        return decompressed
    }
}

/// A one-shot box for the bytes read from gzip's stderr on another thread.
private final class DataBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Data?
    private var done = false

    var data: Data? {
        get { condition.lock(); defer { condition.unlock() }; return value }
        set { condition.lock(); value = newValue; done = true; condition.broadcast(); condition.unlock() }
    }

    var isSet: Bool { condition.lock(); defer { condition.unlock() }; return done }

    func wait() {
        condition.lock()
        while !done { condition.wait() }
        condition.unlock()
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
