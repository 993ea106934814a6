// WordPiece (BERT/MiniLM) against Hugging Face `tokenizers` on real lines (GoEmotions, Shakespeare,
// HH dialogues) and hand-written edge cases, fixture made by scripts/reference/encoder_parity.py.

import Foundation
import Testing
import Tokenizers

@Suite("WordPiece tokenizer")
struct WordPieceTests {
    static let minilm = TestData.file("minilm")
    static let hasMiniLM = TestData.has("minilm/tokenizer.json", "minilm/vocab.txt")

    struct Case: Decodable { var text: String; var ids: [Int]; var ids_no_special: [Int] }

    static func cases() throws -> [Case] {
        let text = try String(contentsOf: TestData.fixtures.appendingPathComponent("wordpiece_cases.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Case.self, from: Data($0.utf8)) }
    }

    @Test("ids equal HF tokenizers' on 441 real and edge-case texts, from tokenizer.json and from vocab.txt",
          .enabled(if: hasMiniLM, "needs ../shared/data/minilm"))
    func idsMatchHuggingFace() throws {
        let fromJSON = try #require(try loadTokenizer(from: Self.minilm.appendingPathComponent("tokenizer.json")) as? WordPieceTokenizer)
        let fromVocabulary = try WordPieceTokenizer(vocabularyFile: Self.minilm.appendingPathComponent("vocab.txt"))
        let cases = try Self.cases()
        #expect(cases.count > 400)
        let cls = try #require(fromJSON.specialTokens["[CLS]"]), sep = try #require(fromJSON.specialTokens["[SEP]"])
        var mismatches: [String] = []
        for item in cases {
            let ids = fromJSON.encode(item.text)
            if ids != item.ids_no_special || [cls] + ids + [sep] != item.ids { mismatches.append(item.text) }
            if fromVocabulary.encode(item.text) != item.ids_no_special { mismatches.append("vocab.txt: " + item.text) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))")
        #expect(fromJSON.encodeBatch(cases.map(\.text)) == cases.map(\.ids_no_special))
    }

    @Test("the BERT normalizer: control characters removed, whitespace unified, CJK spaced, accents stripped, lower-cased")
    func normalizer() {
        let normalizer = BertNormalizer()
        #expect(normalizer.normalize("Héllo\tWÖRLD\u{00A0}x") == "hello world x")
        #expect(normalizer.normalize("a\u{00}b\u{07}c\u{FEFF}d\u{AD}e\u{FFFD}f") == "abcdef")
        #expect(normalizer.normalize("漢字ab") == " 漢  字 ab")
        #expect(normalizer.normalize("\u{2B820}") == "\u{2B820}")  // outside BERT's CJK blocks
        #expect(normalizer.normalize("\u{2B920}") == " \u{2B920} ")
        #expect(normalizer.normalize("İΣß") == "iσß")
        let cased = BertNormalizer(stripAccents: nil, lowercase: false)
        #expect(cased.normalize("Héllo") == "Héllo")
        #expect(BertPreTokenizer.words("don't stop—now!! $5").map(String.init) == ["don", "'", "t", "stop", "—", "now", "!", "!", "$", "5"])
    }

    @Test("greedy longest-match pieces, [UNK] for unknown and over-long words, special tokens written in text")
    func pieces() throws {
        let tokenizer = try WordPieceTokenizer(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "a", "##ff", "hi"])
        #expect(tokenizer.encode("unaffable") == [4, 5, 6])
        #expect(tokenizer.encode("unaffablex hi") == [1, 9])
        #expect(tokenizer.encode("[CLS] hi [SEP]") == [2, 9, 3])
        #expect(tokenizer.encode(String(repeating: "a", count: 101)) == [1])
        #expect(tokenizer.decode([4, 5, 6, 9]) == "unaffable hi")
    }

    @Test("save writes files that load back to the same tokenizer (tokenizer.json and vocab.txt)")
    func roundTrip() throws {
        let scratch = try Scratch()
        let tokenizer = try WordPieceTokenizer(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "##s", "world", "!"],
                                               normalizer: BertNormalizer(lowercase: false))
        try tokenizer.save(to: scratch.directory)
        let loaded = try #require(try loadTokenizer(from: scratch.directory) as? WordPieceTokenizer)
        #expect(loaded.tokens == tokenizer.tokens && loaded.normalizer == tokenizer.normalizer && loaded.specialTokens == tokenizer.specialTokens)
        try FileManager.default.removeItem(at: scratch.directory.appendingPathComponent("tokenizer.json"))
        let fromVocabulary = try #require(try loadTokenizer(from: scratch.directory) as? WordPieceTokenizer)
        #expect(fromVocabulary.encode("hellos World!") == tokenizer.encode("hellos World!"))
        #expect(tokenizer.encode("hellos World!") == [4, 5, 1, 7])
    }

