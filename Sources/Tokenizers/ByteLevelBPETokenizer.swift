import Foundation

/// GPT-2's byte-level byte-pair-encoding tokenizer, giving the same ids as tiktoken's `gpt2`
/// (`r50k_base`) encoding and Hugging Face's `GPT2TokenizerFast`.
///
/// Text is split into chunks by GPT-2's pattern (`GPT2PreTokenizer`), each chunk's UTF-8 bytes start
/// as one token per byte, and adjacent tokens are merged by rank until no rule applies. Special
/// tokens (GPT-2: `<|endoftext|>` = 50256) written in the text are matched first, leftmost-longest.
///
/// Load it from Hugging Face's `vocab.json` + `merges.txt` or `tokenizer.json`, or from a tiktoken
/// rank file (`ByteLevelBPETokenizer+Loading.swift`); learn one with `BytePairTrainer`; write it with
/// `save(to:)`. Reference: Radford et al. 2019 (GPT-2), openai/gpt-2 `src/encoder.py`.
public final class ByteLevelBPETokenizer: Tokenizer {
    /// The vocabulary string of each id (`nil` for ids the vocabulary skips).
    let tokenStrings: [String?]
    /// The bytes of token `id` are `tokenBytes[tokenByteOffsets[id]..<tokenByteOffsets[id + 1]]`.
    let tokenByteOffsets: [Int]
    let tokenBytes: [UInt8]
    /// The merge rules, lowest rank (first to apply) first.
    let mergeRules: [MergeRule]
    let mergeTable: MergeTable
    /// The token id of each single byte.
    let byteIds: [Int32]
    let specialTokenMatcher: SpecialTokenMatcher
    /// Special-token ids that absorb the whitespace before (left) or after (right) their match.
    let stripping: [Int: (left: Bool, right: Bool)]
    let workspaces = WorkspacePool()

    /// The number of ids: one more than the largest id (GPT-2: 50257).
    public let vocabularySize: Int
    /// Special tokens by text (GPT-2: `["<|endoftext|>": 50256]`); see `Tokenizer.specialTokens`.
    public let specialTokens: [String: Int]
    /// The number of merge rules (GPT-2: 50000).
    public var mergeCount: Int { mergeRules.count }
    /// The merge rules as vocabulary strings, first to apply first: the lines of `merges.txt`
    /// (GPT-2's first is `("Ġ", "t")`).
    public var merges: [(left: String, right: String)] {
        mergeRules.map { (tokenStrings[Int($0.left)]!, tokenStrings[Int($0.right)]!) }
    }
    /// The id of `<|endoftext|>`, if it is a special token.
    public var endOfTextTokenId: Int? { specialTokens["<|endoftext|>"] }

    /// How far an id may lie beyond the ids listed (gaps are allowed, a table of gigabytes for
    /// one hostile id is not).
    static let largestIdGap = 1 << 16

    /// Builds the tokenizer from a validated vocabulary; every loader ends here.
    ///
    /// - Parameters:
    ///   - tokens: the vocabulary string of each id (`nil` where an id is unused), byte-level
    ///     spelled (`ByteLevelAlphabet`); a string with scalars outside the alphabet stands for its
    ///     own UTF-8.
    ///   - merges: merge rules in rank order; their ids must be tokens of `tokens`.
    ///   - specialTokens: special tokens by text; an id already in `tokens` must spell the same text,
    ///     other ids extend the vocabulary.
    ///   - source: the file the vocabulary came from, for errors.
    ///   - stripping: special-token ids whose match absorbs the whitespace before it (`lstrip`) or
    ///     after it (`rstrip`), as `added_tokens` flags say (RoBERTa's `<mask>` has lstrip).
    init(tokens: [String?], merges: [MergeRule], specialTokens: [String: Int], stripping: [Int: (left: Bool, right: Bool)] = [:],
         source: String) throws(TokenizerError) {
        var tokens = tokens
        // One bound for every special id, fixed before any is placed (a chain of ids each a gap
        // beyond the last must not grow the table step by step).
        let largestId = tokens.count + specialTokens.count + Self.largestIdGap
        for (text, id) in specialTokens.sorted(by: { $0.value < $1.value }) {
            guard !text.isEmpty else {
                throw TokenizerError(path: source, field: "special tokens", message: "a special token is the empty string")
            }
            guard id >= 0, id <= largestId else {
                throw TokenizerError(path: source, field: "special tokens",
                                     message: "special token \(quoted(text)) has id \(id), far beyond the ids listed (at most \(largestId) is accepted)")
            }
            if id >= tokens.count { tokens += [String?](repeating: nil, count: id + 1 - tokens.count) }
            if let existing = tokens[id], existing != text {
                throw TokenizerError(path: source, field: "special tokens", message: "special token \(quoted(text)) has id \(id), which the vocabulary gives to \(quoted(existing))")
            }
            tokens[id] = text
        }

        var offsets = [0]
        var storage = [UInt8]()
        offsets.reserveCapacity(tokens.count + 1)
        storage.reserveCapacity(tokens.count * 7)
        var byteIds = [Int32](repeating: -1, count: 256)
        for (id, token) in tokens.enumerated() {
            if let token {
                if specialTokens[token] == id {
                    storage.append(contentsOf: token.utf8)
                } else if let bytes = ByteLevelAlphabet.bytes(for: token) {
                    storage.append(contentsOf: bytes)
                    if bytes.count == 1, byteIds[Int(bytes[0])] < 0 { byteIds[Int(bytes[0])] = Int32(id) }
                } else {
                    storage.append(contentsOf: token.utf8)
                }
            }
            offsets.append(storage.count)
        }
        if let missing = byteIds.firstIndex(of: -1) {
            let spelling = ByteLevelAlphabet.string(for: [UInt8(missing)])
            throw TokenizerError(path: source, message: "the vocabulary has no token for the byte \(hexByte(missing)) (spelled \(quoted(spelling))); a byte-level vocabulary needs all 256 single bytes")
        }

        let table = MergeTable(capacity: merges.count)
        for (rank, rule) in merges.enumerated() {
            precondition(Int(rule.left) < tokens.count && Int(rule.right) < tokens.count && Int(rule.merged) < tokens.count,
                         "merge rule \(rank) refers to an id outside the vocabulary")
            table.insert(left: rule.left, right: rule.right, rank: rank, merged: rule.merged)
        }

        self.tokenStrings = tokens
        self.tokenByteOffsets = offsets
        self.tokenBytes = storage
        self.mergeRules = merges
        self.mergeTable = table
        self.byteIds = byteIds
        self.vocabularySize = tokens.count
        self.specialTokens = specialTokens
        self.specialTokenMatcher = SpecialTokenMatcher(specialTokens)
        self.stripping = stripping
    }

