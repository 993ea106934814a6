import Foundation

/// One record as read from a file, before it is given a shape: a JSON object (from JSON Lines or
/// a JSON array) or a CSV/TSV row keyed by the header's column names, with where it came from.
///
/// The typed accessors throw a ``DatasetError`` naming the file, the line and the field, so the
/// record shapes (``SFTExample``, ``PreferencePair``, …) are parsed with one line per field.
public struct RawRecord: @unchecked Sendable {
    /// Where the record came from.
    public var location: RecordLocation
    /// The record's fields: JSON values as `JSONSerialization` gives them (`String`, `NSNumber`,
    /// `[Any]`, `[String: Any]`, `NSNull`), or `String` for CSV/TSV cells.
    public var object: [String: Any]

    /// Creates a record.
    /// - Parameters:
    ///   - location: where it came from.
    ///   - object: its fields.
    public init(location: RecordLocation, object: [String: Any]) {
        self.location = location
        self.object = object
    }

    /// The 1-based line of the record, or its element position in a JSON array file.
    public var line: Int { location.number }

    /// The record's field names, sorted.
    public var keys: [String] { object.keys.sorted() }

    /// Whether the record has the field with a non-null value.
    /// - Parameter key: the field name.
    public func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return !(value is NSNull)
    }

    /// An error at this record.
    /// - Parameters:
    ///   - field: the field to blame, if any.
    ///   - message: what is wrong.
    public func error(field: String? = nil, _ message: String) -> DatasetError {
        location.error(field: field, message)
    }

    /// The value of a field that must be present and not null.
    /// - Parameter key: the field name.
    /// - Throws: ``DatasetError`` "missing field" when absent or null.
    public func value(_ key: String) throws(DatasetError) -> Any {
        guard let value = object[key], !(value is NSNull) else {
            throw error(field: key, "missing field (the record has \(Self.describe(keys: keys)))")
        }
        return value
    }

    /// A field that must be a string.
    /// - Parameter key: the field name.
    /// - Throws: ``DatasetError`` when the field is missing or not a string.
    public func string(_ key: String) throws(DatasetError) -> String {
        let value = try value(key)
        guard let text = value as? String else { throw error(field: key, "expected a string, found \(Self.typeName(of: value))") }
        return text
    }

    /// A field that, when present and not null, must be a string.
    /// - Parameter key: the field name.
    /// - Returns: the string, or nil when the field is absent or null.
    /// - Throws: ``DatasetError`` when the field is present but not a string.
    public func optionalString(_ key: String) throws(DatasetError) -> String? {
        guard has(key) else { return nil }
        return try string(key)
    }

    /// A field that must be an integer (a JSON number with no fractional part, not a boolean; in
    /// a CSV/TSV row, a cell that parses as an integer).
    /// - Parameter key: the field name.
    /// - Throws: ``DatasetError`` when the field is missing or not an integer.
    public func integer(_ key: String) throws(DatasetError) -> Int {
        let value = try value(key)
        if let integer = Self.integerValue(value) { return integer }
        if let text = value as? String, let integer = Int(text.trimmingCharacters(in: .whitespaces)) { return integer }
        throw error(field: key, "expected an integer, found \(Self.typeName(of: value))")
    }

    /// A field that must be a string or an integer, returned as a string (`1` → `"1"`).
    /// - Parameter key: the field name.
    /// - Throws: ``DatasetError`` when the field is missing or of another type.
    public func stringOrInteger(_ key: String) throws(DatasetError) -> String {
        let value = try value(key)
        if let text = value as? String { return text }
        if let integer = Self.integerValue(value) { return String(integer) }
        throw error(field: key, "expected a string or an integer, found \(Self.typeName(of: value))")
    }

    /// A field that must be a JSON array.
    /// - Parameter key: the field name.
    /// - Throws: ``DatasetError`` when the field is missing or not an array.
    public func array(_ key: String) throws(DatasetError) -> [Any] {
        let value = try value(key)
        guard let array = value as? [Any] else { throw error(field: key, "expected an array, found \(Self.typeName(of: value))") }
        return array
    }

    /// A field that must be a JSON array of strings.
    /// - Parameter key: the field name.
    /// - Throws: ``DatasetError`` naming `key[i]` when an element is not a string.
    public func strings(_ key: String) throws(DatasetError) -> [String] {
        var result: [String] = []
        for (index, element) in try array(key).enumerated() {
            guard let text = element as? String else {
                throw error(field: "\(key)[\(index)]", "expected a string, found \(Self.typeName(of: element))")
            }
            result.append(text)
        }
        return result
    }

    // MARK: JSON value helpers

    private static let booleanType = ObjectIdentifier(type(of: NSNumber(value: true)))

    /// Whether a JSON value is a boolean (on both Darwin and Linux Foundation).
    static func isBoolean(_ value: Any) -> Bool {
        if value is Bool, !(value is NSNumber) { return true }
        guard let number = value as? NSNumber else { return false }
        return ObjectIdentifier(type(of: number)) == booleanType
    }

    /// The integer in a JSON number with no fractional part; nil for booleans and other values.
    static func integerValue(_ value: Any) -> Int? {
        guard !(value is String), !isBoolean(value), let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
        return number.intValue
    }

    /// "a string", "a number", "a boolean", "an array", "an object" or "null".
    static func typeName(of value: Any) -> String {
        if value is String { return "a string" }
        if value is NSNull { return "null" }
        if isBoolean(value) { return "a boolean" }
        if value is NSNumber { return "a number" }
        if value is [Any] { return "an array" }
        if value is [String: Any] { return "an object" }
        return "a value of type \(type(of: value))"
    }

    /// `"a", "b"` or `no fields`.
    public static func describe(keys: [String]) -> String {
        keys.isEmpty ? "no fields" : "fields " + keys.map { "\"\($0)\"" }.joined(separator: ", ")
    }
}
