// The proof that generation and response scoring are shared with encoder-decoder models: a tiny
// encoder-decoder written only here (an embedding encoder pooled per prompt, a one-block decoder
// with causal self-attention through its cache) conforms to `EncoderDecoderLanguageModel` and runs
// through the same `generate` and `responseLogProbabilities` as the causal models.

import Foundation
import Models
import NN
import Tensors
import Testing
import Tokenizers

/// Its configuration: 10 ids, width 8, 2 heads; the pad id 0 starts the decoder, as T5's does.
struct TinySeq2SeqConfiguration: LanguageModelConfiguration {
    var modelType: String { "tiny-seq2seq" }
    var vocabularySize: Int { 10 }
    var hiddenSize: Int { 8 }
    var positions: Int { 16 }
    var layers: Int { 1 }
    var bosTokenId: Int? { nil }
    var eosTokenId: Int? { 1 }
    var padTokenId: Int? { 0 }
}

/// Encoder: token embeddings, mean-pooled over each prompt's real tokens into a context vector.
/// Decoder: embeddings + learned positions + the context, one causal self-attention block, a head.
final class TinySeq2Seq: EncoderDecoderLanguageModel {
    var sourceEmbedding: Embedding
    var targetEmbedding: Embedding
    var position: Embedding
    var qkv: Linear
    var proj: Linear
    var head: Linear
    let source = RandomSource(seed: 1)
    let configuration = TinySeq2SeqConfiguration()

    init(seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        let (V, C) = (configuration.vocabularySize, configuration.hiddenSize)
        sourceEmbedding = Embedding(count: V, dimension: C, standardDeviation: 0.5, generator: &generator)
        targetEmbedding = Embedding(count: V, dimension: C, standardDeviation: 0.5, generator: &generator)
        position = Embedding(count: configuration.positions, dimension: C, standardDeviation: 0.5, generator: &generator)
        qkv = Linear(inputs: C, outputs: 3 * C, bias: false, standardDeviation: 0.5, generator: &generator)
        proj = Linear(inputs: C, outputs: C, bias: false, standardDeviation: 0.5, generator: &generator)
        head = Linear(inputs: C, outputs: V, bias: false, standardDeviation: 0.5, generator: &generator)
    }

    var modelConfiguration: any LanguageModelConfiguration { configuration }
    var decoderStartTokenId: Int { 0 }
    var maximumSourceLength: Int? { nil }
    var maximumTargetLength: Int? { configuration.positions }

    func encode(_ ids: IndexTensor, mask: Tensor) -> Tensor { sourceEmbedding(ids) }

    func decoderStates(_ ids: IndexTensor, encoded: Tensor, encoderMask: Tensor, cache: EncoderDecoderCache?) -> Tensor {
        let (B, T, S, C) = (ids.shape[0], ids.shape[1], encoded.shape[1], configuration.hiddenSize)
        // The context: each row's mean over its real prompt tokens (the prompts are right-padded).
        let rows = (0..<B).map { b -> Tensor in
            let length = Int((0..<S).reduce(Float(0)) { $0 + encoderMask.data[b * S + $1] })
            return encoded.slice(axis: 0, b..<(b + 1)).slice(axis: 1, 0..<length).mean(axis: 1)
        }
        let context = concat(rows, axis: 0)  // (B, C)
        let past = cache?.steps ?? 0
        let positions = IndexTensor(shape: [B, T], values: (0..<(B * T)).map { Int32(past + $0 % T) })
        var x = targetEmbedding(ids) + position(positions)
        x = T == 1 ? x + context.reshaped([B, 1, C]) : x + context.reshaped([C])  // T > 1 only for one row
        let packed = qkv(x)
        let attended = cache.map { $0.selfAttention.attention(packed, layer: 0) } ?? causalSelfAttention(packed, heads: 2, paddingMask: nil)
        return x + proj(attended)
    }

    func logits(decoded: Tensor) -> Tensor { head(decoded) }

    func makeDecoderCache(batch: Int, capacity: Int) -> EncoderDecoderCache {
        EncoderDecoderCache(selfAttention: KeyValueCache(layers: 1, batch: batch, heads: 2, headSize: 4, capacity: capacity))
    }

    func save(to directory: URL, tokenizer: (any Tokenizer)?) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
    }
}

@Suite("Encoder-decoder interface")
struct EncoderDecoderInterfaceTests {
    /// Greedy decoding without any cache: the whole decoder pass again for every new token.
    func greedyWithoutCache(_ model: TinySeq2Seq, prompt: [Int], steps: Int) -> [Int] {
        var response: [Int] = []
        for _ in 0..<steps {
            let logits = withNoGrad { model.responseLogits(prompt: prompt, response: response + [0]) }
            let V = model.configuration.vocabularySize
            let last = Array(logits.scalars.suffix(V))
            response.append(last.indices.max { last[$0] < last[$1] }!)
        }
        return response
    }

    @Test("greedy generate through the decoder cache equals decoding from scratch, alone and in a right-padded batch")
    func greedyMatchesUncached() throws {
        let model = TinySeq2Seq(seed: 4)
        let prompts = [[3, 4, 5, 6], [7, 2], [9]]
        var configuration = GenerationConfiguration(maxNewTokens: 6, sampling: SamplingConfiguration(temperature: 0))
        configuration.stopAtEndOfSequence = false
        var generator = RandomGenerator(seed: 1)
        let batched = try generate(model, prompts: prompts, configuration: configuration, generator: &generator)
        for (prompt, sequence) in zip(prompts, batched) {
            #expect(sequence.tokens == greedyWithoutCache(model, prompt: prompt, steps: 6))
            var alone = RandomGenerator(seed: 1)
            #expect(try generate(model, prompts: [prompt], configuration: configuration, generator: &alone)[0].tokens == sequence.tokens)
        }
    }

    @Test("the log-probabilities generate reports for sampled tokens are what responseLogProbabilities recomputes")
    func sampledLogProbabilities() throws {
        let model = TinySeq2Seq(seed: 5)
        var configuration = GenerationConfiguration(maxNewTokens: 5, sampling: SamplingConfiguration(temperature: 0.8))
        configuration.stopAtEndOfSequence = false
        var generator = RandomGenerator(seed: 2)
        for sequence in try generate(model, prompts: [[2, 3], [4, 5, 6, 7]], configuration: configuration, generator: &generator) {
            let recomputed = try responseLogProbabilities(model, prompt: sequence.prompt, response: sequence.tokens, temperature: 0.8)
            #expect(recomputed.count == sequence.logProbabilities.count)
            for (a, b) in zip(recomputed, sequence.logProbabilities) { #expect(abs(a - b) < 1e-5) }
        }
        #expect(throws: GenerationError.self) { _ = try responseLogProbabilities(model, prompt: [2], response: [12]) }
        var tooLong = configuration
        tooLong.maxNewTokens = 17
        #expect(throws: GenerationError.self) { _ = try generate(model, prompts: [[2]], configuration: tooLong, generator: &generator) }
    }
}
