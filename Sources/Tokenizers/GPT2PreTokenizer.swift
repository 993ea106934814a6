/// GPT-2's pre-tokenization: the split of text into the chunks BPE runs on, by the pattern
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// implemented by hand over the UTF-8 bytes of the text (a regex engine is far slower).
///
/// Reference: openai/gpt-2 `src/encoder.py`; tiktoken's `r50k_base` pattern
/// (`'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s`, which
/// splits every text the same way) and Hugging Face's `ByteLevel` pre-tokenizer. `\p{L}` is
/// general category L*, `\p{N}` is N*, `\s` is the Unicode `White_Space` property (as in Rust's
/// `regex` crate that tiktoken uses), all taken from the Unicode data of the Swift standard library.
///
/// How each alternative maps to the code, at a chunk start with scalar `c`:
/// - `'` followed by `s t m d` or `re ve ll` (lowercase only): the contraction.
/// - `' '` followed by a scalar that is not whitespace: the space joins the run of that scalar's
///   class (letters, numbers, or other).
/// - a letter, number or other scalar: the run of scalars of that class.
/// - whitespace: the whole run if it reaches the end of the text; else the run without its last
///   scalar (which then starts the next chunk, usually as `' '` + word); a lone whitespace scalar
///   before a non-space is a chunk of its own.
struct GPT2PreTokenizer {
    /// The class of a scalar in the pattern.
    enum ScalarClass: UInt8 {
        /// `\p{L}`.
        case letter = 0
        /// `\p{N}`.
        case number = 1
        /// `\s`.
        case whitespace = 2
        /// Anything else: `[^\s\p{L}\p{N}]`.
        case other = 3
    }

    /// The UTF-8 bytes being split (valid UTF-8: the storage of a Swift string).
    let bytes: UnsafeBufferPointer<UInt8>
    /// Where the next chunk starts.
    private(set) var position: Int
    /// One past the last byte to split.
    let end: Int
    /// `classTable` (the class of every scalar below U+10000), read once per splitter.
    private let classes: UnsafePointer<UInt8>

    /// A splitter over `bytes[range]`; the range must start and end on scalar boundaries.
    init(bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
        self.classes = UnsafePointer(Self.classTable)
    }

    /// The byte range of the next chunk, or `nil` at the end.
    @inline(__always)
    mutating func next() -> Range<Int>? {
        let start = position
        guard start < end else { return nil }
        let first = bytes[start]

        if first == 0x27 {  // '
            if start + 1 < end {
                let second = bytes[start + 1]
                // 's 't 'm 'd
                if second == 0x73 || second == 0x74 || second == 0x6D || second == 0x64 {
                    position = start + 2
                    return start..<position
                }
                if start + 2 < end {
                    let third = bytes[start + 2]
                    // 're 've 'll
                    if (third == 0x65 && (second == 0x72 || second == 0x76)) || (second == 0x6C && third == 0x6C) {
                        position = start + 3
                        return start..<position
                    }
                }
            }
            position = run(of: ScalarClass.other.rawValue, from: start + 1)
            return start..<position
        }

        if first == 0x20, start + 1 < end {
            let (scalar, _) = decode(at: start + 1)
            let kind = classOf(scalar)
            if kind != ScalarClass.whitespace.rawValue {
                position = run(of: kind, from: start + 1)
                return start..<position
            }
        }

        let (scalar, length) = decode(at: start)
        let kind = classOf(scalar)
        if kind != ScalarClass.whitespace.rawValue {
            position = run(of: kind, from: start + length)
            return start..<position
        }

        // A whitespace run: find its end and the start of its last scalar.
        var lastStart = start
        var index = start + length
        while index < end {
            let (next, nextLength) = decode(at: index)
            guard classOf(next) == ScalarClass.whitespace.rawValue else { break }
            lastStart = index
            index += nextLength
        }
        if index == end || lastStart == start {
            position = index  // \s+(?!\S) to the end, or a lone \s before a non-space
        } else {
            position = lastStart  // \s+(?!\S): leave the last whitespace scalar for the next chunk
        }
        return start..<position
    }

    /// The end of the run of scalars of class `kind` (a `ScalarClass` raw value) that starts at
    /// `index`.
    @inline(__always)
    private func run(of kind: UInt8, from index: Int) -> Int {
        var index = index
        while index < end {
            let byte = bytes[index]
            if byte < 0x80 {
                guard classes[Int(byte)] == kind else { break }
                index += 1
            } else {
                let (scalar, length) = decode(at: index)
                guard classOf(scalar) == kind else { break }
                index += length
            }
        }
        return index
    }

