// Batched autoregressive generation with a key/value cache: left padding, attention mask and
// position ids such that padding changes nothing; EOS, stop strings, min/max new tokens; and the
// log-probability of every chosen token.

import Foundation
import Kernels
import NN
import Tensors
import Tokenizers

/// Everything about a generation request except the prompts.
public struct GenerationConfiguration: Codable, Equatable, Sendable {
    /// Tokens to generate at most per sequence.
    public var maxNewTokens: Int
    /// EOS may not be chosen before this many new tokens.
    public var minNewTokens: Int
    /// Temperature, top-k, top-p.
    public var sampling: SamplingConfiguration
    /// Generation stops once the decoded new text contains one of these (e.g. "\n\nHuman:").
    public var stopStrings: [String]
    /// The end-of-sequence token; nil uses the model's `eos_token_id`.
    public var endOfSequenceTokenId: Int?
    /// Whether EOS ends a sequence; false keeps sampling past it as an ordinary token
    /// (openai/lm-human-preferences' fixed-length responses).
    public var stopAtEndOfSequence: Bool
    /// Ids at or above this are never sampled (the tokenizer's ids when the embedding matrix is
    /// padded beyond them); nil: every id of the model.
    public var vocabularyLimit: Int?

    /// 64 new tokens, plain sampling, stop at EOS.
    public init(
        maxNewTokens: Int = 64, minNewTokens: Int = 0, sampling: SamplingConfiguration = SamplingConfiguration(),
        stopStrings: [String] = [], endOfSequenceTokenId: Int? = nil, stopAtEndOfSequence: Bool = true, vocabularyLimit: Int? = nil
    ) {
        self.vocabularyLimit = vocabularyLimit
        self.maxNewTokens = maxNewTokens
        self.minNewTokens = minNewTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
        self.endOfSequenceTokenId = endOfSequenceTokenId
        self.stopAtEndOfSequence = stopAtEndOfSequence
    }
}

/// Why a sequence stopped.
public enum FinishReason: String, Codable, Sendable {
    /// The end-of-sequence token was chosen (and is the last token).
    case endOfSequence = "eos"
    /// The new text contains a stop string (its tokens are kept).
    case stopString = "stop"
    /// max_new_tokens was reached.
    case length
}

extension GenerationConfiguration {
    /// The ids a sampler may choose for `model` with `tokenizer`: those something can stand for —
    /// the tokenizer's (special tokens included) and the model's own EOS/BOS — capped at the
    /// model's vocabulary; a padded embedding matrix's extra rows are left out.
    public static func vocabularyLimit(model: any LanguageModelConfiguration, tokenizer: any Tokenizer, endOfSequence: Int? = nil) -> Int {
        let known = [tokenizer.idLimit,
                     (endOfSequence ?? model.eosTokenId ?? -1) + 1, (model.eosTokenId ?? -1) + 1, (model.bosTokenId ?? -1) + 1].max()!
        return min(model.vocabularySize, known)
    }
}

/// One generated continuation.
public struct GeneratedSequence: Equatable, Sendable {
    /// The prompt's tokens.
    public var prompt: [Int]
    /// The new tokens, EOS or the stop string's tokens included.
    public var tokens: [Int]
    /// log softmax(logits / temperature) of each new token (temperature 0 counts as 1), from
    /// the distribution it was drawn from (the sampled ids; EOS left out where it was banned):
    /// what a training forward pass over prompt + tokens recomputes.
    public var logProbabilities: [Float]
    /// Why it stopped.
    public var finishReason: FinishReason
}

