import Foundation
import Testing
import Tokenizers

/// GPT-2 ids against tiktoken: the shared `encode_cases.jsonl`, seeded random texts
/// (`Fixtures/gpt2_random_cases.jsonl`), and checksums of whole corpora. Every reference was made
/// once by `scripts/reference/gpt2_token_checksums.py` with tiktoken 0.14.0 from the local
/// `gpt2.tiktoken` (`encode(text, allowed_special="all")`).
@Suite(.enabled(if: TestData.hasGPT2, "\(TestData.missingGPT2)"))
struct GPT2EncodingTests {
    @Test("encode_cases.jsonl: exact tiktoken ids, and decode restores the text", arguments: TestData.gpt2Sources)
    func encodeCases(source: String) throws {
        let tokenizer = TestData.gpt2(source)
        let cases = try TestData.encodeCases(TestData.file("gpt2/encode_cases.jsonl"))
        #expect(cases.count == 23)
        for (text, ids) in cases {
            #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)")
            #expect(Array(tokenizer.decode(ids).utf8) == Array(text.utf8), "\(text.debugDescription)")
        }
    }

    @Test("Random texts (every plane, special tokens, chunks long enough for the heap merge): exact ids", arguments: TestData.gpt2Sources)
    func randomCases(source: String) throws {
        let tokenizer = TestData.gpt2(source)
        let cases = try TestData.encodeCases(TestData.fixtures.appendingPathComponent("gpt2_random_cases.jsonl"))
        #expect(cases.count == 160)
        #expect(cases.contains { $0.text.utf8.count > 1000 })
        for (text, ids) in cases {
            #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)")
        }
    }

    @Test("The GPT-2 vocabulary: size, end of text, spellings, merges")
    func vocabulary() {
        let tokenizer = TestData.gpt2
        #expect(tokenizer.vocabularySize == 50257)
        #expect(tokenizer.endOfTextTokenId == 50256)
        #expect(tokenizer.specialTokens == ["<|endoftext|>": 50256])
        #expect(tokenizer.mergeCount == 50000)
        #expect(tokenizer.merges.first! == ("Ġ", "t"))
        #expect(tokenizer.token(for: 0) == "!")
        #expect(tokenizer.token(for: 262) == "Ġthe")
        #expect(tokenizer.token(for: 50256) == "<|endoftext|>")
        #expect(tokenizer.token(for: 50257) == nil)
        #expect(tokenizer.token(for: -1) == nil)
        #expect(tokenizer.id(for: "Ġthe") == 262)
    }

    @Test("Special tokens written in text map to their ids, as GPT2TokenizerFast does")
    func specialTokens() {
        let tokenizer = TestData.gpt2
        #expect(tokenizer.encode("<|endoftext|>") == [50256])
        // tiktoken: encode("Hello<|endoftext|> world", allowed_special="all")
        #expect(tokenizer.encode("Hello<|endoftext|> world") == [15496, 50256, 995])
        #expect(tokenizer.encode("a <|endoftext|><|endoftext|>b") == [64, 220, 50256, 50256, 65])
        // The pattern runs on each side separately: the space before the token stays a chunk.
        #expect(tokenizer.encode(" <|endoftext|>") == [220, 50256])
        // Ordinary encoding and incomplete markers spell the characters.
        #expect(tokenizer.encodeOrdinary("<|endoftext|>") == [27, 91, 437, 1659, 5239, 91, 29])
        #expect(tokenizer.encode("<|endoftext") == [27, 91, 437, 1659, 5239])
        #expect(tokenizer.decode([50256, 15496]) == "<|endoftext|>Hello")
        #expect(tokenizer.decodeBytes([50256]) == Array("<|endoftext|>".utf8))
    }

    @Test("decode replaces a split UTF-8 sequence by U+FFFD; decodeBytes keeps the bytes")
    func lossyDecode() {
        let tokenizer = TestData.gpt2
        let ids = tokenizer.encode("😀")  // bytes F0 9F 98 80, two tokens
        #expect(ids.count == 2)
        #expect(tokenizer.decodeBytes(ids) == [0xF0, 0x9F, 0x98, 0x80])
        let head = tokenizer.decodeBytes([ids[0]])
        #expect(head == [0xF0, 0x9F, 0x98])
        #expect(tokenizer.decode([ids[0]]) == "\u{FFFD}")  // one U+FFFD for the maximal bad subpart
        #expect(tokenizer.decode([ids[0], 15496]) == "\u{FFFD}Hello")
        #expect(tokenizer.decode([50257, -3, 15496]) == "Hello")  // unknown ids are skipped
    }

