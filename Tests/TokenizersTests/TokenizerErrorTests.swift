import Foundation
import Testing
import Tokenizers

/// Bad files give a `TokenizerError` naming the file, the line and (in JSON) the field.
struct TokenizerErrorTests {
    /// The 256 byte-level tokens (id = byte value), then `extra`, as `vocab.json` text with one
    /// entry per line (the byte tokens fill lines 2…257, so `extra[i]` is on line 258 + i).
    static func vocabularyJSON(extra: [String] = ["Ġt", "he", "Ġthe", "th", "Ġa", "an"], override: String? = nil) -> String {
        var tokens: [String] = (0..<256).map { byte -> String in
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            let shifted = (0..<byte).filter { !((0x21...0x7E).contains($0) || (0xA1...0xAC).contains($0) || (0xAE...0xFF).contains($0)) }.count
            return String(Unicode.Scalar(printable ? UInt32(byte) : UInt32(256 + shifted))!)
        }
        tokens += extra
        let lines = tokens.enumerated().map { id, token -> String in
            let escaped = token.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "  \"\(escaped)\": \(id)"
        }
        return override ?? "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }

    /// Writes `vocab.json` and `merges.txt` and loads them.
    static func load(vocabulary: String = vocabularyJSON(), merges: String) throws -> ByteLevelBPETokenizer {
        let scratch = try Scratch()
        return try ByteLevelBPETokenizer(
            vocabularyFile: scratch.write("vocab.json", vocabulary), mergesFile: scratch.write("merges.txt", merges))
    }

    @Test("A valid small vocabulary loads and merges by rank")
    func validSmallVocabulary() throws {
        let tokenizer = try Self.load(merges: "#version: 0.2\nĠ t\nh e\nĠt he\n")
        #expect(tokenizer.encode(" the") == [258])
        #expect(tokenizer.encode("the") == [116, 257])
        #expect(tokenizer.vocabularySize == 262)
        #expect(tokenizer.endOfTextTokenId == nil)
    }

    @Test("merges.txt: a line with one token, an unknown token, an unknown result, a repeat")
    func badMerges() {
        expectTokenizerError(["merges.txt:7", "expected two tokens separated by one space", "\"he\""]) {
            try Self.load(merges: "#version: 0.2\nĠ t\nh e\nĠt he\nt h\nĠ a\nhe\n")
        }
        expectTokenizerError(["merges.txt:3", "the token \"hx\" is not in the vocabulary"]) {
            try Self.load(merges: "#version: 0.2\nĠ t\nhx e\n")
        }
        expectTokenizerError(["merges.txt:2", "the merged token \"eh\" is not in the vocabulary"]) {
            try Self.load(merges: "#version: 0.2\ne h\n")
        }
        expectTokenizerError(["merges.txt:3", "repeats line 1"]) { try Self.load(merges: "Ġ t\nh e\nĠ t\n") }
        expectTokenizerError(["merges.txt:1", "found \"Ġ  t\""]) { try Self.load(merges: "Ġ  t\n") }
    }

    @Test("vocab.json: not an object, a non-integer id, a repeated id, invalid JSON, a missing byte")
    func badVocabulary() {
        expectTokenizerError(["vocab.json:1", "expected an object mapping token strings to ids, found an array"]) {
            try Self.load(vocabulary: "[\"a\", \"b\"]", merges: "")
        }
        let notInteger = Self.vocabularyJSON().replacingOccurrences(of: "\"Ġthe\": 258", with: "\"Ġthe\": \"258\"")
        expectTokenizerError(["vocab.json:260", "(Ġthe)", "expected a non-negative integer id, found the string \"258\""]) {
            try Self.load(vocabulary: notInteger, merges: "")
        }
        let repeated = Self.vocabularyJSON().replacingOccurrences(of: "\"Ġthe\": 258", with: "\"Ġthe\": 257")
        expectTokenizerError(["vocab.json:260", "id 257 is also given to \"he\" on line 259"]) {
            try Self.load(vocabulary: repeated, merges: "")
        }
        let broken = Self.vocabularyJSON().replacingOccurrences(of: "\"he\": 257,", with: "\"he\" 257,")
        expectTokenizerError(["vocab.json:259", "invalid JSON: expected ':'"]) { try Self.load(vocabulary: broken, merges: "") }
        // One id of 2³¹ − 2 would allocate a table of gigabytes: refused, naming the line.
        let far = Self.vocabularyJSON().replacingOccurrences(of: "\"Ġthe\": 258", with: "\"Ġthe\": 2147483646")
        expectTokenizerError(["vocab.json:260", "(Ġthe)", "id 2147483646 is far beyond the 262 tokens listed"]) {
            try Self.load(vocabulary: far, merges: "")
        }
        let missingByte = Self.vocabularyJSON().replacingOccurrences(of: "\"Ċ\": 10,", with: "\"ĊĊ\": 10,")
        expectTokenizerError(["vocab.json", "no token for the byte 0x0A (spelled \"Ċ\")"]) {
            try Self.load(vocabulary: missingByte, merges: "")
        }
    }

    @Test("gpt2.tiktoken: bad base64, a missing rank, a repeated rank, an unreachable token")
    func badTiktoken() throws {
        let scratch = try Scratch()
        let bytes = (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
        func load(_ extra: [String]) throws -> ByteLevelBPETokenizer {
            try ByteLevelBPETokenizer(tiktokenFile: scratch.write("test.tiktoken", (bytes + extra).joined(separator: "\n") + "\n"))
        }
        let valid = try load(["\(Data("ab".utf8).base64EncodedString()) 256"])
        #expect(valid.encode("ab<|endoftext|>") == [256, 50256])
        expectTokenizerError(["test.tiktoken:258", "\"YW*=\" is not valid base64"]) { try load(["YWI= 256", "YW*= 257"]) }
        expectTokenizerError(["test.tiktoken:257", "found 1 field(s)"]) { try load(["YWI="]) }
        expectTokenizerError(["test.tiktoken:258", "rank 256 is also on line 257"]) { try load(["YWI= 256", "YWM= 256"]) }
        expectTokenizerError(["test.tiktoken:257", "rank 2147483646 is far beyond the 257 tokens listed"]) { try load(["YWI= 2147483646"]) }
        expectTokenizerError(["test.tiktoken", "special token \"<|x|>\" has id 1073741824, far beyond"]) {
            try ByteLevelBPETokenizer(tiktokenFile: scratch.write("test.tiktoken", bytes.joined(separator: "\n")), specialTokens: ["<|x|>": 1 << 30])
        }
        // A chain of special ids each a gap beyond the last does not grow the table step by step.
        let chain = Dictionary(uniqueKeysWithValues: (1...4).map { ("<|c\($0)|>", 256 + $0 * 60_000) })
        expectTokenizerError(["test.tiktoken", "far beyond the ids listed"]) {
            try ByteLevelBPETokenizer(tiktokenFile: scratch.write("test.tiktoken", bytes.joined(separator: "\n")), specialTokens: chain)
        }
        expectTokenizerError(["test.tiktoken:257", "does not split into two lower-ranked tokens"]) { try load(["\(Data("abc".utf8).base64EncodedString()) 256"]) }
        expectTokenizerError(["test.tiktoken", "special token \"<|endoftext|>\" has id 97"]) {
            try ByteLevelBPETokenizer(tiktokenFile: scratch.write("test.tiktoken", bytes.joined(separator: "\n")), specialTokens: ["<|endoftext|>": 97])
        }
        let missing = bytes.filter { !$0.hasSuffix(" 10") }.joined(separator: "\n")
        expectTokenizerError(["test.tiktoken", "no token for the single byte 0x0A"]) {
            try ByteLevelBPETokenizer(tiktokenFile: scratch.write("test.tiktoken", missing))
        }
    }

    /// A `tokenizer.json` over the small vocabulary with one part replaced.
    static func tokenizerJSON(model: String? = nil, preTokenizer: String = #"{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}"#,
                              addedTokens: String = "[]", merges: String = #"["Ġ t", "h e"]"#) -> String {
        """
        {
          "version": "1.0",
          "added_tokens": \(addedTokens),
          "normalizer": null,
          "pre_tokenizer": \(preTokenizer),
          "decoder": {"type": "ByteLevel"},
          "model": \(model ?? #"{"type": "BPE", "dropout": null, "vocab": "# + vocabularyJSON().replacingOccurrences(of: "\n", with: " ") + #", "merges": "# + merges + "}")
        }
        """
    }

    @Test("tokenizer.json: wrong model type, unsupported settings, bad merges and added tokens name the field")
    func badTokenizerJSON() throws {
        let scratch = try Scratch()
        func load(_ text: String) throws -> any Tokenizer {
            try loadTokenizer(from: scratch.write("tokenizer.json", text))
        }
        #expect(try load(Self.tokenizerJSON()).encode(" th") == [256, 104])
        expectTokenizerError(["tokenizer.json:7", "(model.type)", "expected \"BPE\" (byte-level BPE), \"WordLevel\" (characters), \"WordPiece\" (BERT) or \"Unigram\" (SentencePiece, T5), found the string \"WordPieceV2\""]) {
            try load(Self.tokenizerJSON(model: #"{"type": "WordPieceV2", "vocab": []}"#))
        }
        expectTokenizerError(["tokenizer.json:5", "(pre_tokenizer.add_prefix_space)", "not supported"]) {
            try load(Self.tokenizerJSON(preTokenizer: #"{"type": "ByteLevel", "add_prefix_space": true}"#))
        }
        expectTokenizerError(["tokenizer.json:5", "(pre_tokenizer)", "expected a \"ByteLevel\" pre-tokenizer"]) {
            try load(Self.tokenizerJSON(preTokenizer: #"{"type": "Whitespace"}"#))
        }
        expectTokenizerError(["tokenizer.json:7", "(model.merges[1])", "expected \"left right\""]) {
            try load(Self.tokenizerJSON(merges: #"["Ġ t", "he"]"#))
        }
        expectTokenizerError(["tokenizer.json:7", "(model.merges[0])", "the merged token \"ĠĠ\" is not in the vocabulary"]) {
            try load(Self.tokenizerJSON(merges: #"[["Ġ", "Ġ"]]"#))
        }
        expectTokenizerError(["tokenizer.json:3", "(added_tokens[0].single_word)", "not supported"]) {
            try load(Self.tokenizerJSON(addedTokens: #"[{"id": 259, "content": "<s>", "single_word": true}]"#))
        }
        expectTokenizerError(["tokenizer.json:1", "(model.type)", "found no model type"]) { try load("{}") }
        expectTokenizerError(["tokenizer.json:3", "invalid JSON: unterminated string"]) { try load("{\n\"model\":\n\"BPE}") }
    }

    @Test("loadTokenizer: nothing found lists what was looked for; a missing path says so")
    func nothingToLoad() throws {
        let scratch = try Scratch()
        expectTokenizerError(["no tokenizer found: looked for tokenizer.json, vocab.json + merges.txt, and a single *.tiktoken file"]) {
            try loadTokenizer(from: scratch.directory)
        }
        try scratch.write("vocab.json", "{}")
        expectTokenizerError(["found vocab.json without merges.txt"]) { try loadTokenizer(from: scratch.directory) }
        expectTokenizerError(["nowhere", "no such file or directory"]) { try loadTokenizer(from: scratch.url("nowhere")) }
        expectTokenizerError(["notes.txt", "unknown tokenizer file"]) { try loadTokenizer(from: scratch.write("notes.txt", "hi")) }
    }

    @Test("A real tokenizer.json of another kind (MiniLM's WordPiece) loads as WordPiece, not as BPE",
          .enabled(if: TestData.has("minilm/tokenizer.json"), "needs ../shared/data/minilm/tokenizer.json"))
    func otherModelKind() throws {
        #expect(try loadTokenizer(from: TestData.file("minilm")) is WordPieceTokenizer)
        expectTokenizerError(["minilm/tokenizer.json:", "(model.type)", "expected \"BPE\", found \"WordPiece\""]) {
            try ByteLevelBPETokenizer(tokenizerJSON: TestData.file("minilm/tokenizer.json"))
        }
    }

    @Test("Error descriptions read path:line (field): message")
    func description() {
        #expect(TokenizerError(path: "a/merges.txt", line: 7, message: "bad").description == "a/merges.txt:7: bad")
        #expect(TokenizerError(path: "t.json", line: 3, field: "model.type", message: "bad").description == "t.json:3 (model.type): bad")
        #expect(TokenizerError(path: nil, field: "text position 2", message: "bad").description == "<text> (text position 2): bad")
    }
}
