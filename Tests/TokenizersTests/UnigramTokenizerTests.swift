// UnigramTokenizer's parts on small hand-written tokenizer.json files: the Viterbi segmentation
// against brute force, unknown characters and their fusion, byte fallback, Metaspace, the
// normalizers (a hand-built precompiled charsmap among them), added tokens, templates and decoders.

import Foundation
import Testing
import Tokenizers

@Suite("Unigram tokenizer")
struct UnigramTokenizerTests {
    static let metaspace = #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}"#

    /// A tokenizer.json with the given parts; one part per line (line 3: added_tokens, 4: normalizer,
    /// 5: pre_tokenizer, 6: post_processor, 7: decoder, 8: model).
    static func document(vocab: String = #"[["<unk>", 0.0], ["▁", -1.0], ["a", -2.0], ["b", -2.0], ["▁a", -1.5]]"#,
                         unknownId: String = "0", byteFallback: String = "false", normalizer: String = "null",
                         preTokenizer: String = metaspace, postProcessor: String = "null", decoder: String = metaspace,
                         addedTokens: String = "[]") -> String {
        """
        {
          "version": "1.0",
          "added_tokens": \(addedTokens),
          "normalizer": \(normalizer),
          "pre_tokenizer": \(preTokenizer),
          "post_processor": \(postProcessor),
          "decoder": \(decoder),
          "model": {"type": "Unigram", "unk_id": \(unknownId), "vocab": \(vocab), "byte_fallback": \(byteFallback)}
        }
        """
    }

    static func load(_ text: String) throws -> UnigramTokenizer {
        let scratch = try Scratch()
        return try #require(try loadTokenizer(from: scratch.write("tokenizer.json", text)) as? UnigramTokenizer)
    }

    /// The pieces of `text`'s ids.
    static func pieces(_ tokenizer: UnigramTokenizer, _ text: String) -> [String] {
        tokenizer.encode(text).map { tokenizer.token(for: $0) ?? "?" }
    }

    /// The 256 `<0xNN>` pieces as vocabulary entries.
    static let bytePieces = (0..<256).map { String(format: "[\"<0x%02X>\", 0.0]", $0) }.joined(separator: ", ")

