import Foundation

extension ByteLevelBPETokenizer {
    /// Loads Hugging Face's GPT-2 files: `vocab.json` (an object from byte-level token string to id)
    /// and `merges.txt` (one merge per line, two tokens separated by one space, first to apply
    /// first; an optional first line `#version: …`).
    ///
    /// - Parameters:
    ///   - vocabularyFile: `vocab.json`.
    ///   - mergesFile: `merges.txt`.
    ///   - specialTokens: special tokens by text. `nil` means `<|endoftext|>` with its id in
    ///     `vocab.json`, if it is there (as `GPT2Tokenizer` does). Ids not in `vocab.json` extend the
    ///     vocabulary.
    /// - Throws: `TokenizerError` naming the file and line: `vocab.json` not an object, an id that is
    ///   not a non-negative integer or is used twice, a merge line without exactly two tokens, a
    ///   merge whose tokens or result are not in the vocabulary, a repeated merge, a missing byte.
    public convenience init(vocabularyFile: URL, mergesFile: URL, specialTokens: [String: Int]? = nil) throws(TokenizerError) {
        let document = try JSONDocument(contentsOf: vocabularyFile)
        let vocabulary = try Self.readVocabulary(document.root, in: document, field: nil)
        let merges = try Self.readMergesFile(mergesFile, vocabulary: vocabulary)
        var specials = specialTokens ?? [:]
        if specialTokens == nil, let id = vocabulary.ids[Array("<|endoftext|>".utf8)] {
            specials["<|endoftext|>"] = Int(id)
        }
        try self.init(tokens: vocabulary.tokens, merges: merges, specialTokens: specials, source: vocabularyFile.path)
    }

    /// Loads a Hugging Face `tokenizer.json` whose model is byte-level BPE (GPT-2 and its
    /// descendants): `model.type` `"BPE"` with `vocab` and `merges` (as `"a b"` strings or `["a", "b"]`
    /// pairs), a `ByteLevel` pre-tokenizer, and `added_tokens`, which all become special tokens.
    ///
    /// Settings this tokenizer does not implement are rejected rather than ignored: a normalizer,
    /// `add_prefix_space`, a pre-tokenizer other than `ByteLevel` with `use_regex`, BPE dropout,
    /// `continuing_subword_prefix`/`end_of_word_suffix`, `byte_fallback`, `ignore_merges`, and added
    /// tokens with `lstrip`, `rstrip` or `single_word`.
    /// - Parameter tokenizerJSON: the `tokenizer.json` file.
    /// - Throws: `TokenizerError` naming the file, line and field.
    public convenience init(tokenizerJSON: URL) throws(TokenizerError) {
        try self.init(document: JSONDocument(contentsOf: tokenizerJSON))
    }

    /// Loads a tiktoken rank file (as tiktoken's `load_tiktoken_bpe` reads it): one token per line,
    /// `<base64 of the token's bytes> <rank>`, ranks used as ids.
    ///
    /// tiktoken merges by the rank of the concatenated bytes; the equivalent merge rules are
    /// recovered here by byte-pair encoding each token with the lower-ranked tokens only, which leaves
    /// exactly the two parts it was learned from (as `gpt2/tiktoken_to_hf_gpt2.py` does).
    /// - Parameters:
    ///   - tiktokenFile: e.g. `gpt2.tiktoken` (r50k_base), 50256 lines.
    ///   - specialTokens: special tokens by text; GPT-2's `<|endoftext|>` = 50256 by default.
    /// - Throws: `TokenizerError` naming the file and line: not two fields, bad base64, a rank that is
    ///   not a non-negative integer or repeats, a repeated token, a token that cannot be built from
    ///   two lower-ranked tokens, a missing single byte, or a special token id that is a rank.
    public convenience init(tiktokenFile: URL, specialTokens: [String: Int] = ["<|endoftext|>": 50256]) throws(TokenizerError) {
        let path = tiktokenFile.path
        let bytes = try TokenizerError.readFile(tiktokenFile)
        var entries: [(bytes: [UInt8], rank: Int, line: Int)] = []
        var lineNumber = 0
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = line
            if line.last == 0x0D { line = line.dropLast() }
            if line.allSatisfy({ $0 == 0x20 }) { continue }
            let fields = line.split(separator: 0x20)
            guard fields.count == 2 else {
                throw TokenizerError(path: path, line: lineNumber, message: "expected `<base64 token> <rank>`, found \(fields.count) field(s)")
            }
            let encoded = String(decoding: fields[0], as: UTF8.self)
            guard let token = Data(base64Encoded: encoded), !token.isEmpty else {
                throw TokenizerError(path: path, line: lineNumber, message: "\(quoted(encoded)) is not valid base64 for a non-empty token")
            }
            guard let rank = Int(String(decoding: fields[1], as: UTF8.self)), rank >= 0, rank < Int(Int32.max) else {
                throw TokenizerError(path: path, line: lineNumber, message: "the rank \(quoted(String(decoding: fields[1], as: UTF8.self))) is not a non-negative integer")
            }
            entries.append(([UInt8](token), rank, lineNumber))
        }
        entries.sort { ($0.rank, $0.line) < ($1.rank, $1.line) }

