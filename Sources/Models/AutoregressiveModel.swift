// What generation and response scoring need from a model, whatever its shape: a causal language
// model continues the prompt itself; an encoder-decoder (T5) encodes the prompt once and its
// decoder continues from its start token. Both conform, so `generate` and
// `responseLogProbabilities` are written once.
// Shapes: B batch, V vocabulary, R response tokens.

import Foundation
import Tensors

/// A model that writes a response token by token after a prompt.
public protocol AutoregressiveModel: TrainableModel {
    /// The configuration, as code outside the family sees it.
    var modelConfiguration: any LanguageModelConfiguration { get }

    /// Why `promptLength` prompt tokens followed by `newTokens` new ones do not fit the model, or
    /// nil when they do (a causal LM holds both in its context; an encoder-decoder holds the prompt
    /// in its encoder and the response in its decoder).
    func contextProblem(promptLength: Int, newTokens: Int) -> String?

    /// Starts decoding `prompts` (B non-empty rows of in-vocabulary ids) with room for
    /// `newTokens` new tokens per row: the session's logits are those of each row's first new token.
    func startDecoding(prompts: [[Int]], newTokens: Int) -> any DecodingSession

    /// The logits (R, V) that predict each of `response`'s R tokens after `prompt`, by one
    /// teacher-forced pass (differentiable unless called under `withNoGrad`).
    func responseLogits(prompt: [Int], response: [Int]) -> Tensor
}

/// One batch being decoded: the next token's logits per row, and a way to feed the chosen tokens.
public protocol DecodingSession: AnyObject {
    /// (B, V): each row's logits for its next token.
    var logits: Tensor { get }
    /// Feeds one token per row (every row advances; a finished row's token is ignored by the
    /// caller) and computes the next logits.
    func append(_ tokens: [Int32])
}

/// log softmax(logits / temperature) of each of `response`'s tokens after `prompt`: what
/// generation reported as the tokens' log-probabilities when it sampled them at `temperature`
/// from the full vocabulary.
/// - Throws: ``GenerationError`` for an empty prompt or response, an out-of-vocabulary id, or a
///   pair that does not fit the model.
public func responseLogProbabilities(_ model: any AutoregressiveModel, prompt: [Int], response: [Int], temperature: Float = 1) throws -> [Float] {
    let V = model.modelConfiguration.vocabularySize
    guard !prompt.isEmpty, !response.isEmpty else { throw GenerationError("the prompt and the response must both have tokens") }
    if let bad = (prompt + response).first(where: { $0 < 0 || $0 >= V }) { throw GenerationError("token id \(bad) is outside the vocabulary 0..<\(V)") }
    if let problem = model.contextProblem(promptLength: prompt.count, newTokens: response.count) { throw GenerationError(problem) }
    let wasTraining = model.isTrainingAnywhere
    model.setTraining(false)  // no dropout: the numbers generation reported
    defer { if wasTraining { model.setTraining(true) } }
    return withNoGrad {
        var logits = model.responseLogits(prompt: prompt, response: response)
        if temperature != 1 { logits = logits * (1 / temperature) }
        let R = response.count
        return tokenLogProbabilities(logits.reshaped([1, R, V]), tokens: IndexTensor(shape: [1, R], values: response.map { Int32($0) })).scalars
    }
}

extension CausalLanguageModel {
    public func contextProblem(promptLength: Int, newTokens: Int) -> String? {
        let limit = modelConfiguration.positions
        guard promptLength + newTokens > limit else { return nil }
        return "the prompt has \(promptLength) tokens; with max_new_tokens \(newTokens) that exceeds n_positions \(limit)"
    }

    public func startDecoding(prompts: [[Int]], newTokens: Int) -> any DecodingSession {
        CausalDecodingSession(model: self, prompts: prompts, newTokens: newTokens)
    }

    public func responseLogits(prompt: [Int], response: [Int]) -> Tensor {
        let tokens = prompt + response.dropLast()
        let P = prompt.count, R = response.count
        let hidden = self.hidden(IndexTensor(shape: [1, tokens.count], values: tokens.map { Int32($0) }))
        return logits(hidden: hidden.slice(axis: 1, (P - 1)..<(P - 1 + R))).reshaped([R, modelConfiguration.vocabularySize])
    }
}

/// A causal LM's decoding: the prompts left-padded into one batch (padding masked out, position
/// ids counting each row's own tokens), then one token per row per step through the key/value cache.
final class CausalDecodingSession: DecodingSession {
    let model: any CausalLanguageModel
    let cache: KeyValueCache
    var mask: [[Int32]]
    var nextPosition: [Int32]
    private(set) var logits: Tensor

    init(model: any CausalLanguageModel, prompts: [[Int]], newTokens: Int) {
        self.model = model
        let B = prompts.count, L = prompts.map(\.count).max() ?? 1
        let configuration = model.modelConfiguration
        // Padding positions are masked out; any valid id will do: the model's EOS when it has one.
        let padding = Int32(configuration.eosTokenId.flatMap { $0 >= 0 && $0 < configuration.vocabularySize ? $0 : nil } ?? 0)
        mask = prompts.map { Array(repeating: 0, count: L - $0.count) + Array(repeating: 1, count: $0.count) }
        let ids = IndexTensor(shape: [B, L], values: prompts.flatMap { Array(repeating: padding, count: L - $0.count) + $0.map { Int32($0) } })
        nextPosition = prompts.map { Int32($0.count) }
        cache = model.makeCache(batch: B, capacity: L + newTokens)
        let hidden = model.hidden(ids, positions: positionIds(mask: mask), mask: Self.tensor(mask), cache: cache)
        logits = model.logits(hidden: hidden.slice(axis: 1, (L - 1)..<L)).reshaped([B, configuration.vocabularySize])
    }

    static func tensor(_ mask: [[Int32]]) -> Tensor {
        Tensor(shape: [mask.count, mask.first?.count ?? 0], values: mask.flatMap { $0.map(Float.init) })
    }

    func append(_ tokens: [Int32]) {
        let B = mask.count
        for b in 0..<B { mask[b].append(1) }
        let positions = IndexTensor(shape: [B, 1], values: nextPosition)
        for b in 0..<B { nextPosition[b] += 1 }
        logits = model(IndexTensor(shape: [B, 1], values: tokens), positions: positions, mask: Self.tensor(mask), cache: cache)
            .reshaped([B, model.modelConfiguration.vocabularySize])
    }
}