    /// A tokenizer whose every character is unknown and falls back to bytes, so that
    /// `decode(encode(x))` is exactly the normalized `x`.
    static func normalizing(_ normalizer: String) throws -> (String) -> String {
        let tokenizer = try load(document(vocab: "[[\"<unk>\", 0.0], \(bytePieces)]", byteFallback: "true", normalizer: normalizer,
                                          preTokenizer: "null", decoder: #"{"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]}"#))
        return { tokenizer.decode(tokenizer.encode($0)) }
    }

    @Test("Viterbi finds the highest-scoring segmentation (brute force over 300 seeded words and vocabularies)")
    func viterbiIsOptimal() throws {
        var generator = SplitMix64(state: 23)
        let alphabet = ["a", "b", "c", "é"]
        for _ in 0..<30 {
            var pieces = Set(alphabet)
            while pieces.count < 14 {
                pieces.insert((0..<Int.random(in: 2...4, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined())
            }
            let ordered = pieces.sorted()
            var scores: [String: Double] = ["<unk>": 0]
            for piece in ordered { scores[piece] = -Double.random(in: 0.5...8, using: &generator) }
            let vocab = "[[\"<unk>\", 0.0], " + ordered.map { "[\"\($0)\", \(scores[$0]!)]" }.joined(separator: ", ") + "]"
            let tokenizer = try Self.load(Self.document(vocab: vocab, preTokenizer: "null", decoder: "null"))
            for _ in 0..<10 {
                let word = (0..<Int.random(in: 1...9, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
                let ids = tokenizer.encode(word)
                let chosen = ids.map { tokenizer.token(for: $0)! }
                #expect(chosen.joined() == word)
                // Best score over all segmentations, by dynamic programming over characters.
                let characters = word.map(String.init)
                var best = [Double](repeating: -.infinity, count: characters.count + 1)
                best[0] = 0
                for end in 1...characters.count {
                    for start in 0..<end {
                        if let score = scores[characters[start..<end].joined()] { best[end] = max(best[end], best[start] + score) }
                    }
                }
                let total = chosen.reduce(0.0) { $0 + scores[$1]! }
                #expect(abs(total - best[characters.count]) < 1e-9, "\(word): \(chosen) scores \(total), best \(best[characters.count])")
            }
        }
    }

    @Test("unknown characters score min − 10, consecutive ones fuse into one <unk>, a cheap piece beats two unknowns")
    func unknownCharacters() throws {
        let vocab = #"[["<unk>", 0.0], ["a", -1.0], ["b", -1.0], ["xy", -25.0], ["q", -30.0]]"#
        let tokenizer = try Self.load(Self.document(vocab: vocab, preTokenizer: "null", decoder: "null"))
        // min score −30: an unknown character costs −40, so "xy" (−25) beats x + y (−80).
        #expect(tokenizer.encode("axyb") == [1, 3, 2])
        #expect(tokenizer.encode("a€zb") == [1, 0, 2])  // "€z": two unknowns, one token
        #expect(tokenizer.encode("€a€") == [0, 1, 0])
        #expect(tokenizer.decode([1, 0, 2]) == "a <unk> b")  // no decoder: tokens joined by spaces
        #expect(tokenizer.unknownTokenId == 0)

        let strict = try Self.load(Self.document(vocab: vocab, unknownId: "null", preTokenizer: "null", decoder: "null"))
        #expect(strict.encode("a€b") == [1, 2])  // left out; encodeChecked reports it
        #expect(throws: TokenizerError.self) { try strict.encodeChecked("a€b") }
        #expect(try strict.encodeChecked("ab") == [1, 2])
    }

    @Test("byte fallback: an unknown run becomes its <0xNN> pieces; the ByteFallback decoder restores the text or U+FFFD per bad byte")
    func byteFallback() throws {
        let vocab = #"[["<unk>", 0.0], ["a", -1.0], "# + Self.bytePieces + "]"
        let decoder = #"{"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]}"#
        let tokenizer = try Self.load(Self.document(vocab: vocab, byteFallback: "true", preTokenizer: "null", decoder: decoder))
        #expect(tokenizer.encode("aé") == [1, 2 + 0xC3, 2 + 0xA9])
        #expect(tokenizer.decode(tokenizer.encode("a€😀a")) == "a€😀a")
        #expect(tokenizer.decode([2 + 0xE2, 2 + 0x82, 1, 2 + 0xFF]) == "\u{FFFD}\u{FFFD}a\u{FFFD}")
        // Without byte fallback, the same vocabulary gives <unk>.
        let plain = try Self.load(Self.document(vocab: vocab, preTokenizer: "null", decoder: decoder))
        #expect(plain.encode("aé") == [1, 0])
    }

    @Test("Metaspace: spaces become ▁, one is prepended per scheme, each ▁ starts a word; the decoder undoes it")
    func metaspace() throws {
        let vocab = #"[["<unk>", 0.0], ["▁", -3.0], ["a", -2.0], ["b", -2.0], ["▁a", -1.0], ["▁b", -1.0], ["ab", -1.0], ["▁ab", -1.5]]"#
        func tokenizer(_ scheme: String, split: Bool = true) throws -> UnigramTokenizer {
            let settings = #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": ""# + scheme + #"", "split": \#(split)}"#
            return try Self.load(Self.document(vocab: vocab, preTokenizer: settings, decoder: settings, addedTokens: #"[{"id": 0, "content": "<unk>", "special": true}]"#))
        }
        let always = try tokenizer("always"), first = try tokenizer("first"), never = try tokenizer("never")
        #expect(Self.pieces(always, "a  b") == ["▁a", "▁", "▁b"])
        #expect(Self.pieces(always, "ab b") == ["▁ab", "▁b"])
        #expect(Self.pieces(never, "ab b") == ["ab", "▁b"])
        #expect(Self.pieces(first, "ab<unk>ab") == ["▁ab", "<unk>", "ab"])  // only the input's start
        #expect(Self.pieces(always, "ab<unk>ab") == ["▁ab", "<unk>", "▁ab"])
        #expect(Self.pieces(try tokenizer("always", split: false), "ab ab") == ["▁ab", "▁ab"])  // one word, same best path
        #expect(always.decode(always.encode("ab  b")) == "ab  b")
        #expect(never.decode(never.encode(" ab")) == " ab")
        #expect(always.decode([1, 1, 4]) == "  a")  // the first token's ▁ is dropped, the others are spaces
        #expect(always.encode("") == [] && Self.pieces(always, "   ") == ["▁", "▁", "▁"])

        // The legacy spelling: add_prefix_space true is prepend_scheme "always".
        let legacy = try Self.load(Self.document(vocab: vocab, preTokenizer: #"{"type": "Metaspace", "replacement": "▁", "str_rep": "▁", "add_prefix_space": true}"#))
        #expect(Self.pieces(legacy, "ab b") == ["▁ab", "▁b"])
        // WhitespaceSplit first, as the hub's T5 files have it: whitespace runs vanish.
        let hub = try Self.load(Self.document(vocab: vocab, preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, "# + Self.metaspace + "]}"))
        #expect(Self.pieces(hub, " ab \t\n b ") == ["▁ab", "▁b"])
    }

    @Test("normalizers: Strip, Replace with a string or a regular expression, Sequence, in order")
    func normalizers() throws {
        let strip = try Self.normalizing(#"{"type": "Strip", "strip_left": true, "strip_right": true}"#)
        #expect(strip(" \t a b \n\u{3000}") == "a b")
        let t5 = try Self.normalizing(#"{"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": false, "strip_right": true}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]}"#)
        #expect(t5("  a   b  c \n") == "▁a▁b▁c")
        #expect(t5("a \u{301} b") == "a \u{301} b")  // scalars, not characters: the mark stays between single spaces
        let literal = try Self.normalizing(#"{"type": "Replace", "pattern": {"String": "ab"}, "content": "X"}"#)
        #expect(literal("aabab b") == "aXX b")
        #expect(literal("e\u{301}ab") == "e\u{301}X")
        let anchored = try Self.normalizing(#"{"type": "Replace", "pattern": {"Regex": "\\A +| +\\z"}, "content": ""}"#)
        #expect(anchored("  a  b  ") == "a  b")
    }

    /// A charsmap blob built by hand: a darts-clone double array of 512 units with the keys "a" → "b",
    /// "c" → "" and "é" (C3 A9) → "e". `edit` changes units before the blob is written.
    static func charsmapBlob(replacements: [UInt8] = [0x62, 0, 0, 0x65, 0], edit: (inout [UInt32]) -> Void = { _ in }) -> [UInt8] {
        var units = [UInt32](repeating: 0, count: 512)
        units[0] = 256 << 10                                // root: children at 256 ^ byte
        units[256 ^ 0x61] = 1 << 10 | 1 << 8 | 0x61         // "a": leaf, value unit 353 ^ 1 = 352
        units[352] = 1 << 31 | 0                            // → "b"
        units[256 ^ 0x63] = 1 << 10 | 1 << 8 | 0x63         // "c": value unit 355 ^ 1 = 354
        units[354] = 1 << 31 | 2                            // → ""
        units[256 ^ 0xC3] = UInt32(256 ^ 0xC3) << 10 | 0xC3  // C3: children at 451 ^ 451 = 0 ^ byte
        units[0xA9] = 1 << 10 | 1 << 8 | 0xA9               // C3 A9: value unit 169 ^ 1 = 168
        units[168] = 1 << 31 | 3                            // → "e"
        edit(&units)
        var blob = withUnsafeBytes(of: UInt32(units.count * 4).littleEndian, Array.init)
        for unit in units { blob += withUnsafeBytes(of: unit.littleEndian, Array.init) }
        return blob + replacements
    }

    static func precompiled(_ blob: [UInt8]) -> String {
        #"{"type": "Precompiled", "precompiled_charsmap": ""# + Data(blob).base64EncodedString() + #""}"#
    }

    @Test("Precompiled: a hand-built double array; whole grapheme clusters by their shortest key, else scalar by scalar")
    func precompiledCharsMap() throws {
        let normalize = try Self.normalizing(Self.precompiled(Self.charsmapBlob()))
        #expect(normalize("abcé") == "bbe")
        #expect(normalize("xyz") == "xyz")
        #expect(normalize("a\u{301}") == "b")  // the cluster starts with the key "a": all of it becomes "b"
        #expect(normalize("e\u{301}") == "e\u{301}")  // no key: scalar by scalar, unchanged
        #expect(normalize("a\u{301}\u{302}\u{303}") == "b\u{301}\u{302}\u{303}")  // 7 bytes: scalar by scalar
        #expect(normalize("ééc") == "ee")
    }

    @Test("added tokens: matched leftmost-longest in raw text, lstrip/rstrip, normalized ones after normalizing; skipped when special")
    func addedTokens() throws {
        let vocab = #"[["<unk>", 0.0], ["▁", -3.0], ["a", -2.0], ["b", -2.0], ["▁a", -1.0], ["▁b", -1.0], ["<s>", 0.0], ["<s>>", 0.0], ["AB", 0.0]]"#
        let added = #"""
            [{"id": 0, "content": "<unk>", "special": true, "normalized": false},
             {"id": 6, "content": "<s>", "special": true, "normalized": false, "lstrip": true, "rstrip": true},
             {"id": 7, "content": "<s>>", "special": true, "normalized": false},
             {"id": 8, "content": "AB", "special": false, "normalized": true},
             {"id": 9, "content": "[new]", "special": true, "normalized": false}]
            """#
        let normalizer = #"{"type": "Replace", "pattern": {"String": "x"}, "content": "A"}"#
        let tokenizer = try Self.load(Self.document(vocab: vocab, normalizer: normalizer, addedTokens: added))
        #expect(tokenizer.vocabularySize == 10 && tokenizer.token(for: 9) == "[new]")
        #expect(tokenizer.specialTokens == ["<unk>": 0, "<s>": 6, "<s>>": 7, "[new]": 9])
        #expect(Self.pieces(tokenizer, "a <s> b") == ["▁a", "<s>", "▁b"])  // lstrip/rstrip take the spaces
        #expect(Self.pieces(tokenizer, "a<s>>b[new]") == ["▁a", "<s>>", "▁b", "[new]"])  // the longest at the leftmost place
        #expect(Self.pieces(tokenizer, "axBb") == ["▁a", "AB", "▁b"])  // "xB" normalizes to "AB"
        #expect(tokenizer.decode(tokenizer.encode("a <s> b[new]"), skippingSpecialTokens: true) == "a b")
        #expect(tokenizer.decode(tokenizer.encode("a<s>b")) == "a<s> b")
    }

    @Test("TemplateProcessing: </s> after one sequence and after each of a pair; endOfTextTokenId is that </s>")
    func template() throws {
        let vocab = #"[["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁", -3.0], ["a", -2.0], ["▁a", -1.0]]"#
        let added = #"[{"id": 0, "content": "<pad>", "special": true}, {"id": 1, "content": "</s>", "special": true}, {"id": 2, "content": "<unk>", "special": true}]"#
        let template = #"""
            {"type": "TemplateProcessing",
             "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
             "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}}
            """#
        let tokenizer = try Self.load(Self.document(vocab: vocab, unknownId: "2", postProcessor: template, addedTokens: added))
        #expect(tokenizer.encode("a a") == [5, 5])
        #expect(tokenizer.encode("a a", addingSpecialTokens: true) == [5, 5, 1])
        #expect(tokenizer.encode("a", pairedWith: "a") == [5, 1, 5, 1])
        #expect(tokenizer.encode("a", pairedWith: "", addingSpecialTokens: false) == [5])
        #expect(tokenizer.encode("", addingSpecialTokens: true) == [1])
        #expect(tokenizer.endOfTextTokenId == 1)
        #expect(tokenizer.decode([5, 1, 0]) == "a</s><pad>" && tokenizer.decode([5, 1, 0, 99], skippingSpecialTokens: true) == "a")
        #expect(tokenizer.encodeBatch(["a", "a a", ""]) == [[5], [5, 5], []])
    }
}