    /// The class (`ScalarClass` raw value) of the scalar with value `value`.
    @inline(__always)
    private func classOf(_ value: UInt32) -> UInt8 {
        value < 0x10000 ? classes[Int(value)] : Self.computeClass(value).rawValue
    }

    /// The scalar value that starts at `index` and its length in bytes.
    @inline(__always)
    private func decode(at index: Int) -> (UInt32, Int) {
        let lead = UInt32(bytes[index])
        if lead < 0x80 { return (lead, 1) }
        if lead < 0xE0 {
            return ((lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F), 2)
        }
        if lead < 0xF0 {
            return ((lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F), 3)
        }
        return ((lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
                | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F), 4)
    }

    /// The class of the scalar with value `value`.
    static func classify(_ value: UInt32) -> ScalarClass {
        value < 0x10000 ? ScalarClass(rawValue: classTable[Int(value)])! : computeClass(value)
    }

    /// The class (`ScalarClass` raw value) of every scalar below U+10000 (surrogates count as
    /// other), computed once and never freed.
    nonisolated(unsafe) static let classTable: UnsafeMutablePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x10000)
        for value in 0..<0x10000 {
            table[value] = computeClass(UInt32(value)).rawValue
        }
        return table
    }()

    /// The class of a scalar from its Unicode properties.
    static func computeClass(_ value: UInt32) -> ScalarClass {
        guard let scalar = Unicode.Scalar(value) else { return .other }
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}

/// GPT-2's reversible mapping between the 256 byte values and 256 printable Unicode scalars, used to
/// write byte-level tokens as strings in `vocab.json`, `merges.txt` and `tokenizer.json`.
///
/// Reference: `bytes_to_unicode()` in openai/gpt-2 `src/encoder.py` (and Hugging Face's
/// `ByteLevel` pre-tokenizer). The printable bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for
/// themselves; the other 68 bytes (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100
/// and up in byte order, so the space byte 0x20 is written `Ġ` (U+0120) and newline 0x0A is `Ċ`.
enum ByteLevelAlphabet {
    /// The scalar that stands for each byte value: `scalarForByte[b]`.
    static let scalarForByte: [Unicode.Scalar] = {
        var scalars = [Unicode.Scalar](repeating: "\0", count: 256)
        var shifted: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(UInt8(byte)) {
                scalars[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                scalars[byte] = Unicode.Scalar(shifted)!
                shifted += 1
            }
        }
        return scalars
    }()

    /// The byte each alphabet scalar stands for, indexed by scalar value (`0..<324`), `-1` where
    /// the scalar is not in the alphabet.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in scalarForByte.enumerated() {
            table[Int(scalar.value)] = Int16(byte)
        }
        return table
    }()

    /// The 256 byte values in the order of the scalars that stand for them, the order in which
    /// GPT-2 (and Hugging Face's trainer) give the single-byte tokens their ids 0…255.
    static let bytesInScalarOrder: [UInt8] = (0..<256).map { UInt8($0) }
        .sorted { scalarForByte[Int($0)].value < scalarForByte[Int($1)].value }

    /// Whether `byte` is one of GPT-2's 188 bytes that stand for themselves.
    static func isPrintable(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The byte-level spelling of `bytes`, e.g. `"Ġthe"` for the bytes of `" the"`.
    static func string(for bytes: some Sequence<UInt8>) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(scalarForByte[Int(byte)]) }
        return String(text)
    }

    /// The bytes a byte-level spelling stands for, or `nil` if `token` has a scalar outside the
    /// alphabet (such a token, e.g. an added token `"✓"`, stands for its own UTF-8, as in Hugging
    /// Face's `ByteLevel` decoder).
    static func bytes(for token: String) -> [UInt8]? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteForScalar.count, byteForScalar[value] >= 0 else { return nil }
            bytes.append(UInt8(byteForScalar[value]))
        }
        return bytes
    }
}

/// `0x0A`-style spelling of a byte value for error messages.
func hexByte(_ value: Int) -> String {
    let hex = String(value, radix: 16, uppercase: true)
    return "0x" + (hex.count < 2 ? "0" + hex : hex)
}
