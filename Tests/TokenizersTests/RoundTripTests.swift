import Foundation
import Testing
import Tokenizers

/// `decode(encode(x)) == x`, byte for byte, for seeded random strings. Compared as UTF-8 bytes,
/// because Swift's `==` on strings ignores differences of Unicode normalization.
struct RoundTripTests {
    /// Pieces random texts are made of: ASCII words, whitespace runs, digits, apostrophes and
    /// contractions, emoji (with modifiers, joiners, flags), CJK, combining marks, special tokens.
    static let pieces: [String] = [
        "hello", "World", " the", " and", "I", "a", "CAPS", "naïve", "Zürich",
        " ", "  ", "    ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u{A0}", "\u{3000}", "\u{2003}", "\u{85}", "\u{B}", "\u{1C}",
        "0", "42", "1234567890", "3.14", "½", "٣", "Ⅻ",
        "'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "''", "’", "'x",
        ".", ",", "!?", "…", "—", "“", "”", "<", ">", "|", "#", "&amp;",
        "😀", "🎉", "👍🏽", "👨\u{200D}👩\u{200D}👧\u{200D}👦", "🇺🇳", "1\u{FE0F}\u{20E3}", "❤️",
        "日本語", "中文", "한국어", "ไทย", "العربية", "हिन्दी",
        "e\u{301}", "\u{301}", "\u{308}\u{308}", "Å", "\u{212B}", "\u{200B}", "\u{FEFF}",
        "<|endoftext|>", "<|endoftext", "|>", "<|",
    ]

    /// A random string of up to `maximumPieces` pieces, a fifth of them random scalars from any plane.
    static func randomText(_ generator: inout SplitMix64, maximumPieces: Int = 24) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...maximumPieces, using: &generator) {
            if Int.random(in: 0..<5, using: &generator) == 0 {
                var scalar: Unicode.Scalar?
                while scalar == nil { scalar = Unicode.Scalar(UInt32.random(in: 0...0x10FFFF, using: &generator)) }
                text.unicodeScalars.append(scalar!)
            } else {
                text += pieces.randomElement(using: &generator)!
            }
        }
        return text
    }

    @Test("GPT-2: decode(encode(x)) == x on 3000 seeded random strings",
          .enabled(if: TestData.hasGPT2, "\(TestData.missingGPT2)"))
    func gpt2() {
        var generator = SplitMix64(state: 0x5EED)
        let tokenizer = TestData.gpt2
        for trial in 0..<3000 {
            let text = Self.randomText(&generator)
            let ids = tokenizer.encode(text)
            #expect(ids.allSatisfy { (0..<tokenizer.vocabularySize).contains($0) })
            #expect(tokenizer.decodeBytes(ids) == Array(text.utf8), "trial \(trial): \(text.debugDescription)")
            #expect(Array(tokenizer.decode(ids).utf8) == Array(text.utf8), "trial \(trial): \(text.debugDescription)")
        }
    }

    @Test("GPT-2: long runs (heap merge path) round-trip", .enabled(if: TestData.hasGPT2, "\(TestData.missingGPT2)"))
    func gpt2LongRuns() {
        var generator = SplitMix64(state: 7)
        let alphabets = ["abcdefghijklmnopqrstuvwxyz", "0123456789", "!#$%&*+-./:;=?@^_~", " \t\n", "日本語中文字符", "ééèêë"]
        for alphabet in alphabets {
            let characters = Array(alphabet)
            let text = String((0..<5000).map { _ in characters.randomElement(using: &generator)! })
            #expect(TestData.gpt2.decodeBytes(TestData.gpt2.encode(text)) == Array(text.utf8))
        }
    }

    @Test("A trained byte-level BPE tokenizer round-trips text it has never seen")
    func trained() {
        var generator = SplitMix64(state: 99)
        let corpus = (0..<200).map { _ in Self.randomText(&generator) }.joined(separator: "\n")
        let tokenizer = BytePairTrainer.train(corpus: corpus, mergeCount: 200)
        for trial in 0..<1000 {
            let text = Self.randomText(&generator)
            #expect(tokenizer.decodeBytes(tokenizer.encode(text)) == Array(text.utf8), "trial \(trial): \(text.debugDescription)")
        }
    }

    @Test("Character tokenizer: decode(encode(x)) == x for random strings over its vocabulary")
    func characters() throws {
        var generator = SplitMix64(state: 2024)
        let texts = (0..<500).map { _ in Self.randomText(&generator) }
        let tokenizer = CharacterTokenizer(corpus: texts.joined())
        for text in texts {
            let ids = try tokenizer.encodeChecked(text)
            #expect(ids.count == text.unicodeScalars.count)
            #expect(Array(tokenizer.decode(ids).unicodeScalars) == Array(text.unicodeScalars))
            #expect(tokenizer.decodeBytes(ids) == Array(text.utf8))
        }
    }
}
