// BERT's WordPiece tokenizer as Hugging Face `tokenizers` runs it: the BertNormalizer (control
// characters removed, whitespace unified, spaces around CJK ideographs, accents stripped,
// lower-casing), the BertPreTokenizer (split on whitespace, each punctuation mark its own word), and
// greedy longest-match-first WordPiece with a `##` continuation prefix. `encode` gives the ids
// without [CLS]/[SEP]; encoder models add those (see `EncoderInput` in Models).

import Foundation

/// The BertNormalizer of Hugging Face `tokenizers`, step by step in its order.
public struct BertNormalizer: Sendable, Equatable {
    /// Remove NUL, U+FFFD and control/format/unassigned/private-use characters; every whitespace
    /// character (tab, newline, NBSP, …) becomes a space.
    public var cleanText: Bool
    /// Put spaces around CJK ideographs, so that each is its own word.
    public var handleChineseCharacters: Bool
    /// Decompose (NFD) and drop non-spacing marks; nil follows `lowercase` (BERT's default).
    public var stripAccents: Bool?
    /// Lower-case every character.
    public var lowercase: Bool

    /// The normalizer of uncased BERT (everything on).
    public init(cleanText: Bool = true, handleChineseCharacters: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseCharacters = handleChineseCharacters
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    /// The normalized text.
    public func normalize(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        if cleanText {
            scalars = scalars.compactMap { scalar in
                if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { return nil }
                return Self.isWhitespace(scalar) ? " " : scalar
            }
        }
        if handleChineseCharacters {
            var spaced: [Unicode.Scalar] = []
            spaced.reserveCapacity(scalars.count)
            for scalar in scalars {
                if Self.isChineseCharacter(scalar) { spaced += [" ", scalar, " "] } else { spaced.append(scalar) }
            }
            scalars = spaced
        }
        if stripAccents ?? lowercase {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            let decomposed = String(view).decomposedStringWithCanonicalMapping.unicodeScalars
            scalars = decomposed.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        var result = String.UnicodeScalarView()
        for scalar in scalars {
            if lowercase {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// Tab, newline and carriage return, or a Unicode White_Space character.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
    }

    /// A character of general category C (control, format, surrogate, private use, unassigned),
    /// except tab, newline and carriage return.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// The CJK ideograph blocks BERT treats as single-character words.
    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}

/// BERT's pre-tokenizer: words are the runs between whitespace, and every punctuation character
/// (ASCII punctuation or Unicode category P) is a word of its own.
public enum BertPreTokenizer {
    /// The words of (normalized) `text`.
    public static func words(_ text: String) -> [Substring] {
        var words: [Substring] = []
        var start: String.Index?
        var index = text.startIndex
        while index < text.endIndex {
            let scalar = text.unicodeScalars[index]
            let next = text.unicodeScalars.index(after: index)
            if BertNormalizer.isWhitespace(scalar) {
                if let begin = start { words.append(text[begin..<index]); start = nil }
            } else if isPunctuation(scalar) {
                if let begin = start { words.append(text[begin..<index]); start = nil }
                words.append(text[index..<next])
            } else if start == nil {
                start = index
            }
            index = next
        }
        if let begin = start { words.append(text[begin...]) }
        return words
    }

    /// ASCII punctuation (which includes symbols such as `$`, `+`, `^`) or Unicode punctuation.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value) || (123...126).contains(value) { return true }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}

/// A WordPiece tokenizer (BERT, MiniLM, DistilBERT): ids identical to Hugging Face `tokenizers`
/// for the same tokenizer.json or vocab.txt.
///
/// Unlike the byte-level tokenizers, `decode(encode(x))` is not `x`: the normalizer lower-cases,
/// strips accents and drops control characters, and words with no pieces become `[UNK]`. `decode`
/// joins tokens with spaces and glues `##` pieces to the token before, as HF's WordPiece decoder does.
public final class WordPieceTokenizer: Tokenizer, @unchecked Sendable {
    /// The token of each id.
    public let tokens: [String]
    /// The id of each token.
    public let ids: [String: Int]
    /// The normalizer.
    public let normalizer: BertNormalizer
    /// The token for words with no pieces (`[UNK]`).
    public let unknownToken: String
    /// The prefix of pieces that continue a word (`##`).
    public let continuingPrefix: String
    /// Longer words (in characters, i.e. Unicode scalars) become `unknownToken` whole.
    public let maxCharactersPerWord: Int
    /// Tokens matched verbatim in the raw text before normalization ([CLS], [SEP], [PAD], [MASK], [UNK]).
    public let specialTokens: [String: Int]
    private let unknownId: Int
    /// Special tokens, longest first, for matching in text.
    private let specialsByLength: [(text: [Unicode.Scalar], id: Int)]

    /// A tokenizer over `tokens` (id = index).
    /// - Throws: when a token appears twice, or the unknown token or a special token is missing.
    public init(tokens: [String], normalizer: BertNormalizer = BertNormalizer(), unknownToken: String = "[UNK]",
                continuingPrefix: String = "##", maxCharactersPerWord: Int = 100,
                specialTokens: [String]? = nil, source: String? = nil) throws(TokenizerError) {
        var ids: [String: Int] = [:]
        for (id, token) in tokens.enumerated() {
            if let first = ids[token] {
                throw TokenizerError(path: source, line: source?.hasSuffix(".txt") == true ? id + 1 : nil,
                                     message: "the token \(quoted(token)) appears twice (ids \(first) and \(id))")
            }
            ids[token] = id
        }
        guard let unknownId = ids[unknownToken] else {
            throw TokenizerError(path: source, message: "the unknown token \(quoted(unknownToken)) is not in the vocabulary")
        }
        let specialNames = specialTokens ?? ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].filter { ids[$0] != nil }
        var specials: [String: Int] = [:]
        for name in specialNames {
            guard let id = ids[name] else { throw TokenizerError(path: source, message: "the special token \(quoted(name)) is not in the vocabulary") }
            specials[name] = id
        }
        self.tokens = tokens
        self.ids = ids
        self.normalizer = normalizer
        self.unknownToken = unknownToken
        self.unknownId = unknownId
        self.continuingPrefix = continuingPrefix
        self.maxCharactersPerWord = maxCharactersPerWord
        self.specialTokens = specials
        specialsByLength = specials.map { (Array($0.key.unicodeScalars), $0.value) }
            .filter { !$0.0.isEmpty }.sorted { $0.0.count > $1.0.count }
    }

    /// Reads a `vocab.txt` (one token per line, id = line number − 1) with the normalizer
    /// `tokenizer_config.json` beside it describes (`do_lower_case`, `strip_accents`,
    /// `tokenize_chinese_chars`; uncased BERT when absent).
    public convenience init(vocabularyFile: URL) throws(TokenizerError) {
        let bytes = try TokenizerError.readFile(vocabularyFile)
        if let bad = firstInvalidUTF8(bytes) {
            throw TokenizerError(path: vocabularyFile.path, line: JSONDocument.line(of: bad, in: bytes), message: "the file is not valid UTF-8")
        }
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if lines.last == "" { lines.removeLast() }
        var normalizer = BertNormalizer()
        let configURL = vocabularyFile.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            let document = try JSONDocument(contentsOf: configURL)
            if let lower = document.root["do_lower_case"]?.bool { normalizer.lowercase = lower }
            if let strip = document.root["strip_accents"]?.bool { normalizer.stripAccents = strip }
            if let chinese = document.root["tokenize_chinese_chars"]?.bool { normalizer.handleChineseCharacters = chinese }
        }
        try self.init(tokens: lines, normalizer: normalizer, source: vocabularyFile.path)
    }

    /// Reads a `tokenizer.json` whose model is WordPiece, with a BertNormalizer (or none) and a
    /// BertPreTokenizer; `added_tokens` become special tokens. Other pipelines are an error naming
    /// the field.
    convenience init(document: JSONDocument) throws(TokenizerError) {
        let root = document.root
        func fail(_ node: JSONNode?, _ field: String, _ message: String) -> TokenizerError {
            document.error(at: node ?? root, field: field, message)
        }
        guard let model = root["model"], model["type"]?.string == "WordPiece" else {
            throw fail(root["model"], "model.type", "expected \"WordPiece\"")
        }
        guard let vocabularyNode = model["vocab"], case .object(let members) = vocabularyNode.value else {
            throw fail(model["vocab"] ?? model, "model.vocab", "expected an object {token: id}, found \(model["vocab"]?.kindDescription ?? "nothing")")
        }
        var tokens = [String?](repeating: nil, count: members.count)
        for (token, node) in members {
            guard let id = node.integer, id >= 0, id < members.count else {
                throw fail(node, "model.vocab[\(quoted(token))]", "expected an id in 0..<\(members.count), found \(node.kindDescription)")
            }
            guard tokens[id] == nil else { throw fail(node, "model.vocab[\(quoted(token))]", "id \(id) is used twice") }
            tokens[id] = token
        }
        let unknown = model["unk_token"]?.string ?? "[UNK]"
        let prefix = model["continuing_subword_prefix"]?.string ?? "##"
        let maxCharacters = model["max_input_chars_per_word"]?.integer ?? 100

        var normalizer = BertNormalizer(cleanText: false, handleChineseCharacters: false, stripAccents: false, lowercase: false)
        if let node = root["normalizer"], !node.isNull {
            guard node["type"]?.string == "BertNormalizer" else {
                throw fail(node, "normalizer", "expected a \"BertNormalizer\" or null, found \(node["type"]?.kindDescription ?? node.kindDescription) (not supported)")
            }
            normalizer = BertNormalizer(
                cleanText: node["clean_text"]?.bool ?? true, handleChineseCharacters: node["handle_chinese_chars"]?.bool ?? true,
                stripAccents: node["strip_accents"]?.bool, lowercase: node["lowercase"]?.bool ?? true)
        }
        if let node = root["pre_tokenizer"], node["type"]?.string != "BertPreTokenizer" {
            throw fail(node, "pre_tokenizer", "expected a \"BertPreTokenizer\", found \(node["type"]?.kindDescription ?? node.kindDescription) (not supported)")
        }
        var specials: [String] = []
        if let added = root["added_tokens"], case .array(let entries) = added.value {
            for (index, entry) in entries.enumerated() {
                guard let content = entry["content"]?.string, let id = entry["id"]?.integer else {
                    throw fail(entry, "added_tokens[\(index)]", "expected an object with an integer \"id\" and a string \"content\"")
                }
                guard id >= 0, id < tokens.count, tokens[id] == content else {
                    throw fail(entry, "added_tokens[\(index)]", "\(quoted(content)) has id \(id), which the vocabulary gives to \(id < tokens.count ? quoted(tokens[id] ?? "nothing") : "nothing")")
                }
                specials.append(content)
            }
        }
        guard tokens.allSatisfy({ $0 != nil }) else { throw fail(vocabularyNode, "model.vocab", "the ids are not 0..<\(tokens.count) without gaps") }
        try self.init(tokens: tokens.map { $0! }, normalizer: normalizer, unknownToken: unknown, continuingPrefix: prefix,
                      maxCharactersPerWord: maxCharacters, specialTokens: specials, source: document.path)
    }

    public var vocabularySize: Int { tokens.count }

    /// No end-of-text token: encoders mark sequences with [CLS] … [SEP] instead.
    public var endOfTextTokenId: Int? { nil }

    public func token(for id: Int) -> String? { tokens.indices.contains(id) ? tokens[id] : nil }

    /// The ids of `text` without [CLS]/[SEP]; special tokens written in the text become their ids.
    public func encode(_ text: String) -> [Int] {
        var result: [Int] = []
        var pending = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func flush() {
            guard !pending.isEmpty else { return }
            result += encodeOrdinary(String(pending))
            pending = String.UnicodeScalarView()
        }
        outer: while index < scalars.count {
            for special in specialsByLength where special.text.first == scalars[index] && index + special.text.count <= scalars.count {
                if Array(scalars[index..<(index + special.text.count)]) == special.text {
                    flush()
                    result.append(special.id)
                    index += special.text.count
                    continue outer
                }
            }
            pending.append(scalars[index])
            index += 1
        }
        flush()
        return result
    }

    public func encodeBatch(_ texts: [String]) -> [[Int]] { encodeConcurrently(texts) { self.encode($0) } }

    /// Normalizes, splits into words and splits each word into pieces.
    func encodeOrdinary(_ text: String) -> [Int] {
        var result: [Int] = []
        for word in BertPreTokenizer.words(normalizer.normalize(text)) {
            result += pieces(of: word)
        }
        return result
    }

    /// Greedy longest-match-first pieces of one word; the whole word is [UNK] when it is longer
    /// than `maxCharactersPerWord` or some part of it matches no piece.
    func pieces(of word: Substring) -> [Int] {
        let characters = Array(word.unicodeScalars)
        guard characters.count <= maxCharactersPerWord else { return [unknownId] }
        var result: [Int] = []
        var start = 0
        while start < characters.count {
            var end = characters.count
            var found: Int?
            while start < end {
                var piece = String.UnicodeScalarView()
                piece.append(contentsOf: characters[start..<end])
                let candidate = start > 0 ? continuingPrefix + String(piece) : String(piece)
                if let id = ids[candidate] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknownId] }
            result.append(id)
            start = end
        }
        return result
    }

    /// Tokens joined by spaces, `##` pieces glued to the token before, then transformers'
    /// `clean_up_tokenization` (no space before . ? ! , and in common English contractions).
    public func decode(_ ids: [Int]) -> String {
        var text = ""
        for (position, id) in ids.enumerated() {
            guard let token = token(for: id) else { continue }
            if token.hasPrefix(continuingPrefix) && position > 0 {
                text += token.dropFirst(continuingPrefix.count)
            } else {
                if !text.isEmpty { text += " " }
                text += token
            }
        }
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                           (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    public func decodeBytes(_ ids: [Int]) -> [UInt8] { Array(decode(ids).utf8) }

    /// Writes `vocab.txt`, a `tokenizer.json` (BertNormalizer, BertPreTokenizer, WordPiece,
    /// [CLS] $A [SEP] post-processor) and `tokenizer_config.json`, which `transformers` loads as
    /// `BertTokenizerFast`.
    public func save(to directory: URL) throws(TokenizerError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TokenizerError(path: directory.path, message: "cannot create the directory: \(error.localizedDescription)")
        }
        try TokenizerError.writeFile(Array((tokens.joined(separator: "\n") + "\n").utf8), to: directory.appendingPathComponent("vocab.txt"))
        let added: [[String: Any]] = specialTokens.sorted { $0.value < $1.value }.map { name, id in
            ["id": id, "content": name, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true]
        }
        var normalizerObject: [String: Any] = [
            "type": "BertNormalizer", "clean_text": normalizer.cleanText, "handle_chinese_chars": normalizer.handleChineseCharacters,
            "lowercase": normalizer.lowercase,
        ]
        normalizerObject["strip_accents"] = normalizer.stripAccents.map { $0 as Any } ?? NSNull()
        var object: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": normalizerObject,
            "pre_tokenizer": ["type": "BertPreTokenizer"],
            "decoder": ["type": "WordPiece", "prefix": continuingPrefix, "cleanup": true],
            "model": ["type": "WordPiece", "unk_token": unknownToken, "continuing_subword_prefix": continuingPrefix,
                      "max_input_chars_per_word": maxCharactersPerWord,
                      "vocab": Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })] as [String: Any],
        ]
        if let cls = specialTokens["[CLS]"], let sep = specialTokens["[SEP]"] {
            object["post_processor"] = [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": "[CLS]", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                           ["SpecialToken": ["id": "[SEP]", "type_id": 0]]],
                "pair": [["SpecialToken": ["id": "[CLS]", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                         ["SpecialToken": ["id": "[SEP]", "type_id": 0]], ["Sequence": ["id": "B", "type_id": 1]],
                         ["SpecialToken": ["id": "[SEP]", "type_id": 1]]],
                "special_tokens": ["[CLS]": ["id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]],
                                   "[SEP]": ["id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]]],
            ] as [String: Any]
        }
        var config: [String: Any] = ["tokenizer_class": "BertTokenizer", "do_lower_case": normalizer.lowercase,
                                     "tokenize_chinese_chars": normalizer.handleChineseCharacters, "unk_token": unknownToken]
        config["strip_accents"] = normalizer.stripAccents.map { $0 as Any } ?? NSNull()
        for (key, name) in [("cls_token", "[CLS]"), ("sep_token", "[SEP]"), ("pad_token", "[PAD]"), ("mask_token", "[MASK]")] where specialTokens[name] != nil {
            config[key] = name
        }
        for (name, value) in [("tokenizer.json", object), ("tokenizer_config.json", config)] {
            let data: Data
            do {
                data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            } catch {
                throw TokenizerError(path: directory.appendingPathComponent(name).path, message: "cannot encode: \(error.localizedDescription)")
            }
            try TokenizerError.writeFile(Array(data), to: directory.appendingPathComponent(name))
        }
    }
}
