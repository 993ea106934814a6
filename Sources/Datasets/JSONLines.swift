import Foundation

/// Reads JSON Lines files: one JSON object per line, UTF-8, gzip allowed.
///
/// Blank lines (empty or only whitespace) are skipped and do not count as records, but line
/// numbers still count them, so an error's line is the line an editor shows. A line that is not
/// valid JSON, or is JSON but not an object, is an error naming the file and the line — or, with
/// `skipBadRecords`, is left out and listed in the report's `skipped`.
public enum JSONLines {
    /// Reads a JSON Lines file (gzip-compressed or not).
    /// - Parameters:
    ///   - url: the file.
    ///   - skipBadRecords: whether a malformed line is counted and left out instead of thrown.
    /// - Returns: one ``RawRecord`` per non-blank line, with its 1-based line number.
    /// - Throws: ``DatasetError`` for an unreadable file, or a malformed line unless skipping.
    public static func read(_ url: URL, skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<RawRecord> {
        try parse(FileContents.data(of: url), path: url.path, skipBadRecords: skipBadRecords)
    }

    /// Parses JSON Lines from bytes already in memory.
    /// - Parameters:
    ///   - data: the UTF-8 bytes.
    ///   - path: the path to name in errors.
    ///   - skipBadRecords: whether a malformed line is counted and left out instead of thrown.
    /// - Returns: one ``RawRecord`` per non-blank line.
    /// - Throws: ``DatasetError`` for a malformed line unless skipping.
    public static func parse(_ data: Data, path: String, skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<RawRecord> {
        var records: [RawRecord] = []
        var skipped: [SkippedRecord] = []
        let bytes = [UInt8](data)
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }  // UTF-8 byte-order mark
        var lineNumber = 0
        while start < bytes.count {
            lineNumber += 1
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[start..<lineEnd]
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let location = RecordLocation(path: path, line: lineNumber)
            do {
                records.append(RawRecord(location: location, object: try object(from: Data(line), at: location)))
            } catch {
                guard skipBadRecords else { throw error }
                skipped.append(SkippedRecord(error))
            }
        }
        return ReadReport(records: records, skipped: skipped)
    }

    /// Decodes one JSON object, or throws a ``DatasetError`` at `location`.
    static func object(from data: Data, at location: RecordLocation) throws(DatasetError) -> [String: Any] {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw location.error("malformed JSON (\(Self.describe(error)))")
        }
        guard let object = value as? [String: Any] else {
            throw location.error("expected a JSON object, found \(RawRecord.typeName(of: value))")
        }
        return object
    }

    /// A short description of a JSONSerialization error.
    static func describe(_ error: Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return nsError.localizedDescription
    }
}

/// Reads JSON files holding one array of objects (`[{…}, {…}]`), UTF-8, gzip allowed.
///
/// Records are located by their 1-based position in the array (`element N`), since the parser
/// does not report line numbers. A file whose top level is not an array is an error; an element
/// that is not an object is an error unless `skipBadRecords`.
public enum JSONArrayFile {
    /// Reads a JSON array file.
    /// - Parameters:
    ///   - url: the file.
    ///   - skipBadRecords: whether a non-object element is counted and left out instead of thrown.
    /// - Returns: one ``RawRecord`` per element, located by element position.
    /// - Throws: ``DatasetError`` for an unreadable or malformed file, or a bad element unless skipping.
    public static func read(_ url: URL, skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<RawRecord> {
        try parse(FileContents.data(of: url), path: url.path, skipBadRecords: skipBadRecords)
    }

    /// Parses a JSON array from bytes already in memory.
    /// - Parameters:
    ///   - data: the UTF-8 bytes.
    ///   - path: the path to name in errors.
    ///   - skipBadRecords: whether a non-object element is counted and left out instead of thrown.
    /// - Returns: one ``RawRecord`` per element.
    /// - Throws: ``DatasetError`` for malformed JSON, a top level that is not an array, or a bad element.
    public static func parse(_ data: Data, path: String, skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<RawRecord> {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw DatasetError(path: path, message: "malformed JSON (\(JSONLines.describe(error)))")
        }
        guard let array = value as? [Any] else {
            throw DatasetError(path: path, message: "expected a JSON array of objects at the top level, found \(RawRecord.typeName(of: value))")
        }
        var records: [RawRecord] = []
        var skipped: [SkippedRecord] = []
        for (index, element) in array.enumerated() {
            let location = RecordLocation(path: path, element: index + 1)
            guard let object = element as? [String: Any] else {
                let error = location.error("expected a JSON object, found \(RawRecord.typeName(of: element))")
                guard skipBadRecords else { throw error }
                skipped.append(SkippedRecord(error))
                continue
            }
            records.append(RawRecord(location: location, object: object))
        }
        return ReadReport(records: records, skipped: skipped)
    }
}