/// Generates continuations of `prompts` (token ids, any lengths) as one batch: a causal LM's
/// prompts left-padded, an encoder-decoder's encoded (see ``AutoregressiveModel``).
///
/// - Parameters:
///   - decode: turns new tokens into text, needed for stop strings.
///   - generator: the random stream (seed it for repeatable samples).
/// - Throws: `GenerationError` for an empty prompt, a prompt plus max_new_tokens that does not fit
///   the model, an out-of-vocabulary id, or bad sampling settings.
public func generate(
    _ model: any AutoregressiveModel, prompts: [[Int]], configuration: GenerationConfiguration,
    generator: inout RandomGenerator, decode: (([Int]) -> String)? = nil
) throws -> [GeneratedSequence] {
    try configuration.sampling.validate()
    let modelConfiguration = model.modelConfiguration
    let V = modelConfiguration.vocabularySize
    guard configuration.maxNewTokens >= 0, configuration.minNewTokens >= 0 else {
        throw GenerationError("max_new_tokens and min_new_tokens must be ≥ 0")
    }
    if !configuration.stopStrings.isEmpty && decode == nil {
        throw GenerationError("stop strings need a tokenizer to decode the generated text")
    }
    for (index, prompt) in prompts.enumerated() {
        guard !prompt.isEmpty else { throw GenerationError("prompt \(index) is empty") }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= V }) {
            throw GenerationError("prompt \(index) holds token id \(bad), outside the vocabulary 0..<\(V)")
        }
        if let problem = model.contextProblem(promptLength: prompt.count, newTokens: configuration.maxNewTokens) {
            throw GenerationError("prompt \(index): \(problem)")
        }
    }
    if let limit = configuration.vocabularyLimit, limit < 1 { throw GenerationError("vocabulary_limit must be ≥ 1, got \(limit)") }
    let sampled = min(configuration.vocabularyLimit ?? V, V)
    let B = prompts.count
    if B == 0 { return [] }
    let endOfSequence = configuration.endOfSequenceTokenId ?? modelConfiguration.eosTokenId
    var sequences = prompts.map { GeneratedSequence(prompt: $0, tokens: [], logProbabilities: [], finishReason: .length) }
    var active = Array(repeating: true, count: B)
    let wasTraining = model.isTrainingAnywhere
    model.setTraining(false)
    defer { if wasTraining { model.setTraining(true) } }

    withNoGrad {
        let session = model.startDecoding(prompts: prompts, newTokens: configuration.maxNewTokens)
        for step in 0..<configuration.maxNewTokens {
            var chosen = [Int32](repeating: 0, count: B)
            let logits = session.logits
            for b in 0..<B where active[b] {
                let row = UnsafeBufferPointer(start: logits.data + b * V, count: sampled)
                let banned = step < configuration.minNewTokens ? endOfSequence : nil
                let (token, logProbability) = sampleToken(row, configuration: configuration.sampling, banned: banned, generator: &generator)
                sequences[b].tokens.append(token)
                sequences[b].logProbabilities.append(logProbability)
                chosen[b] = Int32(token)
                if configuration.stopAtEndOfSequence && token == endOfSequence {
                    sequences[b].finishReason = .endOfSequence
                    active[b] = false
                } else if let decode, !configuration.stopStrings.isEmpty {
                    let text = decode(sequences[b].tokens)
                    if configuration.stopStrings.contains(where: { text.contains($0) }) {
                        sequences[b].finishReason = .stopString
                        active[b] = false
                    }
                }
            }
            if !active.contains(true) || step + 1 == configuration.maxNewTokens { break }
            session.append(chosen)
        }
    }
    return sequences
}

/// The text of generated tokens cut before the first stop string it contains.
public func truncating(_ text: String, atFirstOf stopStrings: [String]) -> String {
    var cut = text.endIndex
    for stop in stopStrings where !stop.isEmpty {
        if let range = text.range(of: stop), range.lowerBound < cut { cut = range.lowerBound }
    }
    return String(text[..<cut])
}

/// log p(token_t | tokens_<t) for t = 1 ..< n of one sequence (n − 1 values), from one forward
/// pass at `temperature` (logits divided by it).
public func sequenceLogProbabilities(_ model: any CausalLanguageModel, tokens: [Int], temperature: Float = 1) throws -> [Float] {
    let limit = model.modelConfiguration.positions
    guard !tokens.isEmpty else { throw GenerationError("the text encodes to no tokens") }
    guard tokens.count <= limit else { throw GenerationError("\(tokens.count) tokens exceed n_positions \(limit)") }
    if let bad = tokens.first(where: { $0 < 0 || $0 >= model.modelConfiguration.vocabularySize }) {
        throw GenerationError("token id \(bad) is outside the vocabulary 0..<\(model.modelConfiguration.vocabularySize)")
    }
    if tokens.count == 1 { return [] }
    return withNoGrad {
        let ids = IndexTensor(shape: [1, tokens.count], values: tokens)
        var logits = model(ids)
        if temperature != 1 { logits = logits * (1 / temperature) }
        let next = IndexTensor(shape: [1, tokens.count], values: Array(tokens.dropFirst()) + [0])
        return Array(tokenLogProbabilities(logits, tokens: next).scalars.dropLast())
    }
}
