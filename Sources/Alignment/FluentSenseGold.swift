// The demo's gold with a fluency term: real words alone do not make sense ("not is what you say
// now's: look" is all real words), so sense also asks how natural the response reads to the
// pretrained model — its mean per-token log-probability, against the pretrained model's own
// samples. Word salad, fragments and runs of separators read as unlikely and lose their
// positivity, as they did with the seed project's human raters.

import Foundation
import Models
import Tensors
import Tokenizers

/// gold(prompt, response) = s · positivity − (1 − s), with sense s = realShare · fluency, where
/// positivity and realShare are ``SenseAndSentimentGold``'s and fluency = min(1, exp(Δ)), Δ the
/// response's mean per-token log-probability under the pretrained model (given the prompt) minus
/// `baseline`, the mean over the pretrained model's own samples. A sample as fluent as the
/// pretrained model's typical output keeps full sense; one nat per token less keeps 37 %.
public struct FluentSenseGold: RewardFunction {
    /// Positivity and real words.
    public let words: SenseAndSentimentGold
    /// The judge of fluency (the pretrained model) and its tokenizer.
    public let model: any CausalLanguageModel
    public let tokenizer: any Tokenizer
    /// The mean per-token log-probability of the pretrained model's own samples.
    public var baseline: Double

    /// A gold rater; `baseline` as measured by ``meanLogProbability(prompts:responses:)`` on the model's own samples.
    public init(words: SenseAndSentimentGold, model: any CausalLanguageModel, tokenizer: any Tokenizer, baseline: Double) {
        self.words = words
        self.model = model
        self.tokenizer = tokenizer
        self.baseline = baseline
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        return try zip(prompts, responses).map { prompt, response in
            let sense = words.realWordShare(response) * fluency(try meanLogProbability(prompt: prompt, response: response))
            return Float(sense) * words.lexicon.score(response) - Float(1 - sense)
        }
    }

    /// min(1, exp(mean log-probability − baseline)); 0 for a response without tokens.
    public func fluency(_ meanLogProbability: Double?) -> Double {
        guard let meanLogProbability else { return 0 }
        return min(1, exp(meanLogProbability - baseline))
    }

    /// The mean log p(response token | prompt, earlier response tokens) under the model, or nil
    /// for an empty response. Long texts keep their last n_positions tokens.
    public func meanLogProbability(prompt: String, response: String) throws -> Double? {
        let responseTokens = tokenizer.encode(response)
        guard !responseTokens.isEmpty else { return nil }
        var tokens = tokenizer.encode(prompt) + responseTokens
        var scored = responseTokens.count
        let limit = model.modelConfiguration.positions
        if tokens.count > limit {
            tokens = Array(tokens.suffix(limit))
            scored = min(scored, limit - 1)
        }
        if tokens.count == scored {  // no prompt token to condition the first response token on
            scored -= 1
            if scored == 0 { return nil }
        }
        let values = try model.evaluating { try sequenceLogProbabilities(model, tokens: tokens) }
        return Double(values.suffix(scored).reduce(0, +)) / Double(scored)
    }

    /// The mean of ``meanLogProbability(prompt:response:)`` over responses (empty ones left out).
    public func meanLogProbability(prompts: [String], responses: [String]) throws -> Double {
        let values = try zip(prompts, responses).compactMap { try meanLogProbability(prompt: $0, response: $1) }
        return values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// How the score is computed, for reports.
    public static let definition = "gold = s · positivity − (1 − s), where positivity is the lexicon score (positive minus negative words, each counted once, negation within three words, divided by √words) and the sense s = (share of the response's words that occur in the corpus) × min(1, exp(Δ)), Δ being the response's mean per-token log-probability under the pretrained model minus that of the pretrained model's own samples; a response without words scores −1"
}
