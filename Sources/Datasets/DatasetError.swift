import Foundation

/// A bad data file or a bad record in one, located as precisely as the file allows.
///
/// Every reader in this module throws this error. It names the file, the 1-based line where the
/// record starts (for line-oriented files: JSON Lines, CSV/TSV, text), or the 1-based element
/// position for a JSON array file, and the field when one field is to blame.
///
/// `description` reads like a compiler diagnostic, `path:line: field 'x': message`, for example
/// `data/train.jsonl:3: field 'chosen': expected a string, found a number`.
public struct DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path of the file, as given to the reader.
    public var path: String
    /// The 1-based line where the bad record starts, when the file has lines.
    public var line: Int?
    /// The 1-based position of the bad element in a JSON array file (such files have no line numbers).
    public var element: Int?
    /// The field (JSON key, CSV column, or a path such as `messages[2].content`) to blame, if any.
    public var field: String?
    /// What is wrong, in words.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - path: the file's path.
    ///   - line: the 1-based line of the record, if the file has lines.
    ///   - element: the 1-based element position in a JSON array file, if that is the location.
    ///   - field: the field to blame, if any.
    ///   - message: what is wrong.
    public init(path: String, line: Int? = nil, element: Int? = nil, field: String? = nil, message: String) {
        self.path = path
        self.line = line
        self.element = element
        self.field = field
        self.message = message
    }

    /// `path:line: field 'x': message`; the line part, `element N: `, and the field part appear
    /// only when known.
    public var description: String {
        var text = path
        if let line { text += ":\(line)" }
        text += ": "
        if let element { text += "element \(element): " }
        if let field { text += "field '\(field)': " }
        return text + message
    }

    /// The message with the field, but without the file and line: the reason stored for a skipped record.
    public var reason: String {
        if let field { return "field '\(field)': \(message)" }
        return message
    }
}

/// Where a record came from: the file, and the record's line or element position in it.
///
/// Readers attach a location to every record so that the record parsers can throw a
/// ``DatasetError`` naming the file, the line and the field.
public struct RecordLocation: Sendable, Equatable, CustomStringConvertible {
    /// The path of the file the record came from.
    public var path: String
    /// The 1-based line where the record starts (JSON Lines, CSV/TSV, text).
    public var line: Int?
    /// The 1-based element position (JSON array files).
    public var element: Int?

    /// Creates a location.
    /// - Parameters:
    ///   - path: the file's path.
    ///   - line: the record's 1-based first line, if the file has lines.
    ///   - element: the record's 1-based position in a JSON array, if that is how it is found.
    public init(path: String, line: Int? = nil, element: Int? = nil) {
        self.path = path
        self.line = line
        self.element = element
    }

    /// The line, or else the element position, or else 0: the number reported for a skipped record.
    public var number: Int { line ?? element ?? 0 }

    /// `path:line` or `path: element N`.
    public var description: String {
        if let line { return "\(path):\(line)" }
        if let element { return "\(path): element \(element)" }
        return path
    }

    /// An error at this location.
    /// - Parameters:
    ///   - field: the field to blame, if any.
    ///   - message: what is wrong.
    /// - Returns: a ``DatasetError`` carrying this location.
    public func error(field: String? = nil, _ message: String) -> DatasetError {
        DatasetError(path: path, line: line, element: element, field: field, message: message)
    }
}

/// A record that a reader left out because the caller asked to skip bad records.
public struct SkippedRecord: Sendable, Equatable {
    /// The 1-based line (or, for a JSON array file, element position) of the skipped record.
    public var line: Int
    /// Why it was skipped: the error's message, with its field when there is one.
    public var reason: String

    /// Creates a skipped-record entry.
    /// - Parameters:
    ///   - line: the record's 1-based line or element position.
    ///   - reason: why it was skipped.
    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    /// The entry for a record that failed with `error`.
    /// - Parameter error: the error the record raised.
    public init(_ error: DatasetError) {
        self.init(line: error.line ?? error.element ?? 0, reason: error.reason)
    }
}

/// The records read from a file, and the bad ones left out when skipping was asked for.
///
/// With `skipBadRecords: false` (the default everywhere) `skipped` is always empty, because the
/// first bad record throws instead.
public struct ReadReport<Record> {
    /// The good records, in file order.
    public var records: [Record]
    /// The records left out, in file order, each with its line and reason.
    public var skipped: [SkippedRecord]

    /// Creates a report.
    /// - Parameters:
    ///   - records: the good records.
    ///   - skipped: the records left out.
    public init(records: [Record], skipped: [SkippedRecord] = []) {
        self.records = records
        self.skipped = skipped
    }

    /// The number of records left out.
    public var skippedCount: Int { skipped.count }

    /// Converts each record with `transform`; a record whose conversion throws a ``DatasetError``
    /// is skipped (and counted) when `skipBadRecords` is true, else the error is rethrown.
    /// - Parameters:
    ///   - skipBadRecords: whether a bad record is counted and left out instead of thrown.
    ///   - transform: the conversion of one record.
    /// - Returns: a report with the converted records and all skipped ones (this report's first).
    public func compactMapRecords<Output>(
        skipBadRecords: Bool,
        _ transform: (Record) throws(DatasetError) -> Output
    ) throws(DatasetError) -> ReadReport<Output> {
        var output: [Output] = []
        output.reserveCapacity(records.count)
        var skipped = self.skipped
        for record in records {
            do {
                output.append(try transform(record))
            } catch {
                guard skipBadRecords else { throw error }
                skipped.append(SkippedRecord(error))
            }
        }
        skipped.sort { $0.line < $1.line }
        return ReadReport<Output>(records: output, skipped: skipped)
    }
}

extension ReadReport: Sendable where Record: Sendable {}
extension ReadReport: Equatable where Record: Equatable {}
