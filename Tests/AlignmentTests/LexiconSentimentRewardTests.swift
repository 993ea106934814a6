// The demo's gold rater: hand-computed lexicon scores, negation, repetition, and agreement with
// the 268 hand-labelled Shakespeare snippets.

import Alignment
import Foundation
import Models
import Testing

@Suite("Lexicon sentiment reward")
struct LexiconSentimentRewardTests {
    let gold = LexiconSentimentReward()

    @Test("scores by hand: +1 per positive word, −1 per negative, over √max(words, 4)")
    func handComputed() throws {
        #expect(gold.score("I love thee") == 0.5)  // 1 / √4 (three words count as four)
        #expect(abs(gold.score("O sweet love, I weep for thy death") - Float(2 - 2) / Float(8).squareRoot()) < 1e-6)
        #expect(abs(gold.score("joy joy and merry mirth to all of you") - 3 / Float(9).squareRoot()) < 1e-6)
        #expect(gold.score("the table is wooden") == 0)
        #expect(gold.score("") == 0)
        let scores = try gold.rewards(prompts: ["a", "b"], responses: ["happy", "sad"])
        #expect(scores == [0.5, -0.5])
    }

    @Test("a negator within three words flips the polarity; farther away it does not")
    func negation() {
        #expect(gold.score("I do not love thee") == -1 / Float(5).squareRoot())
        #expect(gold.score("I don't hate him") == 1 / Float(4).squareRoot())
        #expect(gold.score("I never, ever, truly loved her") == -1 / Float(6).squareRoot())
        #expect(gold.score("no, it is a sunny and happy day") == 1 / Float(8).squareRoot())  // "no" is six words before "happy"
        #expect(gold.score("Thou art not false") == 1 / Float(4).squareRoot())
    }

    @Test("repeating a word does not raise the score; curly apostrophes read as straight ones")
    func repetition() {
        #expect(gold.score("love love love love") == gold.score("love dull dull dull"))
        #expect(LexiconSentimentReward.words("Ne’er 'tis O'er—fair!") == ["ne'er", "tis", "o'er", "fair"])
        #expect(gold.score("ne’er sad") == gold.score("ne'er sad") && gold.score("ne'er sad") > 0)
    }

    @Test("bad input: a count mismatch is an error")
    func counts() throws {
        // The count check (RewardFunction.swift) still throws RunError's generic case: match the type and the input named.
        let error = try #require(throws: RunError.self) { try gold.rewards(prompts: ["a"], responses: []) }
        #expect(error.location == "reward")
    }

    @Test("agrees with the human happy/sad labels of the Shakespeare snippets where it has an opinion",
          .enabled(if: FileManager.default.fileExists(atPath: sharedData("shakespeare/handcrafted_sentiment.jsonl").path)))
    func humanAgreement() throws {
        let text = try String(contentsOf: sharedData("shakespeare/handcrafted_sentiment.jsonl"), encoding: .utf8)
        var agree = 0, opinions = 0, total = 0
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            let score = gold.score(object["sample"] ?? "")
            total += 1
            guard score != 0 else { continue }
            opinions += 1
            if (score > 0) == (object["sentiment"] == "happy") { agree += 1 }
        }
        #expect(total == 268)
        #expect(opinions >= 200 && Double(agree) / Double(opinions) > 0.85, "\(agree)/\(opinions)")
    }

    @Test("the gold by hand: real words keep their positivity, invented words are taken off, no words is −1")
    func senseAndSentimentGold() throws {
        let gold = SenseAndSentimentGold(corpus: "The sweet rose is fair.\nI love thee!")
        #expect(gold.vocabulary == ["the", "sweet", "rose", "is", "fair", "i", "love", "thee"])
        #expect(gold.score("I love thee") == 0.5)                  // share 1: positivity 1/√4
        #expect(gold.score("Ilovx blorp") == -1)                   // share 0
        #expect(gold.score("I love blorp xx") == 0.5 * 0.5 - 0.5)  // share 1/2: ½·(1/√4) − ½
        #expect(gold.score("!!! \n\n") == -1 && gold.score("") == -1)
        #expect(gold.realWordShare(["I love", "blorp xx"]) == 0.5)
        #expect(try gold.rewards(prompts: ["a", "b"], responses: ["I love thee", "blorp"]) == [0.5, -1])
    }

    @Test("the fluent gold by hand: sense is real words × min(1, exp(mean log-probability − baseline)); no tokens is −1")
    func fluentSenseGold() throws {
        let words = SenseAndSentimentGold(corpus: "a bad jab")  // letters only: the tiny model's vocabulary
        let model = tinyModel()
        var gold = FluentSenseGold(words: words, model: model, tokenizer: letters, baseline: -100)
        let (prompt, response) = ("a", " bad jab")
        let tokens = letters.encode(prompt + response)
        let values = try sequenceLogProbabilities(model, tokens: tokens)
        let mean = Double(values.suffix(letters.encode(response).count).reduce(0, +)) / Double(letters.encode(response).count)
        #expect(abs(try #require(try gold.meanLogProbability(prompt: prompt, response: response)) - mean) < 1e-6)
        // A baseline far below: full fluency, so the score is the words-only gold's.
        #expect(try gold.rewards(prompts: [prompt], responses: [response]) == [words.score(response)])
        // A baseline one nat per token above the response: sense e^-1 of the real-word share.
        gold.baseline = mean + 1
        let sense = words.realWordShare(response) * exp(-1.0)
        let expected = Float(sense) * words.lexicon.score(response) - Float(1 - sense)
        #expect(abs(try gold.rewards(prompts: [prompt], responses: [response])[0] - expected) < 1e-5)
        #expect(try gold.rewards(prompts: [prompt], responses: [""]) == [-1])
    }
}
