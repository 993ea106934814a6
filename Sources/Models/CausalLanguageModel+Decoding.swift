// A causal language model as an `AutoregressiveModel`: the prompts left-padded into one batch
// and continued through the key/value cache; response logits from one pass over prompt + response.
// Shapes: B batch, L longest prompt, R response tokens, V vocabulary.

import Foundation
import Tensors

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
