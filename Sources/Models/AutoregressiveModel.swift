// What generation and response scoring need from a model, whatever its shape: a causal language
// model continues the prompt itself; an encoder-decoder (T5) encodes the prompt once and its
// decoder continues from its start token. Both conform, so `generate` and
// `responseLogProbabilities` are written once; so are the batched teacher-forced passes every
// trainer takes (``responseStates(_:)`` and ``outputLogits(_:)`` for PPO, DPO and the
// evaluations, ``responseLoss(_:reduction:)`` for SFT), so that no trainer branches on the kind.
// Shapes: B batch, V vocabulary, R response tokens, N = Σ_b R_b, C channels.

import Foundation
import NN
import Tensors

/// A model that writes a response token by token after a prompt.
public protocol AutoregressiveModel: TrainableModel {
    /// The configuration, as code outside the family sees it.
    var modelConfiguration: any LanguageModelConfiguration { get }

    /// Why `promptLength` prompt tokens followed by `newTokens` new ones do not fit the model, or
    /// nil when they do (a causal LM holds both in its context; an encoder-decoder holds the prompt
    /// in its encoder and the response in its decoder).
    func contextProblem(promptLength: Int, newTokens: Int) -> String?

    /// `prompt` cut to what the model takes with room for `newTokens` (a causal LM keeps the end,
    /// sharing its context with the response; an encoder-decoder keeps the beginning, up to its
    /// source limit with `</s>`); unchanged when it fits.
    func fittedPrompt(_ prompt: [Int], newTokens: Int) -> [Int]

    /// Starts decoding `prompts` (B non-empty rows of in-vocabulary ids) with room for
    /// `newTokens` new tokens per row: the session's logits are those of each row's first new token.
    func startDecoding(prompts: [[Int]], newTokens: Int) -> any DecodingSession

    /// The logits (R, V) that predict each of `response`'s R tokens after `prompt`, by one
    /// teacher-forced pass (differentiable unless called under `withNoGrad`).
    func responseLogits(prompt: [Int], response: [Int]) -> Tensor

    /// Why a teacher-forced pass over a `promptLength`-token prompt and a `responseLength`-token
    /// response does not fit the model, or nil when it does. (A causal LM takes prompt + response
    /// − 1 tokens, the last being only a target: "18 tokens, more than n_positions + 1 = 17"; an
    /// encoder-decoder takes the prompt in its encoder and start + response − 1 in its decoder.)
    func teacherForcingProblem(promptLength: Int, responseLength: Int) -> String?

    /// The final states (N, C) that predict each response token of `batch`, flat in row order
    /// (row b's token j at ``ResponseBatch`` offset Σ_{b′<b} R_b′ + j), from one teacher-forced
    /// pass over all B pairs with padding that changes nothing (differentiable unless called
    /// under `withNoGrad`). A causal LM's are its trunk's hidden states at positions P_b − 1 + j of
    /// the right-padded prompt + response rows; an encoder-decoder's its decoder's states at step
    /// j of start + response, attending to the encoded prompt.
    func responseStates(_ batch: ResponseBatch) -> Tensor

    /// Logits (…, V) for final states (…, C) from ``responseStates(_:)``: the LM head.
    func outputLogits(_ states: Tensor) -> Tensor

    /// The cross-entropy of every response token of `batch` given its prompt and the response
    /// before it (teacher forcing: SFT's completion-only loss), reduced by `reduction`
    /// (`.mean` over the N tokens, or `.sum`), differentiable.
    func responseLoss(_ batch: ResponseBatch, reduction: LossReduction) -> Tensor
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

/// log softmax(logits / temperature) of every response token of `batch`, one array per pair,
/// from one batched teacher-forced pass (``AutoregressiveModel/responseStates(_:)``) in
/// evaluation mode without gradients: per pair, what ``responseLogProbabilities(_:prompt:response:temperature:)``
/// gives it alone.
/// - Throws: ``GenerationError`` for an out-of-vocabulary id or a pair that does not fit the model.
public func responseLogProbabilities(_ model: any AutoregressiveModel, batch: ResponseBatch, temperature: Float = 1) throws -> [[Float]] {
    let V = model.modelConfiguration.vocabularySize
    for (prompt, response) in zip(batch.prompts, batch.responses) {
        if let bad = (prompt + response).first(where: { $0 < 0 || Int($0) >= V }) { throw GenerationError("token id \(bad) is outside the vocabulary 0..<\(V)") }
        if let problem = model.teacherForcingProblem(promptLength: prompt.count, responseLength: response.count) { throw GenerationError(problem) }
    }
    return model.evaluating {
        withNoGrad {
            var logits = model.outputLogits(model.responseStates(batch))
            if temperature != 1 { logits = logits * (1 / temperature) }
            return batch.rows(tokenLogProbabilities(logits, tokens: IndexTensor(shape: [batch.responseCount], values: batch.targets)))
        }
    }
}