        if let last = entries.last, last.rank > ByteLevelBPETokenizer.largestIdGap + entries.count {
            throw TokenizerError(path: path, line: last.line, message: "rank \(last.rank) is far beyond the \(entries.count) tokens listed (at most \(ByteLevelBPETokenizer.largestIdGap + entries.count) is accepted)")
        }
        var tokens = [String?](repeating: nil, count: (entries.last?.rank ?? -1) + 1)
        var lineOfRank = [Int: Int]()
        var rankOfBytes = [[UInt8]: Int]()
        var byteIds = [Int32](repeating: -1, count: 256)
        for entry in entries {
            if let first = lineOfRank[entry.rank] {
                throw TokenizerError(path: path, line: entry.line, message: "rank \(entry.rank) is also on line \(first)")
            }
            if let other = rankOfBytes[entry.bytes] {
                throw TokenizerError(path: path, line: entry.line, message: "the token is also on line \(lineOfRank[other]!)")
            }
            lineOfRank[entry.rank] = entry.line
            rankOfBytes[entry.bytes] = entry.rank
            tokens[entry.rank] = ByteLevelAlphabet.string(for: entry.bytes)
            if entry.bytes.count == 1 { byteIds[Int(entry.bytes[0])] = Int32(entry.rank) }
        }
        if let missing = byteIds.firstIndex(of: -1) {
            throw TokenizerError(path: path, message: "no token for the single byte \(hexByte(missing)); a byte-level vocabulary needs all 256")
        }
        for (text, id) in specialTokens where id < tokens.count && tokens[id] != nil {
            throw TokenizerError(path: path, line: lineOfRank[id], field: "special tokens", message: "special token \(quoted(text)) has id \(id), which is the rank of a token in the file")
        }

        // Recover merge rules in rank order: BPE over each token's bytes with the rules so far.
        let table = MergeTable(capacity: entries.count)
        var merges: [MergeRule] = []
        var scratch = MergeScratch()
        defer { scratch.release() }
        for entry in entries where entry.bytes.count > 1 {
            let parts = byteIds.withUnsafeBufferPointer { byteIdBuffer in
                entry.bytes.withUnsafeBufferPointer { tokenBytes in
                    let count = bytePairMerge(tokenBytes.baseAddress!, count: tokenBytes.count, byteIds: byteIdBuffer.baseAddress!, table: table, scratch: &scratch)
                    return Array(UnsafeBufferPointer(start: scratch.parts, count: count))
                }
            }
            guard parts.count == 2 else {
                throw TokenizerError(path: path, line: entry.line, message: "the token (rank \(entry.rank)) does not split into two lower-ranked tokens (byte-pair encoding with lower ranks leaves \(parts.count) parts)")
            }
            let rule = MergeRule(left: parts[0], right: parts[1], merged: Int32(entry.rank))
            table.insert(left: rule.left, right: rule.right, rank: merges.count, merged: rule.merged)
            merges.append(rule)
        }
        try self.init(tokens: tokens, merges: merges, specialTokens: specialTokens, source: path)
    }
}

/// A vocabulary read from `vocab.json` or `tokenizer.json`.
struct ByteLevelVocabulary {
    /// The string of each id (`nil` for unused ids).
    var tokens: [String?]
    /// The id of each string, keyed by its UTF-8 (exact scalars, no Unicode normalization).
    var ids: [[UInt8]: Int32]
}

