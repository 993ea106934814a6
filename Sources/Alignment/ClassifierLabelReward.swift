// A decoder classifier's label probability as a reward.

import Foundation
import Models
import Tensors
import Tokenizers

/// A decoder sequence classifier's (any registered family) probability of one output for `prompt + response` (or the
/// response alone); ``EncoderLabelReward`` is the same for BERT/RoBERTa classifiers.
public struct ClassifierLabelReward: RewardFunction {
    /// The classifier.
    public let classifier: SequenceClassifier
    /// Its tokenizer.
    public let tokenizer: any Tokenizer
    /// The output whose probability is the reward.
    public let label: Int
    /// Whether the prompt is scored with the response (else the response alone).
    public var includePrompt: Bool

    /// Loads a classifier checkpoint; `label` must be one of its outputs.
    public init(checkpoint: URL, label: Int, includePrompt: Bool = false) throws {
        classifier = try SequenceClassifier.load(from: checkpoint)
        tokenizer = try loadTokenizer(from: checkpoint)
        try checkTokenizer(tokenizer, fits: classifier.modelConfiguration, path: checkpoint.path)
        let K = classifier.score.weight.shape[0]
        guard K >= 2, (0..<K).contains(label) else {
            throw RunError.unsuitableModel(path: checkpoint.path, problem: "label \(label) is not one of the classifier's \(K) outputs (a label probability needs ≥ 2)")
        }
        self.label = label
        self.includePrompt = includePrompt
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        let configuration = classifier.modelConfiguration
        let texts = zip(prompts, responses).map { includePrompt ? $0 + $1 : $1 }
        let sequences = try texts.map { text -> [Int32] in
            let ids = classifier.input(try tokenizer.encodeChecked(text), limit: configuration.positions)
            return ids.isEmpty ? [Int32(configuration.eosTokenId ?? 0)] : ids
        }
        let (ids, lengths) = rightPadded(sequences, padding: Int32(configuration.padTokenId ?? configuration.eosTokenId ?? 0))
        let probabilities = withNoGrad { classifier.outputs(ids, lengths: lengths).softmax() }
        let K = classifier.score.weight.shape[0]
        return (0..<texts.count).map { probabilities.scalars[$0 * K + label] }
    }
}
