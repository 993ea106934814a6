import Foundation
import Testing
import Tokenizers

/// `CharacterTokenizer`: nanoGPT's Shakespeare-char vocabulary, saving as `tokenizer.json`, unknown
/// characters.
struct CharacterTokenizerTests {
    static let hasTinyShakespeare = TestData.has("shakespeare/tiny_shakespeare.txt")

    @Test("Tiny Shakespeare: nanoGPT's 65 characters and ids", .enabled(if: hasTinyShakespeare, "needs ../shared/data/shakespeare/tiny_shakespeare.txt"))
    func tinyShakespeare() throws {
        let file = TestData.file("shakespeare/tiny_shakespeare.txt")
        let tokenizer = try CharacterTokenizer(contentsOf: file)
        // Python: chars = sorted(set(open(...).read()))
        #expect(String(String.UnicodeScalarView(tokenizer.characters)) == "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        #expect(tokenizer.vocabularySize == 65)
        #expect(tokenizer.encode("First Citizen:") == [18, 47, 56, 57, 58, 1, 15, 47, 58, 47, 64, 43, 52, 10])
        #expect(tokenizer.endOfTextTokenId == nil)
        #expect(tokenizer.specialTokens.isEmpty)
        #expect(tokenizer.token(for: 0) == "\n")
        #expect(tokenizer.token(for: 65) == nil)

        let text = try String(contentsOf: file, encoding: .utf8)
        let ids = tokenizer.encode(text)
        #expect(ids.count == 1_115_394)
        #expect(tokenizer.decode(ids) == text)
    }

    @Test("Vocabulary is by Unicode scalar: combining marks, emoji parts and canonically equivalent scalars stay apart")
    func scalars() throws {
        let corpus = "e\u{301} \u{C5} \u{212B} 👍🏽 ab"
        let tokenizer = CharacterTokenizer(corpus: corpus)
        #expect(tokenizer.characters.map(\.value) == [0x20, 0x61, 0x62, 0x65, 0xC5, 0x301, 0x212B, 0x1F44D, 0x1F3FD].sorted())
        #expect(tokenizer.encode("\u{212B}").count == 1)
        #expect(tokenizer.encode("\u{212B}") != tokenizer.encode("\u{C5}"))
        #expect(tokenizer.encode("e\u{301}").count == 2)
        #expect(tokenizer.decode(tokenizer.encode(corpus)).unicodeScalars.elementsEqual(corpus.unicodeScalars))
    }

    @Test("Saved as tokenizer.json and loaded back (directly and by loadTokenizer): same characters and ids")
    func saveAndLoad() throws {
        let corpus = "To be, or not to be\n\t— that is the question: 日本語 🎉 e\u{301} \u{212B}\u{C5} \"quoted\" \\ \u{0}\u{7F}"
        let tokenizer = CharacterTokenizer(corpus: corpus)
        let scratch = try Scratch()
        try tokenizer.save(to: scratch.directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path) == ["tokenizer.json"])

        let direct = try CharacterTokenizer(tokenizerJSON: scratch.url("tokenizer.json"))
        #expect(direct.characters == tokenizer.characters)
        let loaded = try loadTokenizer(from: scratch.directory)
        let character = try #require(loaded as? CharacterTokenizer)
        #expect(character.characters == tokenizer.characters)
        #expect(loaded.encode(corpus) == tokenizer.encode(corpus))
        #expect(loaded.decode(loaded.encode(corpus)).unicodeScalars.elementsEqual(corpus.unicodeScalars))
    }

    @Test("encodeChecked names the unknown character and its position; init(characters:) rejects repeats")
    func unknownCharacters() {
        let tokenizer = CharacterTokenizer(corpus: "abc ")
        #expect(throws: Never.self) { try tokenizer.encodeChecked("cab a") }
        let error = expectTokenizerError(["text position 3", "\"x\" (U+0078)", "not in the vocabulary of 4 characters"]) {
            try tokenizer.encodeChecked("ab xa")
        }
        #expect(error?.path == nil)
        expectTokenizerError(["\"é\" (U+00E9)", "text position 0"]) { try tokenizer.encodeChecked("é") }
        expectTokenizerError(["\"a\" (U+0061) has two ids, 0 and 2"]) { try CharacterTokenizer(characters: ["a", "b", "a"]) }
        #expect(CharacterTokenizer(corpus: "").vocabularySize == 0)
    }

    @Test("A character tokenizer.json with a bad vocabulary names the file, line and field")
    func badFiles() throws {
        let scratch = try Scratch()
        func file(vocabulary: String, preTokenizer: String = #"{"type": "Split", "pattern": {"Regex": "[\\s\\S]"}, "behavior": "Isolated", "invert": false}"#) throws -> URL {
            try scratch.write("tokenizer.json", """
                {"version": "1.0", "added_tokens": [], "normalizer": null,
                 "pre_tokenizer": \(preTokenizer),
                 "decoder": {"type": "Fuse"},
                 "model": {"type": "WordLevel", "unk_token": "<unk>",
                  "vocab": \(vocabulary)}}
                """)
        }
        let twoScalars = try file(vocabulary: #"{"a": 0, "bc": 1}"#)
        expectTokenizerError(["tokenizer.json:5", "model.vocab.bc", "single Unicode scalar"]) { try CharacterTokenizer(tokenizerJSON: twoScalars) }
        let gap = try file(vocabulary: #"{"a": 0, "b": 2}"#)
        expectTokenizerError(["tokenizer.json:5", "model.vocab.b", "ids must be dense"]) { try CharacterTokenizer(tokenizerJSON: gap) }
        let split = try file(vocabulary: #"{"a": 0}"#, preTokenizer: #"{"type": "Whitespace"}"#)
        expectTokenizerError(["tokenizer.json:2", "pre_tokenizer", "per-character"]) { try loadTokenizer(from: split) }
    }
}
