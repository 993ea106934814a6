import Foundation

/// An error reading, validating or applying a tokenizer: which file (or text), where in it, and what
/// was expected there.
///
/// The description reads like a compiler diagnostic, for example
/// `merges.txt:7: expected two tokens separated by one space, found 1 ("Ġt")` or
/// `tokenizer.json:12 (model.vocab[7]): expected a finite number as the score of "▁the", found the string "x"`.
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file the error concerns (its path), or `nil` when it concerns text passed in memory.
    public let path: String?
    /// The 1-based line in `path` where the problem is, when it is known.
    public let line: Int?
    /// The JSON field (dotted, with `[index]` for array elements, e.g. `model.merges[12]`) or the
    /// text position (e.g. `text position 4`) the problem is in, when it applies.
    public let field: String?
    /// What is wrong and what was expected.
    public let message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - path: the file the error concerns, or `nil` for in-memory text.
    ///   - line: the 1-based line in that file, when known.
    ///   - field: the JSON field or text position, when it applies.
    ///   - message: what is wrong and what was expected.
    public init(path: String?, line: Int? = nil, field: String? = nil, message: String) {
        self.path = path
        self.line = line
        self.field = field
        self.message = message
    }

    /// The error as `<path>:<line> (<field>): <message>`, leaving out the parts that are unknown.
    public var description: String {
        var location = path ?? "<text>"
        if let line { location += ":\(line)" }
        if let field { location += " (\(field))" }
        return "\(location): \(message)"
    }
}

extension TokenizerError {
    /// An error for a file that could not be read at all.
    static func unreadable(_ url: URL, _ underlying: any Error) -> TokenizerError {
        TokenizerError(path: url.path, message: "cannot read the file: \(underlying.localizedDescription)")
    }

    /// Reads a whole file, turning I/O failures into a `TokenizerError` that names the file.
    static func readFile(_ url: URL) throws(TokenizerError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw unreadable(url, error)
        }
    }

    /// Writes a whole file atomically (a temporary file renamed into place).
    static func writeFile(_ bytes: [UInt8], to url: URL) throws(TokenizerError) {
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw TokenizerError(path: url.path, message: "cannot write the file: \(error.localizedDescription)")
        }
    }
}

/// A short, printable rendering of a token or character for error messages: quoted, with control
/// characters and invisible scalars written as `\u{…}`, and cut after 40 characters.
func quoted(_ text: String) -> String {
    var out = "\""
    for (index, scalar) in text.unicodeScalars.enumerated() {
        if index == 40 { out += "…"; break }
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar.properties.isWhitespace && scalar != " "
                || scalar.properties.generalCategory == .format
                || scalar.properties.generalCategory == .nonspacingMark {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
