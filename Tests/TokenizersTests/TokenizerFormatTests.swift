import Foundation
import Testing
import Tokenizers

/// The same GPT-2 tokenizer from `vocab.json` + `merges.txt`, `tokenizer.json` and tiktoken ranks;
/// `save(to:)` and `loadTokenizer(from:)`; a `tokenizer.json` written by Hugging Face.
struct TokenizerFormatTests {
    static let gpt2 = Testing.ConditionTrait.enabled(if: TestData.hasGPT2, "\(TestData.missingGPT2)")

    /// Asserts that two byte-level tokenizers have the same vocabulary, merges and special tokens.
    func expectSameVocabulary(_ a: ByteLevelBPETokenizer, _ b: ByteLevelBPETokenizer, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.vocabularySize == b.vocabularySize, sourceLocation: sourceLocation)
        #expect(a.specialTokens == b.specialTokens, sourceLocation: sourceLocation)
        #expect(a.endOfTextTokenId == b.endOfTextTokenId, sourceLocation: sourceLocation)
        let differentTokens = (0..<max(a.vocabularySize, b.vocabularySize)).filter { a.token(for: $0) != b.token(for: $0) }
        #expect(differentTokens.isEmpty, "first different ids: \(differentTokens.prefix(5))", sourceLocation: sourceLocation)
        let aMerges = a.merges, bMerges = b.merges
        #expect(aMerges.count == bMerges.count, sourceLocation: sourceLocation)
        let differentMerges = zip(aMerges, bMerges).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(differentMerges.isEmpty, "first different ranks: \(differentMerges.prefix(5))", sourceLocation: sourceLocation)
    }

    @Test("vocab.json + merges.txt, tokenizer.json and tiktoken give one vocabulary and the same merges", gpt2)
    func threeWaysOneVocabulary() {
        expectSameVocabulary(TestData.gpt2, TestData.gpt2FromTiktoken)
        expectSameVocabulary(TestData.gpt2, TestData.gpt2FromTokenizerJSON)
    }

    @Test("The three give identical ids on mixed text", gpt2, arguments: TestData.gpt2Sources)
    func threeWaysSameIds(source: String) {
        let text = "Mixed text: naïve café, 日本語, emoji 🎉👍🏽, numbers 1234567, code `x**2`, <|endoftext|> and  spaces\t\n"
        #expect(TestData.gpt2(source).encode(text) == TestData.gpt2.encode(text))
    }

    @Test("save writes merges.txt identical to GPT-2's and vocab.json with the same entries", gpt2)
    func savedFilesMatchGPT2() throws {
        let scratch = try Scratch()
        try TestData.gpt2.save(to: scratch.directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path).sorted()
        #expect(names == ["merges.txt", "tokenizer.json", "tokenizer_config.json", "vocab.json"])
        #expect(try Data(contentsOf: scratch.url("merges.txt")) == Data(contentsOf: TestData.merges))
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: scratch.url("vocab.json"))) as! [String: Int]
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: TestData.vocabulary)) as! [String: Int]
        #expect(saved == original)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: scratch.url("tokenizer_config.json"))) as! [String: Any]
        #expect(config["eos_token"] as? String == "<|endoftext|>")
        #expect(config["clean_up_tokenization_spaces"] as? Bool == false)
    }

    @Test("Saved files load back identically each way, and loadTokenizer picks tokenizer.json first", gpt2)
    func saveAndReload() throws {
        let scratch = try Scratch()
        try TestData.gpt2.save(to: scratch.directory)
        let fromFiles = try ByteLevelBPETokenizer(vocabularyFile: scratch.url("vocab.json"), mergesFile: scratch.url("merges.txt"))
        let fromJSON = try ByteLevelBPETokenizer(tokenizerJSON: scratch.url("tokenizer.json"))
        expectSameVocabulary(TestData.gpt2, fromFiles)
        expectSameVocabulary(TestData.gpt2, fromJSON)
        let loaded = try loadTokenizer(from: scratch.directory)
        #expect(loaded is ByteLevelBPETokenizer)
        expectSameVocabulary(TestData.gpt2, loaded as! ByteLevelBPETokenizer)

        // Without tokenizer.json the directory still loads, from vocab.json + merges.txt.
        try FileManager.default.removeItem(at: scratch.url("tokenizer.json"))
        let fallback = try loadTokenizer(from: scratch.directory)
        #expect(fallback.encode("Hello<|endoftext|>") == [15496, 50256])
    }

    @Test("loadTokenizer reads a directory holding only a .tiktoken file, and single files by name", gpt2)
    func loadTokenizerVariants() throws {
        let scratch = try Scratch()
        try FileManager.default.copyItem(at: TestData.tiktoken, to: scratch.url("gpt2.tiktoken"))
        let fromDirectory = try loadTokenizer(from: scratch.directory)
        #expect(fromDirectory.encode("Hello, world!<|endoftext|>") == [15496, 11, 995, 0, 50256])
        let fromFile = try loadTokenizer(from: scratch.url("gpt2.tiktoken"))
        #expect(fromFile.vocabularySize == 50257)

        try TestData.gpt2.save(to: scratch.url("saved"))
        let fromJSONFile = try loadTokenizer(from: scratch.url("saved/tokenizer.json"))
        #expect(fromJSONFile.encode(" the") == [262])
    }

    @Test("tokenizer.json with merges as [left, right] pairs (tokenizers ≥ 0.20) reads the same", gpt2)
    func mergesAsPairs() throws {
        let scratch = try Scratch()
        try TestData.gpt2.save(to: scratch.directory)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: scratch.url("tokenizer.json"))) as! [String: Any]
        var model = json["model"] as! [String: Any]
        model["merges"] = (model["merges"] as! [String]).map { $0.split(separator: " ").map(String.init) }
        json["model"] = model
        try JSONSerialization.data(withJSONObject: json).write(to: scratch.url("pairs.json"))
        let fromPairs = try ByteLevelBPETokenizer(tokenizerJSON: scratch.url("pairs.json"))
        expectSameVocabulary(TestData.gpt2, fromPairs)
    }

    @Test("A tokenizer.json written by Hugging Face tokenizers (trained, merges as pairs, special token id 0) gives its ids")
    func huggingFaceTokenizerJSON() throws {
        let directory = TestData.fixtures.appendingPathComponent("hf_trained_bpe")
        let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: directory.appendingPathComponent("tokenizer.json"))
        #expect(tokenizer.specialTokens == ["<|endoftext|>": 0])
        #expect(tokenizer.vocabularySize == 557)
        for (text, ids) in try TestData.encodeCases(directory.appendingPathComponent("cases.jsonl")) {
            #expect(tokenizer.encode(text) == ids, "\(text.prefix(60).debugDescription)")
            #expect(Array(tokenizer.decode(ids).utf8) == Array(text.utf8))
        }
    }
}
