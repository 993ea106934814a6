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
