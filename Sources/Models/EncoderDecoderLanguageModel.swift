// The sibling of `CausalLanguageModel` for encoder-decoder models (HF's
// `T5ForConditionalGeneration`, `BartForConditionalGeneration`): the prompt goes through the
// encoder once, and the decoder writes the response from its start token, attending to the
// encoder's states. Generation and response scoring are shared with causal models through
// ``AutoregressiveModel``; a family adds only its encoder, decoder and head.
// Shapes: B batch, S source (prompt) tokens, T target (response) tokens, C channels, V vocabulary.

import Foundation
import Tensors

/// An encoder-decoder language model: an encoder over the prompt, a decoder over the response.
public protocol EncoderDecoderLanguageModel: AutoregressiveModel {
    /// The token the decoder starts from (`decoder_start_token_id`; T5: the pad id).
    var decoderStartTokenId: Int { get }
    /// The longest prompt the encoder takes, if it has a limit (T5's relative positions have none).
    var maximumSourceLength: Int? { get }
    /// The longest response the decoder writes, if it has a limit.
    var maximumTargetLength: Int? { get }

    /// The encoder's final states (B, S, C).
    /// - Parameters:
    ///   - ids: (B, S) prompt ids, right-padded.
    ///   - mask: (B, S): 1 for real tokens, 0 for padding.
    func encode(_ ids: IndexTensor, mask: Tensor) -> Tensor

    /// The decoder's final states (B, T, C) for decoder inputs (B, T), attending to `encoded`.
    /// - Parameters:
    ///   - ids: (B, T) decoder input ids (the start token, then the response shifted right).
    ///   - encoded: (B, S, C) from ``encode(_:mask:)``. (Prompts end with `</s>`: generation,
    ///     scoring and the trainers pass them through ``source(_:)``.)
    ///   - encoderMask: (B, S) the prompt's padding mask.
    ///   - cache: the decoder's self-attention keys and values of earlier steps (with the
    ///     encoder's keys and values, computed once), extended by this call; nil for a full pass.
    func decoderStates(_ ids: IndexTensor, encoded: Tensor, encoderMask: Tensor, cache: EncoderDecoderCache?) -> Tensor

    /// Logits (B, T, V) for decoder states (B, T, C).
    func logits(decoded: Tensor) -> Tensor

    /// A decoder cache for `batch` rows and `capacity` steps.
    func makeDecoderCache(batch: Int, capacity: Int) -> EncoderDecoderCache

    /// The family's sequence-classifier trunk sharing this model's encoder and decoder (T5's
    /// ``T5ClassifierTrunk``), which a reward model starts from; nil (the default) when the family has none.
    var classifierTrunk: (any TransformerTrunk)? { get }
}

extension EncoderDecoderLanguageModel {
    public var classifierTrunk: (any TransformerTrunk)? { nil }
}

/// What an encoder-decoder's decoder keeps between steps: its own keys and values per layer, and
/// the cross-attention keys and values of the encoded prompt, computed at the first step.
public final class EncoderDecoderCache {
    /// The decoder's self-attention cache.
    public let selfAttention: KeyValueCache
    /// Per decoder layer, the cross-attention keys and values of the encoded prompt (in the
    /// conformer's layout; T5: (B, S, heads · head size)): the conformer fills them at the first
    /// step and reads them at every later one, so the prompt's projections are computed once.
    public var crossAttention: [(keys: Tensor, values: Tensor)] = []
    /// Decoder steps taken.
    public var steps: Int { selfAttention.length }

    /// A cache around a self-attention cache.
    public init(selfAttention: KeyValueCache) {
        self.selfAttention = selfAttention
    }
}

extension EncoderDecoderLanguageModel {
    public func fittedPrompt(_ prompt: [Int], newTokens: Int) -> [Int] {
        // As transformers truncates a source: the beginning is kept; one place is left for </s>.
        guard let limit = maximumSourceLength else { return prompt }
        return Array(prompt.prefix(max(limit - 1, 1)))
    }

    public func contextProblem(promptLength: Int, newTokens: Int) -> String? {
        // The source is the prompt and the </s> that ``source(_:)`` appends (counted whether or not
        // the prompt already ends with it: at most one token too strict).
        if let limit = maximumSourceLength, promptLength + 1 > limit {
            return "the prompt has \(promptLength) tokens; with </s> the encoder takes at most \(limit)"
        }
        if let limit = maximumTargetLength, newTokens > limit {
            return "max_new_tokens \(newTokens) exceeds the decoder's \(limit) positions"
        }
        return nil
    }

    public func startDecoding(prompts: [[Int]], newTokens: Int) -> any DecodingSession {
        EncoderDecoderSession(model: self, prompts: prompts, newTokens: newTokens)
    }