    @Test("encodeBatch equals encoding each text")
    func batch() {
        let tokenizer = TestData.gpt2
        // Over 64 KB in all, so the work is spread over threads.
        let texts = (0..<300).map { "Line \($0): \(String(repeating: "to be or not to be, ", count: $0 % 37))<|endoftext|>" }
        #expect(texts.reduce(0) { $0 + $1.utf8.count } > 1 << 16)
        #expect(tokenizer.encodeBatch(texts) == texts.map(tokenizer.encode))
        #expect(tokenizer.encodeBatch([]) == [])
    }
}

/// Whole corpora against tiktoken, by count and SHA-256 of the ids (little-endian UInt32).
@Suite(.enabled(if: TestData.hasGPT2, "\(TestData.missingGPT2)"))
struct GPT2CorpusChecksumTests {
    static let hasShakespeare = TestData.has("shakespeare/tiny_shakespeare.txt", "shakespeare/complete_works.txt")
    static let hasHH = TestData.has("hh-rlhf/harmless-base-test.jsonl.gz") && TestData.gzipTool != nil

    func text(_ relativePath: String) throws -> String {
        try String(contentsOf: TestData.file(relativePath), encoding: .utf8)
    }

    @Test("tiny_shakespeare.txt as one string: tiktoken's ids", .enabled(if: hasShakespeare, "needs ../shared/data/shakespeare"),
          arguments: TestData.gpt2Sources)
    func tinyShakespeare(source: String) throws {
        let ids = TestData.gpt2(source).encode(try text("shakespeare/tiny_shakespeare.txt"))
        #expect(ids.count == 338_025)
        #expect(idChecksum(ids) == "0c00ab83dc7f46665805762aa7688fb7852f03f28c4a5d84061871e85ea7c815")
    }

    @Test("complete_works.txt as one string: tiktoken's ids", .enabled(if: hasShakespeare, "needs ../shared/data/shakespeare"))
    func completeWorks() throws {
        let ids = TestData.gpt2.encode(try text("shakespeare/complete_works.txt"))
        #expect(ids.count == 1_566_082)
        #expect(idChecksum(ids) == "26606acfdf4583ff1b627df0ff1290db2ef578fab09aaa7ccfa8ea85b71ec922")
    }

    /// HH is tokenized record by record in file order, "chosen" then "rejected", each string
    /// encoded on its own, the ids concatenated.
    @Test("HH harmless-base test, chosen then rejected per line: tiktoken's ids",
          .enabled(if: hasHH, "needs ../shared/data/hh-rlhf/harmless-base-test.jsonl.gz and a gzip tool"))
    func anthropicHH() throws {
        let data = try TestData.gunzip(TestData.file("hh-rlhf/harmless-base-test.jsonl.gz"))
        var texts: [String] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            let record = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            texts.append(record["chosen"] as! String)
            texts.append(record["rejected"] as! String)
        }
        #expect(texts.count == 2 * 2312)
        let ids = TestData.gpt2.encodeBatch(texts).flatMap { $0 }
        #expect(ids.count == 787_168)
        #expect(idChecksum(ids) == "e27102b1a773038994b2fa6240db2504458cd82f4b0643fb77c2786c70393d4c")
    }

    /// Every scalar `c` (U+0000…U+10FFFF without surrogates) as `c a c 1 space c !`, so that the
    /// class of each scalar in the pattern (letter, number, whitespace, other) decides the split.
    @Test("Every Unicode scalar in context: tiktoken's ids (Unicode classes agree)")
    func everyScalar() {
        var utf8 = [UInt8]()  // built as bytes: appending 7.7M scalars to a String is far slower
        utf8.reserveCapacity(17_596_032)
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let character = Array(String(scalar).utf8)
            utf8 += character + [UInt8(ascii: "a")] + character + Array("1 ".utf8) + character + [UInt8(ascii: "!")]
        }
        #expect(utf8.count == 17_596_032)
        let ids = TestData.gpt2.encode(String(decoding: utf8, as: UTF8.self))
        #expect(ids.count == 17_463_901)
        #expect(idChecksum(ids) == "e07c68e6f252da9da5511a911a42b4b186493fae1890f2dfe4ea8a6edd7ddca4")
    }
}