    @Test("bad files name the file, the line or field, and what was expected")
    func errors() throws {
        let scratch = try Scratch()
        let vocabulary = scratch.directory.appendingPathComponent("vocab.txt")
        try Data("[UNK]\nab\nab\n".utf8).write(to: vocabulary)
        expectTokenizerError(["vocab.txt:3", "appears twice"]) { _ = try WordPieceTokenizer(vocabularyFile: vocabulary) }
        try Data("ab\ncd\n".utf8).write(to: vocabulary)
        expectTokenizerError(["vocab.txt", "the unknown token \"[UNK]\" is not in the vocabulary"]) { _ = try WordPieceTokenizer(vocabularyFile: vocabulary) }
        let json = scratch.directory.appendingPathComponent("tokenizer.json")
        try Data(#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "pre_tokenizer": {"type": "Whitespace"}}"#.utf8).write(to: json)
        expectTokenizerError(["tokenizer.json", "(pre_tokenizer)", "expected a \"BertPreTokenizer\""]) { _ = try loadTokenizer(from: json) }
        try Data(#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "NFC"}}"#.utf8).write(to: json)
        expectTokenizerError(["tokenizer.json", "(normalizer)", "not supported"]) { _ = try loadTokenizer(from: json) }
    }

    @Test("RoBERTa's byte-level BPE: added tokens with lstrip/rstrip absorb the whitespace beside them, as HF tokenizers does")
    func strippedSpecialTokens() throws {
        let fixture = TestData.testsDirectory.deletingLastPathComponent().appendingPathComponent("ModelsTests/Fixtures/roberta-tiny-classifier/tokenizer.json")
        let scratch = try Scratch()
        func load(_ flag: String) throws -> any Tokenizer {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as? [String: Any])
            var added = try #require(object["added_tokens"] as? [[String: Any]])
            let index = try #require(added.firstIndex { $0["content"] as? String == "<mask>" })
            added[index][flag] = true
            object["added_tokens"] = added
            let data = try JSONSerialization.data(withJSONObject: object)
            return try loadTokenizer(from: scratch.write("tokenizer.json", String(decoding: data, as: UTF8.self)))
        }
        // Ids from tokenizers 0.23.3 with the same edit.
        let plainTokenizer = try loadTokenizer(from: fixture)
        #expect(plainTokenizer.encode("the <mask> is") == [88, 262, 225, 4, 349])
        let left = try load("lstrip")
        #expect(left.encode("the <mask> is") == [88, 262, 4, 349])
        #expect(left.encode("a  \t<mask>  b") == [69, 4, 225, 273])
        let right = try load("rstrip")
        #expect(right.encode("the <mask> is") == [88, 262, 225, 4, 276])
        #expect(right.encode("a  \t<mask>  b") == [69, 225, 225, 202, 4, 70])
        // Saved and reloaded, the flag survives.
        let saved = try Scratch()
        try left.save(to: saved.directory)
        #expect(try loadTokenizer(from: saved.directory).encode("the <mask> is") == [88, 262, 4, 349])
    }
}
