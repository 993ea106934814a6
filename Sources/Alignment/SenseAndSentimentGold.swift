// The demo's gold rater, after the Shakespeare project's human raters, who scored each sample
// for positivity and for sense: positivity from the lexicon (LexiconSentimentReward), credited
// only for the share of the response's words that are real words — words of the corpus's own
// vocabulary — and with the share of invented words taken off. A fluent happy line scores its
// positivity; high-scoring nonsense (fragments, invented words) loses what it gained.

import Foundation

/// gold(text) = realShare · positivity − (1 − realShare), where positivity is the lexicon's
/// score and realShare the fraction of the text's words (letters and apostrophes, lower-cased)
/// that occur in the corpus. A text with no words scores −1 (it makes no sense at all).
public struct SenseAndSentimentGold: RewardFunction {
    /// The positivity rule.
    public let lexicon: LexiconSentimentReward
    /// The real words: every word of the corpus, lower-cased.
    public let vocabulary: Set<String>

    /// A gold rater whose real words are those of `corpus`.
    public init(corpus: String, lexicon: LexiconSentimentReward = LexiconSentimentReward()) {
        self.lexicon = lexicon
        vocabulary = Set(LexiconSentimentReward.words(corpus))
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        return responses.map(score)
    }

    /// The gold score of one text.
    public func score(_ text: String) -> Float {
        let share = Float(realWordShare(text))
        return share * lexicon.score(text) - (1 - share)
    }

    /// The fraction of the text's words found in the vocabulary (0 for a text without words).
    public func realWordShare(_ text: String) -> Double {
        let words = LexiconSentimentReward.words(text)
        guard !words.isEmpty else { return 0 }
        return Double(words.filter(vocabulary.contains).count) / Double(words.count)
    }

    /// The fraction of all the words of `texts` found in the vocabulary.
    public func realWordShare(_ texts: [String]) -> Double {
        let words = texts.flatMap(LexiconSentimentReward.words)
        guard !words.isEmpty else { return 0 }
        return Double(words.filter(vocabulary.contains).count) / Double(words.count)
    }
}
