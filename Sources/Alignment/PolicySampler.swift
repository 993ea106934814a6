// Sampling responses the way PPO samples them (its generation settings, truncation and stop
// strings), and measuring them against a reference: the PPO trainer's rollouts, and the
// evaluations that must see a policy exactly as PPO saw it (the demo's comparison, the
// over-optimization study).

import Models
import Tensors
import Tokenizers

/// Responses sampled from a policy.
public struct SampledResponses: Sendable {
    /// Prompt tokens as fed (the end of a long prompt is kept).
    public var promptTokens: [[Int32]]
    /// The sampled tokens (EOS included when generation ended with it).
    public var responseTokens: [[Int32]]
    /// The response text a reward function sees (after truncation and stop strings, without EOS).
    public var texts: [String]
    /// Per response: what lm-human-preferences' truncation did to it.
    public var truncations: [ResponseTruncation]
}

/// PPO's sampler: prompt budget, generation settings, lm-human-preferences' truncation.
public struct PolicySampler {
    /// The PPO settings whose generation fields (temperature, top_k, top_p, max/min_new_tokens,
    /// stop, truncate_token, truncate_after, chunk_size) are used.
    public let configuration: PPOConfiguration
    /// The policy's tokenizer.
    public let tokenizer: any Tokenizer
    /// The truncate token's id, when `truncate_token` is set.
    public let truncateTokenId: Int32?
    /// The end-of-sequence id (the tokenizer's, else the model's), also the padding id.
    public let endOfSequence: Int?
    /// Ids at or above this are never sampled: the tokenizer's ids when the model's embedding
    /// matrix is padded beyond them.
    public let vocabularyLimit: Int
    let positions: Int, bos: Int?

    /// A sampler for models of `modelConfiguration`.
    /// - Throws: ``RunError`` when `max_new_tokens` leaves no room for a prompt or the truncate token is not one token.
    public init(configuration: PPOConfiguration, tokenizer: any Tokenizer, modelConfiguration: any LanguageModelConfiguration) throws {
        guard configuration.maxNewTokens < modelConfiguration.positions else {
            throw RunError.invalidSetting(field: "max_new_tokens", source: "config", problem: "is \(configuration.maxNewTokens); it must be below n_positions \(modelConfiguration.positions)")
        }
        if let token = configuration.truncateToken {
            let ids = try tokenizer.encodeChecked(token)
            guard ids.count == 1 else { throw RunError.invalidSetting(field: "truncate_token", source: "config", problem: "'\(token)' is \(ids.count) tokens; it must be exactly one") }
            truncateTokenId = Int32(ids[0])
        } else {
            truncateTokenId = nil
        }
        self.configuration = configuration
        self.tokenizer = tokenizer
        endOfSequence = tokenizer.endOfTextTokenId ?? modelConfiguration.eosTokenId
        vocabularyLimit = GenerationConfiguration.vocabularyLimit(model: modelConfiguration, tokenizer: tokenizer, endOfSequence: endOfSequence)
        positions = modelConfiguration.positions
        bos = modelConfiguration.bosTokenId
    }

    /// A prompt's tokens as `model` takes them with room for `max_new_tokens`
    /// (``AutoregressiveModel/fittedPrompt(_:newTokens:)``: a causal model keeps a long prompt's
    /// end, an encoder-decoder its beginning); without a model, as a causal model of this
    /// sampler's `n_positions`.
    public func promptTokens(_ prompt: String, for model: (any AutoregressiveModel)? = nil) throws -> [Int32] {
        var ids: [Int]
        do { ids = try tokenizer.encodeChecked(prompt) } catch { throw RunError.invalidData(path: "prompts", problem: "cannot tokenize a prompt: \(error)") }
        ids = model?.fittedPrompt(ids, newTokens: configuration.maxNewTokens) ?? Array(ids.suffix(positions - configuration.maxNewTokens))
        if ids.isEmpty { ids = [endOfSequence ?? bos ?? 0] }
        return ids.map { Int32($0) }
    }

    /// Samples one response per prompt from `model`, in chunks of `chunk_size`.
    public func sample(_ model: any AutoregressiveModel, prompts: [String], generator: inout RandomGenerator) throws -> SampledResponses {
        let generation = GenerationConfiguration(
            maxNewTokens: configuration.maxNewTokens, minNewTokens: configuration.minNewTokens,
            sampling: SamplingConfiguration(temperature: configuration.temperature, topK: configuration.topK == 0 ? nil : configuration.topK, topP: configuration.topP),
            stopStrings: configuration.stop, endOfSequenceTokenId: endOfSequence,
            stopAtEndOfSequence: configuration.stopAtEndOfSequence, vocabularyLimit: vocabularyLimit)
        var result = SampledResponses(promptTokens: [], responseTokens: [], texts: [], truncations: [])
        for start in stride(from: 0, to: prompts.count, by: configuration.chunkSize) {
            let chunk = try prompts[start..<min(start + configuration.chunkSize, prompts.count)].map { try promptTokens($0, for: model) }
            let generated = try generate(model, prompts: chunk.map { $0.map(Int.init) }, configuration: generation,
                                         generator: &generator, decode: { [tokenizer] in tokenizer.decode($0) })
            for (prompt, sequence) in zip(chunk, generated) {
                let tokens = sequence.tokens.map { Int32($0) }
                var visible = sequence.finishReason == .endOfSequence ? Array(tokens.dropLast()) : tokens
                var truncation = ResponseTruncation.off
                if let truncateTokenId {
                    (visible, truncation) = PPOTrainer.truncate(visible, after: configuration.truncateAfter, at: truncateTokenId)
                }
                result.promptTokens.append(prompt)
                result.responseTokens.append(tokens)
                result.texts.append(truncating(tokenizer.decode(visible.map(Int.init)), atFirstOf: configuration.stop))
                result.truncations.append(truncation)
            }
        }
        return result
    }

    /// The distribution the responses are drawn from, for recomputing their log-probabilities:
    /// the temperature, the sampled ids, and EOS banned before `min_new_tokens`.
    var distribution: ResponseDistribution {
        ResponseDistribution(temperature: configuration.temperature, vocabularyLimit: vocabularyLimit,
                             bannedToken: endOfSequence, bannedBefore: configuration.minNewTokens)
    }

    /// log π(response tokens) under `model` at the sampling temperature, one array per response;
    /// computed in evaluation mode (no dropout), as generation samples.
    public func logProbabilities(_ model: any AutoregressiveModel, of samples: SampledResponses) -> [[Float]] {
        model.evaluating { rows(model, of: samples) }
    }

    func rows(_ model: any AutoregressiveModel, of samples: SampledResponses) -> [[Float]] {
        var rows: [[Float]] = []
        for start in stride(from: 0, to: samples.responseTokens.count, by: configuration.chunkSize) {
            let range = start..<min(start + configuration.chunkSize, samples.responseTokens.count)
            let grid = ResponseBatch(prompts: Array(samples.promptTokens[range]), responses: Array(samples.responseTokens[range]))
            rows += grid.rows(distribution.logProbabilities(model, grid: grid))
        }
        return rows
    }
}
