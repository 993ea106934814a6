// A causal language model as an `AutoregressiveModel`: the prompts left-padded into one batch
// and continued through the key/value cache; response logits from one pass over prompt + response;
// batched teacher forcing over right-padded prompt + response rows (the grid below).
// Shapes: B batch, L longest prompt (or prompt + response), R response tokens, N = Σ_b R_b,
// C channels, V vocabulary.

import Foundation
import Tensors

extension CausalLanguageModel {
    public func fittedPrompt(_ prompt: [Int], newTokens: Int) -> [Int] {
        Array(prompt.suffix(max(modelConfiguration.positions - newTokens, 0)))
    }

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

    public func teacherForcingProblem(promptLength: Int, responseLength: Int) -> String? {
        let limit = modelConfiguration.positions, tokens = promptLength + responseLength
        guard tokens - 1 > limit else { return nil }
        return "\(tokens) tokens, more than n_positions + 1 = \(limit + 1)"
    }

    public func responseStates(_ batch: ResponseBatch) -> Tensor {
        let grid = CausalResponseGrid(batch, padding: paddingId)
        return batch.responseRows(hidden(grid.ids), starts: batch.prompts.map { $0.count - 1 })
    }

    public func outputLogits(_ states: Tensor) -> Tensor { logits(hidden: states) }

    /// HF's completion-only loss: the LM head at every position of the right-padded
    /// prompt + response rows, the prompt's and the padding's targets −100.
    public func responseLoss(_ batch: ResponseBatch, reduction: LossReduction) -> Tensor {
        let grid = CausalResponseGrid(batch, padding: paddingId)
        return crossEntropy(self(grid.ids), targets: grid.targets, reduction: reduction)
    }

    /// The id that pads a batch's rows (masked out or after every real token, so any valid id
    /// will do): the model's EOS when it has one, else 0.
    var paddingId: Int32 {
        let configuration = modelConfiguration
        return Int32(configuration.eosTokenId.flatMap { $0 >= 0 && $0 < configuration.vocabularySize ? $0 : nil } ?? 0)
    }
}

/// Prompt + response rows for one teacher-forced pass of a causal LM, right-padded to the longest
/// prompt + response, L tokens. Only the first L − 1 columns are fed to the model: position t
/// predicts token t + 1, so the last column predicts nothing, and a row of exactly
/// n_positions + 1 tokens still fits. Row b's response token j is predicted at column P_b − 1 + j.
struct CausalResponseGrid {
    /// (B, max(L − 1, 1)) input ids: each row without its last token, padded.
    let ids: IndexTensor
    /// (B, max(L − 1, 1)) next-token targets: the response tokens where they are predicted, −100
    /// at the prompt's and the padding's positions.
    let targets: IndexTensor

    init(_ batch: ResponseBatch, padding: Int32) {
        let B = batch.count
        let L = zip(batch.prompts, batch.responses).map { $0.count + $1.count }.max() ?? 2
        let width = max(L - 1, 1)
        var ids = [Int32](repeating: padding, count: B * width)
        var targets = [Int32](repeating: -100, count: B * width)
        for b in 0..<B {
            let row = batch.prompts[b] + batch.responses[b]
            for (t, token) in row.dropLast().enumerated() { ids[b * width + t] = token }
            let start = batch.prompts[b].count - 1
            for (j, token) in batch.responses[b].enumerated() { targets[b * width + start + j] = token }
        }
        self.ids = IndexTensor(shape: [B, width], values: ids)
        self.targets = IndexTensor(shape: [B, width], values: targets)
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
