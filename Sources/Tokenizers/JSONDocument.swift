import Foundation

/// A JSON value read from a file, with the byte offset where it starts so that errors can name the
/// line. Object members keep their file order (and duplicates, which readers reject where they
/// matter); strings keep their exact scalars (no Unicode normalization).
struct JSONNode {
    /// The value itself.
    enum Value {
        /// An object's members in file order.
        case object([(key: String, node: JSONNode)])
        /// An array's elements.
        case array([JSONNode])
        /// A string, escapes resolved.
        case string(String)
        /// A number, as written in the file.
        case number(String)
        /// `true` or `false`.
        case bool(Bool)
        /// `null`.
        case null
    }

    /// The value.
    let value: Value
    /// The byte offset of the value's first character in the file.
    let offset: Int

    /// A word for the value's kind, for error messages ("an object", "a string", …).
    var kindDescription: String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string(let text): "the string \(quoted(text))"
        case .number(let text): "the number \(text)"
        case .bool(let flag): "\(flag)"
        case .null: "null"
        }
    }

    /// The member named `key` of an object, or `nil` if the node is no object or has no such member.
    subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.node
    }

    /// The value as a string, or `nil`.
    var string: String? {
        if case .string(let text) = value { return text }
        return nil
    }

    /// The value as an integer, or `nil` if it is not an integral number in `Int`'s range.
    var integer: Int? {
        if case .number(let text) = value { return Int(text) }
        return nil
    }

    /// The value as a Boolean, or `nil`.
    var bool: Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }

    /// Whether the value is `null`.
    var isNull: Bool {
        if case .null = value { return true }
        return false
    }
}

/// A JSON file parsed into `JSONNode`s, able to turn byte offsets into line numbers for errors.
///
/// The parser is strict RFC 8259 JSON (no comments, no trailing commas) over UTF-8 input, nested
/// at most 256 levels deep.
struct JSONDocument {
    /// The file's path, for error messages.
    let path: String
    /// The file's bytes.
    let bytes: [UInt8]
    /// The top-level value.
    let root: JSONNode

    /// Reads and parses the file at `url`.
    init(contentsOf url: URL) throws(TokenizerError) {
        try self.init(bytes: TokenizerError.readFile(url), path: url.path)
    }

    /// Parses `bytes`; `path` names them in errors.
    init(bytes: [UInt8], path: String) throws(TokenizerError) {
        self.path = path
        self.bytes = bytes
        if let bad = firstInvalidUTF8(bytes) {
            throw TokenizerError(path: path, line: Self.line(of: bad, in: bytes), message: "the file is not valid UTF-8 (byte \(bad))")
        }
        var parser = JSONParser(bytes: bytes, path: path)
        root = try parser.parseDocument()
    }

    /// The 1-based line of byte `offset`.
    func line(of offset: Int) -> Int { Self.line(of: offset, in: bytes) }

    /// An error at `node`, naming its line and `field`.
    func error(at node: JSONNode, field: String?, _ message: String) -> TokenizerError {
        TokenizerError(path: path, line: line(of: node.offset), field: field, message: message)
    }

    static func line(of offset: Int, in bytes: [UInt8]) -> Int {
        var line = 1
        for byte in bytes[..<min(offset, bytes.count)] where byte == 0x0A { line += 1 }
        return line
    }
}

/// The offset of the first byte of `bytes` that is not part of well-formed UTF-8, or `nil`.
func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
    var index = 0
    let count = bytes.count
    while index < count {
        let lead = bytes[index]
        if lead < 0x80 { index += 1; continue }
        let length: Int
        let minimum: UInt32
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; value = UInt32(lead & 0x07)
        default: return index
        }
        guard index + length <= count else { return index }
        for next in bytes[(index + 1)..<(index + length)] {
            guard next & 0xC0 == 0x80 else { return index }
            value = value << 6 | UInt32(next & 0x3F)
        }
        if value < minimum || value > 0x10FFFF || (0xD800...0xDFFF).contains(value) { return index }
        index += length
    }
    return nil
}

/// The recursive-descent parser behind `JSONDocument`.
private struct JSONParser {
    let bytes: [UInt8]
    let path: String
    var index = 0
    var depth = 0

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    func fail(_ message: String, at offset: Int? = nil) -> TokenizerError {
        let at = offset ?? index
        return TokenizerError(path: path, line: JSONDocument.line(of: at, in: bytes), message: "invalid JSON: \(message)")
    }