extension ByteLevelBPETokenizer {
    /// Reads a vocabulary object `{"token": id, …}` from `node`; `field` names it in errors (`nil`
    /// for a whole `vocab.json`).
    static func readVocabulary(_ node: JSONNode, in document: JSONDocument, field: String?) throws(TokenizerError) -> ByteLevelVocabulary {
        guard case .object(let members) = node.value else {
            throw document.error(at: node, field: field, "expected an object mapping token strings to ids, found \(node.kindDescription)")
        }
        var tokens = [String?]()
        var ids = [[UInt8]: Int32](minimumCapacity: members.count)
        var offsets = [Int: Int]()  // id → offset of its member, for duplicate reports
        for (key, value) in members {
            let memberField = field.map { "\($0).\(key)" } ?? key
            guard let id = value.integer, id >= 0, id < Int(Int32.max) else {
                throw document.error(at: value, field: memberField, "expected a non-negative integer id, found \(value.kindDescription)")
            }
            // Ids index a table: one far beyond the tokens listed would allocate gigabytes for nothing.
            guard id <= ByteLevelBPETokenizer.largestIdGap + members.count else {
                throw document.error(at: value, field: memberField, "id \(id) is far beyond the \(members.count) tokens listed (at most \(ByteLevelBPETokenizer.largestIdGap + members.count) is accepted)")
            }
            if let previous = offsets[id] {
                throw document.error(at: value, field: memberField, "id \(id) is also given to \(quoted(tokens[id] ?? "")) on line \(document.line(of: previous))")
            }
            let utf8 = Array(key.utf8)
            if ids[utf8] != nil {
                throw document.error(at: value, field: memberField, "the token \(quoted(key)) appears twice")
            }
            offsets[id] = value.offset
            ids[utf8] = Int32(id)
            if id >= tokens.count { tokens += [String?](repeating: nil, count: id + 1 - tokens.count) }
            tokens[id] = key
        }
        return ByteLevelVocabulary(tokens: tokens, ids: ids)
    }

    /// Resolves one merge `left right` to ids; `fail` builds the error for a message.
    static func mergeRule(
        _ left: String, _ right: String, vocabulary: ByteLevelVocabulary, fail: (String) -> TokenizerError
    ) throws(TokenizerError) -> MergeRule {
        guard let leftId = vocabulary.ids[Array(left.utf8)] else {
            throw fail("the token \(quoted(left)) is not in the vocabulary")
        }
        guard let rightId = vocabulary.ids[Array(right.utf8)] else {
            throw fail("the token \(quoted(right)) is not in the vocabulary")
        }
        guard let mergedId = vocabulary.ids[Array(left.utf8) + Array(right.utf8)] else {
            throw fail("the merged token \(quoted(left + right)) is not in the vocabulary")
        }
        return MergeRule(left: leftId, right: rightId, merged: mergedId)
    }

    /// Reads `merges.txt` against `vocabulary`.
    static func readMergesFile(_ url: URL, vocabulary: ByteLevelVocabulary) throws(TokenizerError) -> [MergeRule] {
        let bytes = try TokenizerError.readFile(url)
        if let bad = firstInvalidUTF8(bytes) {
            throw TokenizerError(path: url.path, line: JSONDocument.line(of: bad, in: bytes), message: "the file is not valid UTF-8")
        }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        while let last = lines.last, last.isEmpty || last == [0x0D] { lines.removeLast() }  // trailing newlines
        var merges: [MergeRule] = []
        merges.reserveCapacity(lines.count)
        var lineOfPair = [UInt64: Int]()
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            if index == 0, line.starts(with: Array("#version".utf8)) { continue }
            let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(path: url.path, line: lineNumber, message: "expected two tokens separated by one space, found \(quoted(String(decoding: line, as: UTF8.self)))")
            }
            let rule = try mergeRule(String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self), vocabulary: vocabulary) {
                TokenizerError(path: url.path, line: lineNumber, message: $0)
            }
            let key = UInt64(UInt32(rule.left)) << 32 | UInt64(UInt32(rule.right))
            if let first = lineOfPair[key] {
                throw TokenizerError(path: url.path, line: lineNumber, message: "the merge repeats line \(first)")
            }
            lineOfPair[key] = lineNumber
            merges.append(rule)
        }
        return merges
    }
}

