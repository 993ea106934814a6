// The comparison table: generations of two saved models scored by a reward, gold scores, and the
// Markdown / CSV / HTML renderings with their escaping.

import Foundation
import Alignment
import Evaluation
import Models
import Testing
import Tokenizers

@Suite("Comparison")
struct ComparisonTests {
    @Test("two checkpoints on the same prompts: one generation and score per model, gold scored, means")
    func run() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("compare-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenizer = CharacterTokenizer(corpus: " abcABC")
        var directories: [(name: String, directory: URL)] = []
        for (name, seed) in [("a", UInt64(1)), ("b", UInt64(2))] {
            let model = GPT2LMHeadModel(GPT2Configuration(vocabularySize: tokenizer.vocabularySize, positions: 16, embeddingDimension: 16,
                                                          layers: 1, heads: 2, bosTokenId: nil, eosTokenId: nil), seed: seed)
            let directory = folder.appendingPathComponent(name)
            try model.save(to: directory, tokenizer: tokenizer)
            directories.append((name, directory))
        }
        let comparison = try Comparison.run(models: directories, prompts: [("ab", "ABC"), ("c", nil)], reward: UppercaseFractionReward(),
                                            generation: GenerationConfiguration(maxNewTokens: 5, sampling: SamplingConfiguration(temperature: 0)))
        #expect(comparison.models == ["a", "b"] && comparison.rows.count == 2)
        for row in comparison.rows {
            #expect(row.responses.count == 2 && row.scores.count == 2)
            #expect(zip(row.responses, row.scores).allSatisfy { try! UppercaseFractionReward().rewards(prompts: [""], responses: [$0])[0] == $1 })
        }
        #expect(comparison.rows[0].goldScore == 1 && comparison.rows[1].goldScore == nil)
        #expect(comparison.meanGoldScore == 1)
        #expect(comparison.markdown.contains("| prompt | a | a score | b | b score | gold | gold score |"))
    }

    @Test("renderings escape what their formats need")
    func renderings() {
        let comparison = Comparison(models: ["x"], rows: [
            ComparisonRow(prompt: "a|b\n<c>", responses: ["say \"hi\", then & <b>"], scores: [0.5], gold: nil, goldScore: nil),
        ])
        #expect(comparison.markdown.contains("| a\\|b<br><c> | say \"hi\", then & <b> | 0.5000 |"))
        #expect(comparison.csv.contains("\"a|b\n<c>\",\"say \"\"hi\"\", then & <b>\",0.5"))
        #expect(comparison.html.contains("<td>a|b\n&lt;c&gt;</td><td>say &quot;hi&quot;, then &amp; &lt;b&gt;</td>"))
        #expect(!comparison.html.contains("<script"))
        #expect(escapeHTML("'<&>\"") == "&#39;&lt;&amp;&gt;&quot;")
        // Scalars that join < or > into one grapheme cluster do not hide them.
        let hostile = escapeHTML("\u{600}<img src=x onerror=alert(1)>\u{301}")
        #expect(!hostile.unicodeScalars.contains("<") && !hostile.unicodeScalars.contains(">"))
        #expect(hostile == "\u{600}&lt;img src=x onerror=alert(1)&gt;\u{301}")
    }
}