    /// The vocabulary string of `id` (e.g. `"Ġthe"`), or `nil` if `id` is no token.
    /// - Parameter id: a token id.
    public func token(for id: Int) -> String? {
        id >= 0 && id < tokenStrings.count ? tokenStrings[id] : nil
    }

    /// The id of the vocabulary string `token` (e.g. `"Ġthe"` → 262), or `nil`. A linear search;
    /// meant for tests and tools, not for loops.
    /// - Parameter token: a vocabulary string, byte-level spelled.
    public func id(for token: String) -> Int? {
        let utf8 = Array(token.utf8)
        return tokenStrings.firstIndex { $0.map { Array($0.utf8) == utf8 } ?? false }
    }

    /// The exact bytes of `ids`; ids that are no token are skipped (see `Tokenizer.decodeBytes`).
    /// - Parameter ids: token ids.
    public func decodeBytes(_ ids: [Int]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(ids.count * 4)
        tokenBytes.withUnsafeBufferPointer { storage in
            for id in ids where id >= 0 && id < vocabularySize {
                let start = tokenByteOffsets[id]
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: storage[start..<tokenByteOffsets[id + 1]]))
            }
        }
        return bytes
    }

    /// The text of `ids`, ill-formed UTF-8 replaced by U+FFFD (see `Tokenizer.decode`).
    /// - Parameter ids: token ids.
    public func decode(_ ids: [Int]) -> String {
        String(decoding: decodeBytes(ids), as: UTF8.self)
    }

    /// The ids of each text, encoded on all cores; the same as `texts.map(encode)`.
    /// - Parameter texts: the texts.
    public func encodeBatch(_ texts: [String]) -> [[Int]] {
        encodeConcurrently(texts) { [self] text in encode(text) }
    }
}

/// Finds special tokens in UTF-8 text, leftmost first and the longest at one position, as Hugging
/// Face's added-vocabulary matcher (Aho-Corasick, leftmost-longest) does.
struct SpecialTokenMatcher: Sendable {
    /// The tokens' UTF-8 and ids, longest first.
    private let tokens: [(bytes: [UInt8], id: Int)]
    /// Whether a token starts with each byte value.
    private let startsWith: [Bool]

    init(_ specialTokens: [String: Int]) {
        tokens = specialTokens.map { (Array($0.key.utf8), $0.value) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.bytes.lexicographicallyPrecedes($1.bytes) }
        var starts = [Bool](repeating: false, count: 256)
        for token in tokens { starts[Int(token.bytes[0])] = true }
        startsWith = starts
    }

    /// The first match at or after `start` in `text`: its byte range and id.
    func firstMatch(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> (range: Range<Int>, id: Int)? {
        guard !tokens.isEmpty else { return nil }
        var index = start
        let count = text.count
        while index < count {
            if startsWith[Int(text[index])] {
                for token in tokens where token.bytes.count <= count - index {
                    if token.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, text.baseAddress! + index, $0.count) == 0 }) {
                        return (index..<(index + token.bytes.count), token.id)
                    }
                }
            }
            index += 1
        }
        return nil
    }
}