extension ByteLevelBPETokenizer {
    /// Reads a parsed Hugging Face `tokenizer.json` with a byte-level BPE model; see
    /// `init(tokenizerJSON:)` for what is accepted.
    convenience init(document: JSONDocument) throws(TokenizerError) {
        let root = document.root
        func fail(_ node: JSONNode, _ field: String, _ message: String) -> TokenizerError {
            document.error(at: node, field: field, message)
        }
        guard case .object = root.value else {
            throw fail(root, "(top level)", "expected an object, found \(root.kindDescription)")
        }
        guard let model = root["model"] else { throw fail(root, "model", "the field is missing") }
        guard let type = model["type"]?.string else {
            throw fail(model, "model.type", "expected \"BPE\", the field is missing or not a string")
        }
        guard type == "BPE" else { throw fail(model["type"]!, "model.type", "expected \"BPE\", found \(quoted(type))") }

        // Settings that change the result and are not implemented here must be at their defaults.
        func expectDefault(_ node: JSONNode?, _ field: String, _ accepted: (JSONNode) -> Bool, _ expected: String) throws(TokenizerError) {
            if let node, !node.isNull, !accepted(node) {
                throw fail(node, field, "expected \(expected), found \(node.kindDescription) (not supported)")
            }
        }
        try expectDefault(model["dropout"], "model.dropout", { _ in false }, "null")
        try expectDefault(model["continuing_subword_prefix"], "model.continuing_subword_prefix", { $0.string == "" }, "\"\" or null")
        try expectDefault(model["end_of_word_suffix"], "model.end_of_word_suffix", { $0.string == "" }, "\"\" or null")
        try expectDefault(model["byte_fallback"], "model.byte_fallback", { $0.bool == false }, "false")
        try expectDefault(model["ignore_merges"], "model.ignore_merges", { $0.bool == false }, "false")
        try expectDefault(root["normalizer"], "normalizer", { _ in false }, "null")

        guard let preTokenizer = root["pre_tokenizer"], preTokenizer["type"]?.string == "ByteLevel" else {
            throw fail(root["pre_tokenizer"] ?? root, "pre_tokenizer", "expected a \"ByteLevel\" pre-tokenizer (GPT-2's), found \(root["pre_tokenizer"]?.kindDescription ?? "none")")
        }
        try expectDefault(preTokenizer["add_prefix_space"], "pre_tokenizer.add_prefix_space", { $0.bool == false }, "false")
        try expectDefault(preTokenizer["use_regex"], "pre_tokenizer.use_regex", { $0.bool == true }, "true")
        try expectDefault(root["decoder"], "decoder", { $0["type"]?.string == "ByteLevel" }, "a \"ByteLevel\" decoder or null")
        try expectDefault(root["post_processor"], "post_processor", { processor in
            switch processor["type"]?.string {
            // RoBERTa's <s> … </s>: `encode` gives the bare ids and encoder models add the markers.
            case "ByteLevel", "RobertaProcessing": return true
            case "TemplateProcessing":
                guard case .array(let single)? = processor["single"]?.value else { return false }
                return single.allSatisfy { $0["SpecialToken"] == nil }
            default: return false
            }
        }, "null, \"ByteLevel\", \"RobertaProcessing\", or a \"TemplateProcessing\" that adds no special tokens")

        guard let vocabularyNode = model["vocab"] else { throw fail(model, "model.vocab", "the field is missing") }
        let vocabulary = try Self.readVocabulary(vocabularyNode, in: document, field: "model.vocab")

        guard let mergesNode = model["merges"], case .array(let mergeNodes) = mergesNode.value else {
            throw fail(model["merges"] ?? model, "model.merges", "expected an array of merges, found \(model["merges"]?.kindDescription ?? "none")")
        }
        var merges: [MergeRule] = []
        merges.reserveCapacity(mergeNodes.count)
        var seen = Set<UInt64>()
        for (index, node) in mergeNodes.enumerated() {
            let field = "model.merges[\(index)]"
            let pair: [String]
            switch node.value {
            case .string(let text): pair = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            case .array(let items): pair = items.compactMap(\.string).count == items.count ? items.compactMap(\.string) : []
            default: pair = []
            }
            guard pair.count == 2, !pair[0].isEmpty, !pair[1].isEmpty else {
                throw fail(node, field, "expected \"left right\" or [\"left\", \"right\"], found \(node.kindDescription)")
            }
            let rule = try Self.mergeRule(pair[0], pair[1], vocabulary: vocabulary) { fail(node, field, $0) }
            guard seen.insert(UInt64(UInt32(rule.left)) << 32 | UInt64(UInt32(rule.right))).inserted else {
                throw fail(node, field, "the merge \(quoted(pair[0] + " " + pair[1])) appears twice")
            }
            merges.append(rule)
        }

        var specials: [String: Int] = [:]
        var stripping: [Int: (left: Bool, right: Bool)] = [:]
        if let addedNode = root["added_tokens"], !addedNode.isNull {
            guard case .array(let added) = addedNode.value else {
                throw fail(addedNode, "added_tokens", "expected an array, found \(addedNode.kindDescription)")
            }
            for (index, entry) in added.enumerated() {
                let field = "added_tokens[\(index)]"
                guard let id = entry["id"]?.integer, let content = entry["content"]?.string else {
                    throw fail(entry, field, "expected an object with an integer \"id\" and a string \"content\"")
                }
                // lstrip/rstrip: the match absorbs the whitespace before/after it (RoBERTa's <mask>).
                let left = entry["lstrip"]?.bool ?? false, right = entry["rstrip"]?.bool ?? false
                if left || right { stripping[id] = (left, right) }
                for flag in ["single_word"] {
                    try expectDefault(entry[flag], "\(field).\(flag)", { $0.bool == false }, "false")
                }
                if let other = specials[content], other != id {
                    throw fail(entry, field, "\(quoted(content)) is also added with id \(other)")
                }
                specials[content] = id
            }
        }
        try self.init(tokens: vocabulary.tokens, merges: merges, specialTokens: specials, stripping: stripping, source: document.path)
    }
}
