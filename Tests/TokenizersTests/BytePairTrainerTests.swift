import Foundation
import Testing
import Tokenizers

/// `BytePairTrainer`: merges by hand, agreement with Hugging Face `tokenizers`' `BpeTrainer`, and
/// saving / loading what it learns.
struct BytePairTrainerTests {
    static let hasTinyShakespeare = TestData.has("shakespeare/tiny_shakespeare.txt")

    /// The first 100,000 characters of tiny Shakespeare, the corpus of the `hf_trained_bpe` fixture.
    static func corpus() throws -> String {
        String(try String(contentsOf: TestData.file("shakespeare/tiny_shakespeare.txt"), encoding: .utf8).prefix(100_000))
    }

    @Test("Ties go to the smallest (left id, right id) pair; the count wins over the order")
    func tieBreaking() {
        // Chunks "xy" and " yx": pairs (x,y), (y,x), (Ġ,y) occur once each. Byte ids follow the
        // byte-level scalars: x = 87, y = 88, Ġ = 220; so (x,y) first, then (y,x), then (Ġ,yx).
        let tokenizer = BytePairTrainer.train(corpus: "xy yx", mergeCount: 10)
        #expect(tokenizer.merges.map { [$0.left, $0.right] } == [["x", "y"], ["y", "x"], ["Ġ", "yx"]])
        #expect(tokenizer.mergeCount == 3)  // the corpus ran out of pairs
        #expect(tokenizer.token(for: 87) == "x" && tokenizer.token(for: 220) == "Ġ")

        // "ba" occurs three times, "ab" twice: the count decides before the pair order does.
        let counted = BytePairTrainer.train(corpus: "ab ba ba ba ab", mergeCount: 1)
        #expect(counted.merges.map { [$0.left, $0.right] } == [["b", "a"]])
    }

    @Test("Special tokens are cut out of the corpus and get the ids after the learned tokens")
    func specialTokens() {
        let tokenizer = BytePairTrainer.train(corpus: "ab<|endoftext|>ab<|endoftext|>", mergeCount: 5, specialTokens: ["<|endoftext|>", "<|pad|>"])
        #expect(tokenizer.merges.map { [$0.left, $0.right] } == [["a", "b"]])
        #expect(tokenizer.specialTokens == ["<|endoftext|>": 257, "<|pad|>": 258])
        #expect(tokenizer.endOfTextTokenId == 257)
        #expect(tokenizer.vocabularySize == 259)
        #expect(tokenizer.encode("ab<|endoftext|>ab<|pad|>") == [256, 257, 256, 258])
    }

    @Test("Learns the same merges as Hugging Face tokenizers' BpeTrainer (300 merges on tiny Shakespeare)",
          .enabled(if: hasTinyShakespeare, "needs ../shared/data/shakespeare/tiny_shakespeare.txt"))
    func sameAsHuggingFace() throws {
        let trained = BytePairTrainer.train(corpus: try Self.corpus(), mergeCount: 300)
        let reference = try ByteLevelBPETokenizer(tokenizerJSON: TestData.fixtures.appendingPathComponent("hf_trained_bpe/tokenizer.json"))
        #expect(trained.mergeCount == 300)
        let ours = trained.merges, theirs = reference.merges
        #expect(ours.count == theirs.count)
        let firstDifference = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(firstDifference == nil, "first different merge: rank \(firstDifference?.offset ?? -1)")
        let text = "First Citizen:\nBefore we proceed any further, hear me speak. Ünïcödé 🎉"
        // Same merges, different ids (tokenizers puts special tokens first): same token strings.
        #expect(trained.encode(text).map { trained.token(for: $0)! } == reference.encode(text).map { reference.token(for: $0)! })
    }

    @Test("Train, save, load (vocab.json + merges.txt, tokenizer.json): identical tokenizer and encodings",
          .enabled(if: hasTinyShakespeare, "needs ../shared/data/shakespeare/tiny_shakespeare.txt"))
    func saveAndLoad() throws {
        let corpus = try Self.corpus()
        let trained = BytePairTrainer.train(corpus: corpus, mergeCount: 500)
        #expect(trained.mergeCount == 500)
        #expect(trained.vocabularySize == 256 + 500 + 1)
        #expect(trained.endOfTextTokenId == 756)

        let scratch = try Scratch()
        try trained.save(to: scratch.directory)
        let fromFiles = try ByteLevelBPETokenizer(vocabularyFile: scratch.url("vocab.json"), mergesFile: scratch.url("merges.txt"))
        let fromJSON = try ByteLevelBPETokenizer(tokenizerJSON: scratch.url("tokenizer.json"))
        let whole = try String(contentsOf: TestData.file("shakespeare/tiny_shakespeare.txt"), encoding: .utf8)
        let ids = trained.encode(whole)
        #expect(ids.count < whole.utf8.count / 2)  // 500 merges compress Shakespeare more than 2×
        #expect(trained.decode(ids) == whole)
        for loaded in [fromFiles, fromJSON] {
            #expect(loaded.vocabularySize == trained.vocabularySize)
            #expect(loaded.specialTokens == trained.specialTokens)
            #expect((0..<trained.vocabularySize).allSatisfy { loaded.token(for: $0) == trained.token(for: $0) })
            #expect(loaded.merges.elementsEqual(trained.merges) { $0 == $1 })
            #expect(loaded.encode(whole) == ids)
        }
        #expect(fromFiles.encode("<|endoftext|>") == [756])
    }

    @Test("Training is deterministic")
    func deterministic() {
        let corpus = String(repeating: "the cat sat on the mat; the dog sat on the log. ", count: 20) + "Ünïcödé 日本語 🎉🎉"
        let first = BytePairTrainer.train(corpus: corpus, mergeCount: 40).merges
        let second = BytePairTrainer.train(corpus: corpus, mergeCount: 40).merges
        #expect(first.elementsEqual(second) { $0 == $1 })
        #expect(first.count == 40)
    }
}
