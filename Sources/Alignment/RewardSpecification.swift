// Reward functions named by strings, for configs and the command line.

import Datasets
import Synchronization
import Foundation
import Models
import Tokenizers
import Yams

/// A reward function named by a string, for configs and the command line.
public enum RewardSpecification {
    /// The kinds a specification may start with (the text before the first colon).
    public static let kinds: Set<String> = ["model", "uppercase", "lexicon", "regex", "length", "classifier", "http", "https"]
    /// The forms a specification may take, for error messages.
    public static let forms = "model:DIR, uppercase, lexicon, regex:PATTERN, length:N, classifier:DIR:LABEL or http(s)://URL"

    /// `model:DIR` (a reward model), `uppercase`, `lexicon` (the gold positivity scorer,
    /// ``LexiconSentimentReward``), `regex:PATTERN`, `length:N` (tokens of `tokenizer`),
    /// `classifier:DIR:LABEL` (a classifier's probability of output LABEL), or `http:URL` /
    /// `https:URL` (an external scorer, made by ``remoteReward``).
    public static func make(_ specification: String, tokenizer: (any Tokenizer)? = nil) throws -> any RewardFunction {
        let parts = specification.split(separator: ":", maxSplits: 1).map(String.init)
        let argument = parts.count > 1 ? parts[1] : ""
        switch parts.first ?? "" {
        case "model": return try LearnedReward(checkpoint: URL(fileURLWithPath: argument))
        case "uppercase": return UppercaseFractionReward()
        case "lexicon": return LexiconSentimentReward()
        case "regex": return try RegexReward(pattern: argument)
        case "length":
            guard let target = Int(argument) else { throw RunError.invalidSetting(field: "reward", source: "config", problem: "is '\(specification)'; length needs a number, e.g. length:24") }
            guard let tokenizer else { throw RunError.invalidSetting(field: "reward", source: "config", problem: "is '\(specification)'; length:N needs the policy's tokenizer") }
            return try TargetLengthReward(target: target, tokenizer: tokenizer)
        case "classifier":
            guard let colon = argument.lastIndex(of: ":"), colon != argument.startIndex, argument.index(after: colon) != argument.endIndex else {
                throw RunError.invalidSetting(field: "reward", source: "config", problem: "is '\(specification)'; expected classifier:DIR:LABEL (a label name such as joy, or an output index)")
            }
            let directory = URL(fileURLWithPath: String(argument[..<colon]))
            let label = String(argument[argument.index(after: colon)...])
            // Decoder classifiers of a registered family (GPT-2, …) by output index; BERT/RoBERTa
            // encoders by label name or index.
            let config = directory.appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: config.path) else {
                throw RunError.missingFile(path: config.path, expected: "field 'reward': classifier:DIR:LABEL needs a classifier checkpoint directory")
            }
            // An encoder family (BERT, RoBERTa) names labels; a decoder family's classifier has output indices.
            if try ModelLoader.family(of: directory).loadEncoderClassifier != nil {
                return try EncoderLabelReward(checkpoint: directory, label: label)
            }
            guard let index = Int(label) else {
                throw RunError.invalidSetting(field: "reward", source: directory.path, problem: "names label '\(label)'; a decoder classifier's label must be an output index")
            }
            return try ClassifierLabelReward(checkpoint: directory, label: index)
        case "http", "https":
            guard let url = URL(string: specification), url.host != nil else {
                throw RunError.invalidSetting(field: "reward", source: "config", problem: "is '\(specification)', not a URL with a host")
            }
            guard let makeRemote = remoteReward else {
                throw RunError.invalidSetting(field: "reward", source: "config",
                                              problem: "is '\(specification)'; an HTTP reward needs the Clients module, which this program has not registered "
                                                + "(the rlhf tool does; a program of your own calls ClientRegistration.register() first)")
            }
            return try makeRemote(url)
        default:
            throw RunError.invalidSetting(field: "reward", source: "config", problem: "is '\(specification)'; expected \(forms)")
        }
    }

    /// Makes the reward of an `http:`/`https:` specification from its URL. Alignment has no HTTP
    /// client (the demo builds without one): the Clients module sets this to its `HTTPReward`
    /// (`ClientRegistration.register()`, which the `rlhf` tool calls at start). While it is nil,
    /// such a specification is an error saying so.
    public static var remoteReward: (@Sendable (URL) throws -> any RewardFunction)? {
        get { remoteRewardFactory.withLock { $0 } }
        set { remoteRewardFactory.withLock { $0 = newValue } }
    }

    private static let remoteRewardFactory = Mutex<(@Sendable (URL) throws -> any RewardFunction)?>(nil)
}
