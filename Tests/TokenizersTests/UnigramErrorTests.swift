// Hostile and broken Unigram tokenizer.json files: each error names the file, the line and the
// field, and says what was expected.

import Foundation
import Testing
import Tokenizers

@Suite("Unigram tokenizer errors")
struct UnigramErrorTests {
    typealias Parts = UnigramTokenizerTests

    /// Loads `text` as `tokenizer.json` through `loadTokenizer`.
    static func load(_ text: String) throws -> any Tokenizer {
        let scratch = try Scratch()
        return try loadTokenizer(from: scratch.write("tokenizer.json", text))
    }

    @Test("the model: missing or empty vocab, bad entries, empty or repeated pieces, non-finite scores, unk_id out of range")
    func model() throws {
        func model(_ body: String) -> String {
            "{\n  \"normalizer\": null,\n  \"model\": \(body)\n}"
        }
        #expect(try Self.load(Parts.document()) is UnigramTokenizer)
        expectTokenizerError(["tokenizer.json:3", "(model.vocab)", "the field is missing"]) {
            try Self.load(model(#"{"type": "Unigram", "unk_id": 0}"#))
        }
        expectTokenizerError(["tokenizer.json:3", "(model.vocab)", "expected a non-empty array of [piece, score] pairs, found an array"]) {
            try Self.load(model(#"{"type": "Unigram", "vocab": []}"#))
        }
        expectTokenizerError(["(model.vocab)", "found an object"]) { try Self.load(model(#"{"type": "Unigram", "vocab": {"a": 1}}"#)) }
        expectTokenizerError(["tokenizer.json:8", "(model.vocab[1])", "expected [piece, score], found the string \"a\""]) {
            try Self.load(Parts.document(vocab: #"[["<unk>", 0.0], "a"]"#))
        }
        expectTokenizerError(["(model.vocab[1])", "the piece is empty"]) { try Self.load(Parts.document(vocab: #"[["<unk>", 0.0], ["", -1.0]]"#)) }
        expectTokenizerError(["(model.vocab[2])", "the piece \"a\" is also model.vocab[1]"]) {
            try Self.load(Parts.document(vocab: #"[["<unk>", 0.0], ["a", -1.0], ["a", -2.0]]"#))
        }
        expectTokenizerError(["tokenizer.json:8", "(model.vocab[1])", "expected a finite number as the score of \"a\", found the number 1e999"]) {
            try Self.load(Parts.document(vocab: #"[["<unk>", 0.0], ["a", 1e999]]"#))
        }
        expectTokenizerError(["(model.vocab[1])", "expected a finite number as the score of \"a\", found the number -1e400"]) {
            try Self.load(Parts.document(vocab: #"[["<unk>", 0.0], ["a", -1e400]]"#))
        }
        expectTokenizerError(["(model.vocab[1])", "found the string \"NaN\""]) { try Self.load(Parts.document(vocab: #"[["<unk>", 0.0], ["a", "NaN"]]"#)) }
        expectTokenizerError(["tokenizer.json", "invalid JSON"]) { try Self.load(Parts.document(vocab: #"[["<unk>", 0.0], ["a", NaN]]"#)) }
        expectTokenizerError(["tokenizer.json:8", "(model.unk_id)", "expected null or an index into model.vocab (0..<5), found the number 5"]) {
            try Self.load(Parts.document(unknownId: "5"))
        }
        expectTokenizerError(["(model.unk_id)", "found the number -1"]) { try Self.load(Parts.document(unknownId: "-1")) }
        expectTokenizerError(["(model.byte_fallback)", "expected true or false, found the string \"yes\""]) {
            try Self.load(Parts.document(byteFallback: "\"yes\""))
        }
        expectTokenizerError(["tokenizer.json:1", "(model.type)", "found no model type"]) { try Self.load("{\"model\": {}}") }
    }

    @Test("the precompiled charsmap: bad base64, truncated, trie larger than the blob, offsets out of range, bad UTF-8")
    func precompiled() throws {
        func load(_ blob: [UInt8]) throws -> any Tokenizer {
            try Self.load(Parts.document(normalizer: Parts.precompiled(blob)))
        }
        func loadSequence(_ blob: [UInt8]) throws -> any Tokenizer {
            try Self.load(Parts.document(normalizer: #"{"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": false, "strip_right": true}, "# + Parts.precompiled(blob) + "]}"))
        }
        let good = Parts.charsmapBlob()
        #expect(try load(good) is UnigramTokenizer)
        expectTokenizerError(["tokenizer.json:4", "(normalizer.precompiled_charsmap)", "the string is not valid base64"]) {
            try Self.load(Parts.document(normalizer: #"{"type": "Precompiled", "precompiled_charsmap": "AAEC!!=="}"#))
        }
        expectTokenizerError(["(normalizer.precompiled_charsmap)", "expected a base64 string, found null"]) {
            try Self.load(Parts.document(normalizer: #"{"type": "Precompiled", "precompiled_charsmap": null}"#))
        }
        expectTokenizerError(["(normalizer.precompiled_charsmap)", "the blob has 3 bytes, fewer than the 4 of its trie-size header"]) {
            try load(Array(good.prefix(3)))
        }
        expectTokenizerError(["tokenizer.json:4", "(normalizer.normalizers[1].precompiled_charsmap)", "the trie size 2048 is larger than the 1000 bytes after the header (truncated?)"]) {
            try loadSequence(Array(good.prefix(1004)))
        }
        var oddSize = good
        oddSize[0] = 0x01
        expectTokenizerError(["(normalizer.precompiled_charsmap)", "the trie size 2049 is not a positive multiple of 4 bytes"]) { try load(oddSize) }
        expectTokenizerError(["(normalizer.precompiled_charsmap)", "the trie size 0 is not a positive multiple"]) { try load([0, 0, 0, 0, 0x62, 0]) }
        expectTokenizerError(["(normalizer.precompiled_charsmap)", "trie unit 352 gives replacement offset 77, past the 5 bytes of replacement strings"]) {
            try load(Parts.charsmapBlob { $0[352] = 1 << 31 | 77 })
        }
        expectTokenizerError(["(normalizer.precompiled_charsmap)", "trie unit 353 points at unit 1377 for its value, past the 512 units"]) {
            try load(Parts.charsmapBlob { $0[353] = 1024 << 10 | 1 << 8 | 0x61 })
        }
        expectTokenizerError(["(normalizer.precompiled_charsmap)", "the replacement strings are not valid UTF-8 (at byte 2054 of the blob)"]) {
            try load(Parts.charsmapBlob(replacements: [0x62, 0, 0xFF, 0x65, 0]))
        }
        expectTokenizerError(["(normalizer.precompiled_charsmap)", "gives replacement offset 1, which is inside a character"]) {
            try load(Parts.charsmapBlob(replacements: [0xC3, 0xA9, 0, 0x65, 0]) { $0[352] = 1 << 31 | 1 })
        }
        // A cycle in the trie does not hang the check.
        #expect(try load(Parts.charsmapBlob { $0[256 ^ 0x70] = 0x70 << 10 | 0x70 }) is UnigramTokenizer)  // "p" leads back to the root
    }

    @Test("normalizers, pre-tokenizers, post-processors and decoders of an unknown type, or with bad settings, name the field")
    func pipeline() throws {
        expectTokenizerError(["tokenizer.json:4", "(normalizer.type)", "expected \"Sequence\", \"Precompiled\", \"Strip\" or \"Replace\", found the string \"NFKC\" (not supported)"]) {
            try Self.load(Parts.document(normalizer: #"{"type": "NFKC"}"#))
        }
        expectTokenizerError(["tokenizer.json:4", "(normalizer.normalizers[1].type)", "found the string \"Lowercase\" (not supported)"]) {
            try Self.load(Parts.document(normalizer: #"{"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": true, "strip_right": true}, {"type": "Lowercase"}]}"#))
        }
        expectTokenizerError(["(normalizer.normalizers)", "expected an array of normalizers, found the string \"x\""]) {
            try Self.load(Parts.document(normalizer: #"{"type": "Sequence", "normalizers": "x"}"#))
        }
        expectTokenizerError(["(normalizer.strip_right)", "expected true or false, found nothing"]) {
            try Self.load(Parts.document(normalizer: #"{"type": "Strip", "strip_left": true}"#))
        }
        expectTokenizerError(["(normalizer.pattern)", "the regular expression \"( {2,}\" does not compile"]) {
            try Self.load(Parts.document(normalizer: #"{"type": "Replace", "pattern": {"Regex": "( {2,}"}, "content": " "}"#))
        }
        expectTokenizerError(["(normalizer.pattern)", "expected {\"String\": …} or {\"Regex\": …}, found the string \" \""]) {
            try Self.load(Parts.document(normalizer: #"{"type": "Replace", "pattern": " ", "content": " "}"#))
        }
        expectTokenizerError(["tokenizer.json:5", "(pre_tokenizer.type)", "expected \"Metaspace\", \"WhitespaceSplit\" or \"Sequence\", found the string \"ByteLevel\" (not supported)"]) {
            try Self.load(Parts.document(preTokenizer: #"{"type": "ByteLevel", "add_prefix_space": false}"#))
        }
        expectTokenizerError(["(pre_tokenizer.pretokenizers[1].type)", "found the string \"Punctuation\""]) {
            try Self.load(Parts.document(preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Punctuation"}]}"#))
        }
        expectTokenizerError(["(pre_tokenizer.replacement)", "expected one character, found \"__\""]) {
            try Self.load(Parts.document(preTokenizer: #"{"type": "Metaspace", "replacement": "__"}"#))
        }
        expectTokenizerError(["(pre_tokenizer.prepend_scheme)", "expected \"always\", \"first\" or \"never\", found the string \"sometimes\""]) {
            try Self.load(Parts.document(preTokenizer: #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}"#))
        }
        expectTokenizerError(["(pre_tokenizer.add_prefix_space)", "false does not agree with prepend_scheme \"always\""]) {
            try Self.load(Parts.document(preTokenizer: #"{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false}"#))
        }
        #expect(try Self.load(Parts.document(preTokenizer: #"{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false, "prepend_scheme": "never"}"#)) is UnigramTokenizer)
        expectTokenizerError(["tokenizer.json:6", "(post_processor.type)", "expected \"TemplateProcessing\" or null, found the string \"BertProcessing\" (not supported)"]) {
            try Self.load(Parts.document(postProcessor: #"{"type": "BertProcessing", "sep": ["</s>", 1], "cls": ["<s>", 0]}"#))
        }
        let missingSpecial = #"{"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}], "pair": [], "special_tokens": {}}"#
        expectTokenizerError(["(post_processor.single[1])", "the special token \"</s>\" is not in post_processor.special_tokens"]) {
            try Self.load(Parts.document(postProcessor: missingSpecial))
        }
        let farId = #"{"type": "TemplateProcessing", "single": [], "pair": [], "special_tokens": {"</s>": {"id": "</s>", "ids": [70], "tokens": ["</s>"]}}}"#
        expectTokenizerError(["(post_processor.special_tokens.</s>.ids[0])", "expected an id in 0..<5, found the number 70"]) {
            try Self.load(Parts.document(postProcessor: farId))
        }
        expectTokenizerError(["tokenizer.json:7", "(decoder.decoders[1].type)", "found the string \"WordPiece\" (not supported)"]) {
            try Self.load(Parts.document(decoder: #"{"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "WordPiece"}]}"#))
        }
        expectTokenizerError(["(decoder.content)", "expected one character, found the string \"ab\""]) {
            try Self.load(Parts.document(decoder: #"{"type": "Strip", "content": "ab", "start": 1, "stop": 0}"#))
        }
    }

    @Test("added tokens: an id other than the model's, an id inside the model for a new token, single_word, repeated ids")
    func addedTokens() throws {
        expectTokenizerError(["tokenizer.json:3", "(added_tokens[0].id)", "\"a\" has id 2 in model.vocab, not 3"]) {
            try Self.load(Parts.document(addedTokens: #"[{"id": 3, "content": "a", "special": true}]"#))
        }
        expectTokenizerError(["(added_tokens[0].id)", "\"<new>\" is not in model.vocab, so its id must be in 5...6, found 1"]) {
            try Self.load(Parts.document(addedTokens: #"[{"id": 1, "content": "<new>", "special": true}]"#))
        }
        expectTokenizerError(["(added_tokens[1].id)", "id 5 is also given to \"<x>\""]) {
            try Self.load(Parts.document(addedTokens: #"[{"id": 5, "content": "<x>"}, {"id": 5, "content": "<y>"}]"#))
        }
        expectTokenizerError(["(added_tokens[0].single_word)", "expected false (single_word tokens are not supported)"]) {
            try Self.load(Parts.document(addedTokens: #"[{"id": 0, "content": "<unk>", "single_word": true}]"#))
        }
        expectTokenizerError(["(added_tokens)", "expected an array, found an object"]) { try Self.load(Parts.document(addedTokens: "{}")) }
    }
}
