import Foundation

/// One token per Unicode scalar, the vocabulary being the distinct scalars of a corpus in code point
/// order: nanoGPT's `shakespeare_char` tokenizer (`chars = sorted(list(set(data)))`, which works on
/// Python `str` code points), so tiny Shakespeare gives 65 ids from `"\n"` = 0 to `"z"` = 64.
///
/// Scalars, not `Character`s (grapheme clusters): `"e\u{301}"` is two ids, as in Python, and
/// distinct scalars that Swift considers canonically equivalent (`"Å"` U+00C5 and U+212B) stay
/// distinct.
///
/// Text must use only scalars of the vocabulary: `encode` stops the program on any other scalar,
/// naming it and its position; `encodeChecked` throws instead. There is no unknown token and
/// nothing is skipped. `save(to:)` writes a Hugging Face `tokenizer.json` (a `WordLevel` model with
/// a pre-tokenizer that splits every scalar) that `tokenizers.Tokenizer.from_file` reads with the
/// same ids.
public final class CharacterTokenizer: Tokenizer {
    /// The scalar of each id, in id order.
    public let characters: [Unicode.Scalar]
    private let idForScalar: [UInt32: Int]
    /// Ids of ASCII scalars (`-1` if not in the vocabulary), the fast path of `encode`.
    private let asciiIds: [Int]

    /// The number of ids: the number of distinct scalars.
    public var vocabularySize: Int { characters.count }
    /// `nil`: a character vocabulary has no end-of-text token.
    public var endOfTextTokenId: Int? { nil }
    /// Empty: a character vocabulary has no special tokens.
    public var specialTokens: [String: Int] { [:] }

    /// A tokenizer whose id `i` is `characters[i]`.
    /// - Parameter characters: distinct scalars, in id order.
    /// - Throws: `TokenizerError` if a scalar repeats.
    public convenience init(characters: [Unicode.Scalar]) throws(TokenizerError) {
        try self.init(characters: characters, source: nil)
    }

    /// The tokenizer of a corpus: its distinct scalars sorted by code point.
    /// - Parameter corpus: the training text (e.g. all of tiny Shakespeare).
    public convenience init(corpus: String) {
        let distinct = Set(corpus.unicodeScalars.map(\.value)).sorted().map { Unicode.Scalar($0)! }
        try! self.init(characters: distinct, source: nil)
    }

    /// The tokenizer of the corpus in a UTF-8 text file (not a saved tokenizer: for that use
    /// `init(tokenizerJSON:)` or `loadTokenizer(from:)`).
    /// - Parameter file: a UTF-8 text file, e.g. `tiny_shakespeare.txt`.
    /// - Throws: `TokenizerError` if the file cannot be read or is not UTF-8.
    public convenience init(contentsOf file: URL) throws(TokenizerError) {
        let bytes = try TokenizerError.readFile(file)
        if let bad = firstInvalidUTF8(bytes) {
            throw TokenizerError(path: file.path, line: JSONDocument.line(of: bad, in: bytes), message: "the file is not valid UTF-8 (byte \(bad))")
        }
        self.init(corpus: String(decoding: bytes, as: UTF8.self))
    }

    init(characters: [Unicode.Scalar], source: String?) throws(TokenizerError) {
        var ids = [UInt32: Int](minimumCapacity: characters.count)
        var ascii = [Int](repeating: -1, count: 128)
        for (id, scalar) in characters.enumerated() {
            if let first = ids[scalar.value] {
                throw TokenizerError(path: source, message: "the character \(Self.describe(scalar)) has two ids, \(first) and \(id)")
            }
            ids[scalar.value] = id
            if scalar.isASCII { ascii[Int(scalar.value)] = id }
        }
        self.characters = characters
        self.idForScalar = ids
        self.asciiIds = ascii
    }

    /// The id of each scalar of `text`.
    ///
    /// Every scalar must be in the vocabulary; an unknown one stops the program with a message
    /// naming it and its position. Use `encodeChecked(_:)` for text that may hold unknown scalars.
    /// - Parameter text: text over the vocabulary.
    /// - Returns: one id per Unicode scalar.
    public func encode(_ text: String) -> [Int] {
        do {
            return try encodeChecked(text)
        } catch {
            preconditionFailure("CharacterTokenizer.encode: \(error.message) at \(error.field ?? "?"); use encodeChecked(_:) for text that may hold unknown characters")
        }
    }

    /// The id of each scalar of `text`, or an error for the first scalar outside the vocabulary.
    /// - Parameter text: any text.
    /// - Returns: one id per Unicode scalar.
    /// - Throws: `TokenizerError` whose field is `text position <n>` (the scalar's 0-based index)
    ///   and whose message names the scalar and its code point.
    public func encodeChecked(_ text: String) throws(TokenizerError) -> [Int] {
        var ids = [Int]()
        ids.reserveCapacity(text.utf8.count)
        for (position, scalar) in text.unicodeScalars.enumerated() {
            let id = scalar.isASCII ? asciiIds[Int(scalar.value)] : idForScalar[scalar.value] ?? -1
            guard id >= 0 else {
                throw TokenizerError(path: nil, field: "text position \(position)", message: "the character \(Self.describe(scalar)) is not in the vocabulary of \(characters.count) characters")
            }
            ids.append(id)
        }
        return ids
    }

    /// `text` with what this vocabulary lacks approximated: typographic quotes, dashes and
    /// ellipses become their ASCII forms, letters lose diacritics (è → e), and any character
    /// still unknown is dropped. Returns the text and how many characters were changed or dropped.
    /// - Parameter text: any text.
    public func folding(_ text: String) -> (text: String, changed: Int) {
        let replacements: [Unicode.Scalar: String] = ["\u{2018}": "'", "\u{2019}": "'", "\u{201C}": "\"", "\u{201D}": "\"",
                                                      "\u{2013}": "-", "\u{2014}": "--", "\u{2026}": "...", "\u{00A0}": " "]
        var result = String.UnicodeScalarView()
        var changed = 0
        func known(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII ? asciiIds[Int(scalar.value)] >= 0 : idForScalar[scalar.value] != nil
        }
        for scalar in text.unicodeScalars {
            if known(scalar) { result.append(scalar); continue }
            changed += 1
            var candidate = replacements[scalar] ?? String(scalar).folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
            if candidate.unicodeScalars.contains(where: { !known($0) }) {
                candidate = String(String.UnicodeScalarView(candidate.unicodeScalars.filter(known)))
            }
            result.append(contentsOf: candidate.unicodeScalars)
        }
        return (String(result), changed)
    }

    /// The text of `ids`, one scalar each; ids outside `0..<vocabularySize` are skipped.
    /// - Parameter ids: token ids.
    public func decode(_ ids: [Int]) -> String {
        var scalars = String.UnicodeScalarView()
        for id in ids where id >= 0 && id < characters.count { scalars.append(characters[id]) }
        return String(scalars)
    }

    /// The UTF-8 of `decode(ids)`.
    /// - Parameter ids: token ids.
    public func decodeBytes(_ ids: [Int]) -> [UInt8] {
        Array(decode(ids).utf8)
    }

    /// The one-scalar string of `id`, or `nil` outside `0..<vocabularySize`.
    /// - Parameter id: a token id.
    public func token(for id: Int) -> String? {
        id >= 0 && id < characters.count ? String(characters[id]) : nil
    }

    /// `"x" (U+0078)` for error messages.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "\(quoted(String(scalar))) (U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex))"
    }
}
