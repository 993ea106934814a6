import Foundation

/// Reads CSV and TSV files (RFC 4180) whose first row names the columns, UTF-8, gzip allowed.
///
/// Parsing follows RFC 4180: fields are separated by the delimiter, records by `\n` or `\r\n`;
/// a field that starts with `"` is quoted, may hold delimiters, quotes written `""`, and line
/// breaks (kept as written); a quote inside an unquoted field is taken literally (a common
/// leniency for TSV). Empty lines are skipped. Each data row becomes a ``RawRecord`` keyed by the
/// header's names, located at the line where the row starts. A row with a different number of
/// fields than the header is a bad record; an unterminated quote is an error for the whole file.
public enum DelimitedText {
    /// A parsed file: the column names and the data rows as records.
    public struct Table {
        /// The column names, from the header row (or as given for a headerless file).
        public var columns: [String]
        /// The data rows, each keyed by column name, with their starting lines; and rows skipped.
        public var report: ReadReport<RawRecord>
        /// The path of the file, for errors.
        public var path: String

        /// Throws unless every one of `names` is a column, naming the first missing one.
        /// - Parameter names: the columns a reader needs.
        /// - Throws: ``DatasetError`` at line 1 with the missing column as its field, listing the columns there are.
        public func requireColumns(_ names: [String]) throws(DatasetError) {
            for name in names where !columns.contains(name) {
                throw DatasetError(path: path, line: 1, field: name,
                                   message: "no such column in the header (columns: \(columns.joined(separator: ", ")))")
            }
        }

        /// The values of one column, in row order.
        /// - Parameter name: the column.
        /// - Throws: ``DatasetError`` naming the column when there is no such column.
        public func column(_ name: String) throws(DatasetError) -> [String] {
            try requireColumns([name])
            return report.records.map { $0.object[name] as? String ?? "" }
        }
    }

    /// Reads a CSV or TSV file.
    /// - Parameters:
    ///   - url: the file.
    ///   - delimiter: the field separator; by default a tab for `.tsv` files and a comma otherwise.
    ///   - columnNames: names for a file with no header row; nil (the default) reads the first row as the header.
    ///   - skipBadRecords: whether a row with the wrong number of fields is counted and left out instead of thrown.
    /// - Returns: the table.
    /// - Throws: ``DatasetError`` for an unreadable file, a missing header, an unterminated quote, or a bad row unless skipping.
    public static func read(_ url: URL, delimiter: Character? = nil, columnNames: [String]? = nil,
                            skipBadRecords: Bool = false) throws(DatasetError) -> Table {
        let separator = delimiter ?? (FileContents.format(of: url) == .tabSeparated ? "\t" : ",")
        return try parse(FileContents.data(of: url), path: url.path, delimiter: separator,
                         columnNames: columnNames, skipBadRecords: skipBadRecords)
    }

    /// Parses CSV or TSV bytes already in memory.
    /// - Parameters:
    ///   - data: the UTF-8 bytes.
    ///   - path: the path to name in errors.
    ///   - delimiter: the field separator, an ASCII character.
    ///   - columnNames: names for headerless data; nil reads the first row as the header.
    ///   - skipBadRecords: whether a row with the wrong number of fields is counted and left out.
    /// - Returns: the table.
    /// - Throws: ``DatasetError`` as for ``read(_:delimiter:columnNames:skipBadRecords:)``.
    public static func parse(_ data: Data, path: String, delimiter: Character = ",", columnNames: [String]? = nil,
                             skipBadRecords: Bool = false) throws(DatasetError) -> Table {
        guard let separator = delimiter.asciiValue, delimiter != "\"", delimiter != "\n", delimiter != "\r" else {
            throw DatasetError(path: path, message: "the delimiter must be an ASCII character other than a quote or a line break")
        }
        var rows = try rows(of: [UInt8](data), delimiter: separator, path: path)
        let columns: [String]
        if let columnNames {
            columns = columnNames
        } else {
            guard !rows.isEmpty else { throw DatasetError(path: path, message: "the file is empty; expected a header row") }
            columns = rows.removeFirst().fields
        }
        var records: [RawRecord] = []
        var skipped: [SkippedRecord] = []
        for row in rows {
            let location = RecordLocation(path: path, line: row.line)
            guard row.fields.count == columns.count else {
                let error = location.error("expected \(columns.count) fields (one per column), found \(row.fields.count)")
                guard skipBadRecords else { throw error }
                skipped.append(SkippedRecord(error))
                continue
            }
            var object: [String: Any] = [:]
            for (name, value) in zip(columns, row.fields) { object[name] = value }
            records.append(RawRecord(location: location, object: object))
        }
        return Table(columns: columns, report: ReadReport(records: records, skipped: skipped), path: path)
    }

    /// Splits bytes into rows of fields per RFC 4180, with each row's 1-based starting line;
    /// empty lines are dropped.
    /// - Parameters:
    ///   - bytes: UTF-8 bytes.
    ///   - delimiter: the separator byte.
    ///   - path: the path to name in errors.
    /// - Throws: ``DatasetError`` at the row's first line for an unterminated quoted field.
    static func rows(of bytes: [UInt8], delimiter: UInt8, path: String) throws(DatasetError) -> [(line: Int, fields: [String])] {
        let quote: UInt8 = 0x22, newline: UInt8 = 0x0A, carriageReturn: UInt8 = 0x0D
        var rows: [(line: Int, fields: [String])] = []
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        while index < bytes.count {
            let rowLine = line
            var fields: [String] = []
            var rowEnded = false
            while !rowEnded {
                var field: [UInt8] = []
                if index < bytes.count, bytes[index] == quote {
                    index += 1
                    var closed = false
                    while index < bytes.count {
                        let byte = bytes[index]
                        if byte == quote {
                            if index + 1 < bytes.count, bytes[index + 1] == quote {
                                field.append(quote)
                                index += 2
                                continue
                            }
                            index += 1
                            closed = true
                            break
                        }
                        if byte == newline { line += 1 }
                        field.append(byte)
                        index += 1
                    }
                    guard closed else {
                        throw DatasetError(path: path, line: rowLine, message: "unterminated quoted field (a field opened with \" never closes)")
                    }
                    // Anything between the closing quote and the next separator is kept literally.
                    while index < bytes.count, bytes[index] != delimiter, bytes[index] != newline,
                          !(bytes[index] == carriageReturn && index + 1 < bytes.count && bytes[index + 1] == newline) {
                        field.append(bytes[index])
                        index += 1
                    }
                } else {
                    while index < bytes.count, bytes[index] != delimiter, bytes[index] != newline {
                        field.append(bytes[index])
                        index += 1
                    }
                    if index <= bytes.count, field.last == carriageReturn, index == bytes.count || bytes[index] == newline {
                        field.removeLast()
                    }
                }
                fields.append(String(decoding: field, as: UTF8.self))
                if index >= bytes.count {
                    rowEnded = true
                } else if bytes[index] == delimiter {
                    index += 1
                } else {
                    if bytes[index] == carriageReturn { index += 1 }
                    index += 1  // the newline
                    line += 1
                    rowEnded = true
                }
            }
            if fields.count == 1, fields[0].isEmpty { continue }  // an empty line
            rows.append((rowLine, fields))
        }
        return rows
    }
}
