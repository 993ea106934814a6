// Generation: padding invariance, log-probabilities equal to a full recomputation, stopping rules,
// sampling filters, seeds and errors — on the tiny parity model.

import Foundation
import Models
import NN
import Tensors
import Testing

@Suite("Generation")
struct GenerationTests {
    let model: GPT2LMHeadModel
    let prompts: [[Int]] = [[5, 17, 42], [8, 1, 33, 70, 2, 9, 11], [60]]

    init() throws { model = try GPT2LMHeadModel.load(from: tinyGPT2) }

    func greedy(_ prompts: [[Int]], maxNewTokens: Int = 8, eos: Int? = nil, minNewTokens: Int = 0) throws -> [GeneratedSequence] {
        var generator = RandomGenerator(seed: 0)
        let configuration = GenerationConfiguration(maxNewTokens: maxNewTokens, minNewTokens: minNewTokens,
                                                    sampling: SamplingConfiguration(temperature: 0), endOfSequenceTokenId: eos)
        return try generate(model, prompts: prompts, configuration: configuration, generator: &generator)
    }

    @Test("greedy output of a prompt alone equals its output inside a left-padded batch")
    func paddingChangesNothing() throws {
        let batch = try greedy(prompts, eos: -1)
        for (index, prompt) in prompts.enumerated() {
            let alone = try greedy([prompt], eos: -1)[0]
            #expect(alone.tokens == batch[index].tokens, "prompt \(index)")
            for (a, b) in zip(alone.logProbabilities, batch[index].logProbabilities) { #expect(abs(a - b) < 1e-5) }
        }
    }

    @Test("each returned log-probability equals a full forward recomputation at the same temperature",
          arguments: [(Float(1), nil as Int?, Float(1)), (0.7, 20, 1), (1.3, nil, 0.9), (0, nil, 1)])
    func logProbabilitiesMatchRecomputation(setting: (Float, Int?, Float)) throws {
        var generator = RandomGenerator(seed: 42)
        let sampling = SamplingConfiguration(temperature: setting.0, topK: setting.1, topP: setting.2)
        let sequences = try generate(model, prompts: prompts, configuration: GenerationConfiguration(
            maxNewTokens: 12, sampling: sampling, endOfSequenceTokenId: -1), generator: &generator)
        let temperature = setting.0 > 0 ? setting.0 : 1
        for sequence in sequences {
            let full = sequence.prompt + sequence.tokens
            let logits = withNoGrad { model(IndexTensor(shape: [1, full.count], values: full)) }
            let logp = tokenLogProbabilities(logits * (1 / temperature), tokens: IndexTensor(shape: [1, full.count], values: Array(full.dropFirst()) + [0]))
            for (k, value) in sequence.logProbabilities.enumerated() {
                let recomputed = logp.data[sequence.prompt.count - 1 + k]
                #expect(abs(recomputed - value) < 1e-4, "token \(k): generation \(value), recomputed \(recomputed)")
            }
            // The scoring shared with encoder-decoders gives the same numbers.
            let shared = try responseLogProbabilities(model, prompt: sequence.prompt, response: sequence.tokens, temperature: temperature)
            for (a, b) in zip(shared, sequence.logProbabilities) { #expect(abs(a - b) < 1e-4) }
        }
    }

    @Test("the same seed gives the same samples; another seed differs")
    func seeds() throws {
        func sample(_ seed: UInt64) throws -> [[Int]] {
            var generator = RandomGenerator(seed: seed)
            return try generate(model, prompts: prompts, configuration: GenerationConfiguration(maxNewTokens: 10, endOfSequenceTokenId: -1),
                                generator: &generator).map(\.tokens)
        }
        #expect(try sample(1) == sample(1))
        #expect(try sample(1) != sample(2))
    }

    @Test("EOS ends a sequence; min_new_tokens forbids it before then")
    func endOfSequence() throws {
        let reference = try greedy([prompts[0]], maxNewTokens: 8, eos: -1)[0].tokens
        let eos = reference.last!
        let stopAt = reference.firstIndex(of: eos)!
        let stopped = try greedy([prompts[0]], maxNewTokens: 8, eos: eos)[0]
        #expect(stopped.tokens == Array(reference[...stopAt]))
        #expect(stopped.finishReason == .endOfSequence)
        let delayed = try greedy([prompts[0]], maxNewTokens: 8, eos: reference[0], minNewTokens: 3)[0]
        #expect(delayed.tokens.count >= 3)
        #expect(!delayed.tokens.prefix(3).contains(reference[0]))
        #expect(try greedy([prompts[0]], maxNewTokens: 5, eos: -1)[0].finishReason == .length)
    }

    @Test("a stop string ends a sequence, and truncating cuts the text before it")
    func stopStrings() throws {
        let decode = { (ids: [Int]) in ids.map { String(UnicodeScalar(UInt8(33 + $0 % 90))) }.joined() }
        let reference = try greedy([prompts[1]], maxNewTokens: 10, eos: -1)[0].tokens
        let stop = decode(Array(reference[3...4]))
        var generator = RandomGenerator(seed: 0)
        let result = try generate(model, prompts: [prompts[1]], configuration: GenerationConfiguration(
            maxNewTokens: 10, sampling: SamplingConfiguration(temperature: 0), stopStrings: [stop], endOfSequenceTokenId: -1),
            generator: &generator, decode: decode)[0]
        #expect(result.finishReason == .stopString)
        #expect(decode(result.tokens).contains(stop) && result.tokens.count <= 5)
        #expect(truncating("abc\n\nHuman: hi", atFirstOf: ["\n\nHuman:"]) == "abc")
    }

    @Test("top-k 1 and a tiny top-p are greedy; sampling follows the probabilities")
    func samplingFilters() throws {
        let greedyTokens = try greedy(prompts, eos: -1).map(\.tokens)
        for sampling in [SamplingConfiguration(temperature: 1, topK: 1), SamplingConfiguration(temperature: 1, topP: 1e-6)] {
            var generator = RandomGenerator(seed: 3)
            let tokens = try generate(model, prompts: prompts, configuration: GenerationConfiguration(
                maxNewTokens: 8, sampling: sampling, endOfSequenceTokenId: -1), generator: &generator).map(\.tokens)
            #expect(tokens == greedyTokens)
        }
        // logits (0, ln 3): probabilities 1/4 and 3/4.
        let logits: [Float] = [0, Float(Foundation.log(3.0))]
        var generator = RandomGenerator(seed: 9)
        var ones = 0
        logits.withUnsafeBufferPointer { row in
            for _ in 0..<20_000 { ones += sampleToken(row, configuration: SamplingConfiguration(), generator: &generator).token }
        }
        #expect(abs(Double(ones) / 20_000 - 0.75) < 0.015)
        // A banned token: probabilities (0.1, 0.6, 0.3) with the 0.6 one banned sample from (0.25, 0.75)
        // and report log-probs of that renormalized distribution: ln 0.25 and ln 0.75 (at T = 2 the
        // logits halve: (√0.1, √0.3) renormalized).
        let banned: [Float] = [0.1, 0.6, 0.3].map { Float(Foundation.log($0)) }
        banned.withUnsafeBufferPointer { row in
            var counts = [0, 0, 0]
            for _ in 0..<4_000 {
                let (token, logProbability) = sampleToken(row, configuration: SamplingConfiguration(), banned: 1, generator: &generator)
                counts[token] += 1
                #expect(abs(logProbability - Float(Foundation.log(token == 0 ? 0.25 : 0.75))) < 1e-6)
            }
            #expect(counts[1] == 0 && abs(Double(counts[2]) / 4_000 - 0.75) < 0.03)
            let hot = sampleToken(row, configuration: SamplingConfiguration(temperature: 2), banned: 1, generator: &generator)
            let (a, b) = (0.1.squareRoot(), 0.3.squareRoot())
            #expect(abs(Double(hot.logProbability) - Foundation.log((hot.token == 0 ? a : b) / (a + b))) < 1e-6)
        }
        // top-p 0.5 over (0.1, 0.6, 0.3) keeps only the 0.6 token.
        let three: [Float] = [0.1, 0.6, 0.3].map { Float(Foundation.log($0)) }
        three.withUnsafeBufferPointer { row in
            for _ in 0..<100 { #expect(sampleToken(row, configuration: SamplingConfiguration(topP: 0.5), generator: &generator).token == 1) }
        }
    }

    @Test("bad requests are errors that say what is wrong")
    func errors() {
        var generator = RandomGenerator(seed: 0)
        #expect(throws: GenerationError.self) {
            try generate(model, prompts: [Array(repeating: 1, count: 30)], configuration: GenerationConfiguration(maxNewTokens: 5), generator: &generator)
        }
        #expect(throws: GenerationError.self) { try generate(model, prompts: [[]], configuration: GenerationConfiguration(), generator: &generator) }
        #expect(throws: GenerationError.self) { try generate(model, prompts: [[500]], configuration: GenerationConfiguration(maxNewTokens: 2), generator: &generator) }
        #expect(throws: GenerationError.self) {
            try generate(model, prompts: [[1]], configuration: GenerationConfiguration(maxNewTokens: 2, sampling: SamplingConfiguration(temperature: -1)), generator: &generator)
        }
        do {
            _ = try generate(model, prompts: [Array(repeating: 1, count: 30)], configuration: GenerationConfiguration(maxNewTokens: 5), generator: &generator)
        } catch {
            #expect("\(error)".contains("n_positions 32"))
        }
    }
}