    public func responseLogits(prompt: [Int], response: [Int]) -> Tensor {
        let T = response.count
        let (ids, mask) = encoderInputs([prompt.map { Int32($0) }])
        let encoded = encode(ids, mask: mask)
        let inputs = [Int32(decoderStartTokenId)] + response.dropLast().map { Int32($0) }
        let decoded = decoderStates(IndexTensor(shape: [1, T], values: inputs), encoded: encoded, encoderMask: mask, cache: nil)
        return logits(decoded: decoded).reshaped([T, modelConfiguration.vocabularySize])
    }

    public func teacherForcingProblem(promptLength: Int, responseLength: Int) -> String? {
        if let limit = maximumSourceLength, promptLength + 1 > limit { return "a \(promptLength)-token prompt, more than the encoder's \(limit) with </s>" }
        if let limit = maximumTargetLength, responseLength > limit { return "a \(responseLength)-token response, more than the decoder's \(limit) positions" }
        return nil
    }

    /// The decoder's states (N, C): the prompts right-padded and encoded (padding masked), the
    /// decoder fed start + response[:-1] right-padded (its self-attention is causal, so the
    /// padding after a row's tokens changes nothing), step j of row b predicting token j.
    public func responseStates(_ batch: ResponseBatch) -> Tensor {
        let (ids, encoderMask) = encoderInputs(batch.prompts)
        let encoded = encode(ids, mask: encoderMask)
        let B = batch.count, T = batch.lengths.max() ?? 1
        let padding = Int32(modelConfiguration.padTokenId ?? decoderStartTokenId)
        var inputs = [Int32](repeating: padding, count: B * T)
        for (b, response) in batch.responses.enumerated() {
            inputs[b * T] = Int32(decoderStartTokenId)
            for (j, token) in response.dropLast().enumerated() { inputs[b * T + j + 1] = token }
        }
        let decoded = decoderStates(IndexTensor(shape: [B, T], values: inputs), encoded: encoded, encoderMask: encoderMask, cache: nil)
        return batch.responseRows(decoded, starts: Array(repeating: 0, count: B))
    }

    public func outputLogits(_ states: Tensor) -> Tensor { logits(decoded: states) }

    /// The mean (or sum) cross-entropy of the response tokens at the decoder states that predict them.
    public func responseLoss(_ batch: ResponseBatch, reduction: LossReduction) -> Tensor {
        crossEntropy(outputLogits(responseStates(batch)), targets: IndexTensor(shape: [batch.responseCount], values: batch.targets), reduction: reduction)
    }

    /// A prompt as the encoder reads it: ending with the model's `</s>` (`eos_token_id`), which is
    /// appended unless the prompt already ends with it — as T5's tokenizer post-processor does, so
    /// a prompt encoded without special tokens (or by a tokenizer without that template) and one
    /// encoded with them reach the encoder alike.
    public func source(_ prompt: [Int32]) -> [Int32] {
        guard let end = modelConfiguration.eosTokenId.map(Int32.init), prompt.last != end else { return prompt }
        return prompt + [end]
    }

    /// The prompts as ``source(_:)`` ends them, right-padded with the pad id (B, S), and their
    /// mask (B, S): 1 for real tokens.
    public func encoderInputs(_ prompts: [[Int32]]) -> (ids: IndexTensor, mask: Tensor) {
        let prompts = prompts.map(source)
        let B = prompts.count, S = prompts.map(\.count).max() ?? 1
        let padding = Int32(modelConfiguration.padTokenId ?? 0)
        let ids = IndexTensor(shape: [B, S], values: prompts.flatMap { $0 + Array(repeating: padding, count: S - $0.count) })
        let mask = Tensor(shape: [B, S], values: prompts.flatMap { Array(repeating: Float(1), count: $0.count) + Array(repeating: 0, count: S - $0.count) })
        return (ids, mask)
    }
}

/// An encoder-decoder's decoding: the prompts right-padded and encoded once, then the decoder
/// from its start token, one token per row per step through its cache.
final class EncoderDecoderSession: DecodingSession {
    let model: any EncoderDecoderLanguageModel
    let encoded: Tensor, encoderMask: Tensor
    let cache: EncoderDecoderCache
    private(set) var logits: Tensor

    init(model: any EncoderDecoderLanguageModel, prompts: [[Int]], newTokens: Int) {
        self.model = model
        let B = prompts.count
        let ids: IndexTensor
        (ids, encoderMask) = model.encoderInputs(prompts.map { $0.map { Int32($0) } })
        encoded = model.encode(ids, mask: encoderMask)
        cache = model.makeDecoderCache(batch: B, capacity: max(newTokens, 1))
        let start = IndexTensor(shape: [B, 1], values: Array(repeating: Int32(model.decoderStartTokenId), count: B))
        logits = model.logits(decoded: model.decoderStates(start, encoded: encoded, encoderMask: encoderMask, cache: cache))
            .reshaped([B, model.modelConfiguration.vocabularySize])
    }

    func append(_ tokens: [Int32]) {
        let B = tokens.count
        logits = model.logits(decoded: model.decoderStates(IndexTensor(shape: [B, 1], values: tokens), encoded: encoded, encoderMask: encoderMask, cache: cache))
            .reshaped([B, model.modelConfiguration.vocabularySize])
    }
}