    mutating func parseDocument() throws(TokenizerError) -> JSONNode {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }  // byte-order mark
        let node = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected text after the top-level value") }
        return node
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(TokenizerError) -> JSONNode {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of file, expected a value") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"): return JSONNode(value: try parseObject(), offset: start)
        case UInt8(ascii: "["): return JSONNode(value: try parseArray(), offset: start)
        case UInt8(ascii: "\""): return JSONNode(value: .string(try parseString()), offset: start)
        case UInt8(ascii: "t"): try expectWord("true"); return JSONNode(value: .bool(true), offset: start)
        case UInt8(ascii: "f"): try expectWord("false"); return JSONNode(value: .bool(false), offset: start)
        case UInt8(ascii: "n"): try expectWord("null"); return JSONNode(value: .null, offset: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return JSONNode(value: try parseNumber(), offset: start)
        default: throw fail("unexpected character \(quoted(String(decoding: [bytes[index]], as: UTF8.self))), expected a value")
        }
    }

    mutating func expectWord(_ word: String) throws(TokenizerError) {
        let utf8 = Array(word.utf8)
        guard index + utf8.count <= bytes.count, Array(bytes[index..<(index + utf8.count)]) == utf8 else {
            throw fail("expected \(word)")
        }
        index += utf8.count
    }

    mutating func nest() throws(TokenizerError) {
        depth += 1
        guard depth <= 256 else { throw fail("nested more than 256 levels deep") }
    }

    mutating func parseObject() throws(TokenizerError) -> JSONNode.Value {
        try nest()
        defer { depth -= 1 }
        index += 1
        var members: [(key: String, node: JSONNode)] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after the member name") }
            index += 1
            members.append((key, try parseValue()))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of file inside an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw fail("expected ',' or '}' in an object")
        }
    }

    mutating func parseArray() throws(TokenizerError) -> JSONNode.Value {
        try nest()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONNode] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of file inside an array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            throw fail("expected ',' or ']' in an array")
        }
    }

    mutating func parseNumber() throws(TokenizerError) -> JSONNode.Value {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.index
            while parser.index < parser.bytes.count, (0x30...0x39).contains(parser.bytes[parser.index]) { parser.index += 1 }
            return parser.index - from
        }
        guard digits(&self) > 0 else { throw fail("expected digits", at: start) }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw fail("expected digits after '.'", at: start) }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw fail("expected digits in the exponent", at: start) }
        }
        return .number(String(decoding: bytes[start..<index], as: UTF8.self))
    }

    mutating func parseString() throws(TokenizerError) -> String {
        let start = index
        index += 1
        // Fast path: no escapes.
        var scan = index
        while scan < bytes.count {
            let byte = bytes[scan]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: bytes[index..<scan], as: UTF8.self)
                index = scan + 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("unescaped control character in a string", at: scan) }
            scan += 1
        }
        var buffer = Array(bytes[index..<scan])
        index = scan
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            }
            if byte < 0x20 { throw fail("unescaped control character in a string") }
            if byte != UInt8(ascii: "\\") { buffer.append(byte); index += 1; continue }
            guard index + 1 < bytes.count else { break }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escape)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var value = try parseHex4()
                if (0xD800...0xDBFF).contains(value) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired UTF-16 surrogate in a \\u escape")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired UTF-16 surrogate in a \\u escape") }
                    value = 0x10000 + (value - 0xD800) << 10 + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(value) {
                    throw fail("unpaired UTF-16 surrogate in a \\u escape")
                }
                buffer.append(contentsOf: Array(String(Unicode.Scalar(value)!).utf8))
            default:
                throw fail("invalid escape '\\\(String(decoding: [escape], as: UTF8.self))' in a string")
            }
        }
        throw fail("unterminated string", at: start)
    }

    mutating func parseHex4() throws(TokenizerError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("expected four hex digits after \\u") }
        var value: UInt32 = 0
        for byte in bytes[index..<(index + 4)] {
            guard let digit = Int(String(decoding: [byte], as: UTF8.self), radix: 16) else {
                throw fail("expected four hex digits after \\u")
            }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }
}

/// Builds JSON text byte by byte, the way Python's `json.dumps(..., ensure_ascii=False)` writes it:
/// strings keep their scalars as UTF-8 and escape only `"`, `\` and control characters.
struct JSONWriter {
    /// The UTF-8 text written so far.
    private(set) var bytes: [UInt8] = []

    /// Appends `text` verbatim (it must already be JSON).
    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends `text` as a quoted JSON string.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends `"key": ` (a member name and its colon).
    mutating func key(_ name: String) {
        string(name)
        raw(": ")
    }

    /// Appends an object with one member per line, `"token": id`, in the order given: the layout of
    /// a vocabulary in `vocab.json` and `tokenizer.json`.
    mutating func vocabularyObject(_ entries: [(token: String, id: Int)], indent: String) {
        raw("{")
        for (index, entry) in entries.enumerated() {
            raw(index == 0 ? "\n" : ",\n")
            raw(indent + "  ")
            key(entry.token)
            raw(String(entry.id))
        }
        raw(entries.isEmpty ? "}" : "\n\(indent)}")
    }
}
