// An encoder classifier's label probability as a reward (trlX's "joy").

import Foundation
import Models
import Tensors
import Tokenizers

/// An encoder classifier's probability of one label (for example a GoEmotions classifier's "joy",
/// as trlX's sentiment example rewards), for the response alone or `prompt + response`; batched,
/// in evaluation mode, without gradients. Multi-label classifiers give the label's sigmoid,
/// single-label ones its softmax share.
public struct EncoderLabelReward: RewardFunction {
    /// The classifier and its tokenizer.
    public let classifier: TextClassifier
    /// The output whose probability is the reward.
    public let label: Int
    /// Whether the prompt is scored with the response.
    public var includePrompt: Bool
    /// Texts per forward pass.
    public var batchSize: Int

    /// Wraps a classifier; `label` is a label name or an output index.
    public init(classifier: TextClassifier, label: String, includePrompt: Bool = true, batchSize: Int = 32, path: String = "classifier") throws {
        guard let index = classifier.labelIndex(label) else {
            throw RunError.unsuitableModel(path: path, problem: "label '\(label)' is not one of the classifier's labels: \(classifier.labels.joined(separator: ", "))")
        }
        self.classifier = classifier
        self.label = index
        self.includePrompt = includePrompt
        self.batchSize = batchSize
    }

    /// Loads a classifier checkpoint directory.
    public init(checkpoint: URL, label: String, includePrompt: Bool = true, batchSize: Int = 32) throws {
        try self.init(classifier: try TextClassifier.load(from: checkpoint), label: label, includePrompt: includePrompt,
                      batchSize: batchSize, path: checkpoint.path)
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        let texts = zip(prompts, responses).map { includePrompt ? $0 + $1 : $1 }
        return try classifier.probabilities(texts, batchSize: batchSize).map { $0[label] }
    }
}
