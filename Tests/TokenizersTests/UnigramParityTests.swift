// UnigramTokenizer against Hugging Face `tokenizers` on T5-style tokenizer.json files made by
// scripts/reference/t5_unigram_parity.py: SentencePiece Unigram models trained on Shakespeare with
// T5's settings, converted by transformers, encoded and decoded by tokenizers on held-out lines and
// edge cases. No Python runs here: the fixtures are committed.

import Foundation
import Testing
import Tokenizers

@Suite("Unigram tokenizer parity with Hugging Face tokenizers")
struct UnigramParityTests {
    static let mainDirectory = TestData.fixtures.appendingPathComponent("t5_unigram")
    static let byteFallbackDirectory = TestData.fixtures.appendingPathComponent("t5_unigram_byte_fallback")

    /// One line of cases.jsonl.
    struct Case: Decodable {
        var tokenizer: String
        var variant: String?
        var kind: String
        var text: String?
        var pair: String?
        var ids: [Int]
        var ids_plain: [Int]?
        var decoded: String
        var decoded_skip: String
    }

    static func cases() throws -> [Case] {
        let text = try String(contentsOf: mainDirectory.appendingPathComponent("cases.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Case.self, from: Data($0.utf8)) }
    }

    /// Counts of agreeing results, and the first few disagreements.
    struct Tally: CustomStringConvertible {
        var ids = 0, idsEqual = 0, decodes = 0, decodesEqual = 0
        var mismatches: [String] = []

        mutating func recordIds(_ ours: [Int], _ theirs: [Int], _ label: @autoclosure () -> String) {
            ids += 1
            if ours == theirs { idsEqual += 1 } else if mismatches.count < 8 { mismatches.append("ids \(label()): \(ours) vs \(theirs)") }
        }

        /// Strings are compared as UTF-8: Swift's `==` would call canonically equivalent texts equal.
        mutating func recordDecode(_ ours: String, _ theirs: String, _ label: @autoclosure () -> String) {
            decodes += 1
            if Array(ours.utf8) == Array(theirs.utf8) { decodesEqual += 1 } else if mismatches.count < 8 {
                mismatches.append("decode \(label()): \(ours.debugDescription) vs \(theirs.debugDescription)")
            }
        }

        var description: String { "\(idsEqual)/\(ids) ids equal, \(decodesEqual)/\(decodes) decodes equal" }
        var allEqual: Bool { idsEqual == ids && decodesEqual == decodes && ids > 0 }
    }

    /// Checks every case of `selected` against `tokenizer`.
    static func check(_ tokenizer: UnigramTokenizer, _ selected: [Case], into tally: inout Tally) {
        for item in selected {
            let label = "\(item.tokenizer)/\(item.variant ?? "-")/\(item.kind) \((item.text ?? "\(item.ids)").debugDescription.prefix(60))"
            switch item.kind {
            case "text":
                tally.recordIds(tokenizer.encode(item.text!, addingSpecialTokens: true), item.ids, label)
                tally.recordIds(tokenizer.encode(item.text!), item.ids_plain!, label + " (no special tokens)")
            case "pair":
                tally.recordIds(tokenizer.encode(item.text!, pairedWith: item.pair!), item.ids, label)
                tally.recordIds(tokenizer.encode(item.text!, pairedWith: item.pair!, addingSpecialTokens: false), item.ids_plain!, label + " (no special tokens)")
            default:
                break
            }
            tally.recordDecode(tokenizer.decode(item.ids), item.decoded, label)
            tally.recordDecode(tokenizer.decode(item.ids, skippingSpecialTokens: true), item.decoded_skip, label + " (skipping special tokens)")
        }
    }

    /// The main tokenizer.json with top-level members replaced, as the script builds each variant:
    /// the text from `"key":` to the next top-level member is swapped for the variant's JSON.
    static func variantText(_ main: String, _ replacements: [String: Any]) throws -> String {
        let order = ["normalizer", "pre_tokenizer", "post_processor", "decoder", "model"]
        let charsmapStart = try #require(main.range(of: "\"precompiled_charsmap\":"))
        let valueStart = try #require(main[charsmapStart.upperBound...].firstIndex(of: "\""))
        let valueEnd = try #require(main[main.index(after: valueStart)...].firstIndex(of: "\""))
        let charsmap = String(main[valueStart...valueEnd])
        var text = main
        for (key, value) in replacements {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
                .replacingOccurrences(of: "\"=main\"", with: charsmap)
            let next = order[try #require(order.firstIndex(of: key)) + 1]
            let start = try #require(text.range(of: "\"\(key)\":"))
            let end = try #require(text.range(of: "\"\(next)\":", range: start.upperBound..<text.endIndex))
            var cut = end.lowerBound
            while let previous = text[..<cut].last, previous == "," || previous.isWhitespace { cut = text.index(before: cut) }
            text.replaceSubrange(start.upperBound..<cut, with: json)
        }
        return text
    }

    @Test("T5 main tokenizer: ids with and without </s>, pairs and decodes equal tokenizers' on held-out Shakespeare and edge cases")
    func mainTokenizer() throws {
        let tokenizer = try #require(try loadTokenizer(from: Self.mainDirectory) as? UnigramTokenizer)
        let selected = try Self.cases().filter { $0.tokenizer == "main" && $0.variant == nil }
        var tally = Tally()
        Self.check(tokenizer, selected, into: &tally)
        print("t5_unigram: \(tally)")
        #expect(selected.count > 250)
        #expect(tally.allEqual, "\(tally); \(tally.mismatches)")
        #expect(tokenizer.vocabularySize == 2100 && tokenizer.endOfTextTokenId == 1 && tokenizer.unknownTokenId == 2)
        #expect(tokenizer.specialTokens.count == 103 && tokenizer.specialTokens["<extra_id_0>"] == 2099)
        // Many texts at once run on several threads (the regular expression of the normalizer too).
        let texts = selected.filter { $0.kind == "text" }
        let batch = Array(repeating: texts.map { $0.text! }, count: 40).joined()
        #expect(tokenizer.encodeBatch(Array(batch)) == Array(Array(repeating: texts.map { $0.ids_plain! }, count: 40).joined()))
    }

    @Test("Byte-fallback tokenizer (transformers' generic SentencePiece converter): ids and decodes equal tokenizers'")
    func byteFallbackTokenizer() throws {
        let tokenizer = try #require(try loadTokenizer(from: Self.byteFallbackDirectory) as? UnigramTokenizer)
        let selected = try Self.cases().filter { $0.tokenizer == "byte_fallback" }
        var tally = Tally()
        Self.check(tokenizer, selected, into: &tally)
        print("t5_unigram_byte_fallback: \(tally)")
        #expect(selected.count > 250)
        #expect(tally.allEqual, "\(tally); \(tally.mismatches)")
    }

    @Test("Pipeline variants (hub legacy layout, transformers 5 from spiece.model, prepend first/never, no split) equal tokenizers'")
    func variants() throws {
        let main = try String(contentsOf: Self.mainDirectory.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        let variantsFile = try Data(contentsOf: Self.mainDirectory.appendingPathComponent("variants.json"))
        let variants = try #require((try JSONSerialization.jsonObject(with: variantsFile) as? [String: Any])?["variants"] as? [String: [String: Any]])
        let cases = try Self.cases()
        let scratch = try Scratch()
        var total = Tally()
        for (name, replacements) in variants.sorted(by: { $0.key < $1.key }) {
            let file = try scratch.write("\(name)/tokenizer.json", try Self.variantText(main, replacements))
            let tokenizer = try #require(try loadTokenizer(from: file) as? UnigramTokenizer)
            let selected = cases.filter { $0.variant == name }
            #expect(selected.count > 90, "\(name)")
            var tally = Tally()
            Self.check(tokenizer, selected, into: &tally)
            print("t5_unigram variant \(name): \(tally)")
            #expect(tally.allEqual, "\(name): \(tally); \(tally.mismatches)")
            total.ids += tally.ids; total.idsEqual += tally.idsEqual
            total.decodes += tally.decodes; total.decodesEqual += tally.decodesEqual
        }
        #expect(variants.count == 6)
        print("t5_unigram variants: \(total)")
    }

    @Test("save(to:) writes a tokenizer.json that loads back with the same ids and decodes on every case")
    func saveRoundTrip() throws {
        let scratch = try Scratch()
        let cases = try Self.cases()
        for (name, directory) in [("main", Self.mainDirectory), ("byte_fallback", Self.byteFallbackDirectory)] {
            let original = try UnigramTokenizer(tokenizerJSON: directory.appendingPathComponent("tokenizer.json"))
            // RLHF_UNIGRAM_SAVE_DIR keeps the files for scripts/reference/t5_unigram_parity.py check-saved.
            let destination = ProcessInfo.processInfo.environment["RLHF_UNIGRAM_SAVE_DIR"]
                .map { URL(fileURLWithPath: $0).appendingPathComponent(name) } ?? scratch.url(name)
            try original.save(to: destination)
            let reloaded = try #require(try loadTokenizer(from: destination) as? UnigramTokenizer)
            var tally = Tally()
            Self.check(reloaded, cases.filter { $0.tokenizer == name && $0.variant == nil }, into: &tally)
            #expect(tally.allEqual, "\(name) after save: \(tally); \(tally.mismatches)")
            #expect(reloaded.vocabularySize == original.vocabularySize && reloaded.specialTokens == original.specialTokens)
            #expect(reloaded.endOfTextTokenId == original.endOfTextTokenId)
            // Saving what was loaded from a save gives the same bytes.
            try reloaded.save(to: scratch.url("\(name)-again"))
            let first = try Data(contentsOf: destination.appendingPathComponent("tokenizer.json"))
            let second = try Data(contentsOf: scratch.url("\(name)-again/tokenizer.json"))
            #expect(first == second)
            let config = try String(contentsOf: destination.appendingPathComponent("tokenizer_config.json"), encoding: .utf8)
            #expect(config.contains(name == "main" ? "\"T5Tokenizer\"" : "\"PreTrainedTokenizerFast\""))
            #expect(!config.contains("extra_ids") || config.contains("\"extra_ids\": 100"))
        }
    }
}
