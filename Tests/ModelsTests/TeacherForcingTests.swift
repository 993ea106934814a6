// The batched teacher-forced interface (`responseStates`, `outputLogits`, `responseLoss`): for a
// causal LM and an encoder-decoder alike, a batch of pairs of unequal lengths gives each pair what
// it gets alone; the value head reads the encoder-decoder's decoder states; step-level batching
// decodes encoder-decoder requests that join and leave at different steps; the loader's
// extension point for encoder-decoder families.

import Foundation
import Models
import NN
import Tensors
import TestFamilies
import Testing

@Suite("Teacher forcing and encoder-decoder decoding")
struct TeacherForcingTests {
    /// Prompts and responses of unequal lengths, so every kind of padding is exercised.
    let prompts: [[Int32]] = [[3, 4, 5, 6], [7], [2, 9]]
    let responses: [[Int32]] = [[8, 1], [5, 6, 7, 8, 2], [4]]

    func checkBatchedEqualsAlone(_ model: any AutoregressiveModel) throws {
        let batch = ResponseBatch(prompts: prompts, responses: responses)
        for temperature: Float in [1, 0.7] {
            let batched = try responseLogProbabilities(model, batch: batch, temperature: temperature)
            #expect(batched.map(\.count) == responses.map(\.count))
            for (b, row) in batched.enumerated() {
                let alone = try responseLogProbabilities(model, prompt: prompts[b].map(Int.init), response: responses[b].map(Int.init), temperature: temperature)
                #expect(zip(row, alone).allSatisfy { abs($0 - $1) < 1e-5 }, "pair \(b): batched \(row), alone \(alone)")
            }
        }
        // The SFT loss is the mean −log p of the same tokens.
        let flat = try responseLogProbabilities(model, batch: batch).flatMap { $0 }
        let loss = withNoGrad { model.responseLoss(batch, reduction: .mean) }.item
        #expect(abs(loss + flat.reduce(0, +) / Float(flat.count)) < 1e-5)
        let sum = withNoGrad { model.responseLoss(batch, reduction: .sum) }.item
        #expect(abs(sum + flat.reduce(0, +)) < 1e-4)
    }

    @Test("batched teacher-forced log-probs equal per-pair responseLogProbabilities, causal and encoder-decoder; the SFT loss is their mean")
    func batchedEqualsAlone() throws {
        try checkBatchedEqualsAlone(tinySeq2Seq(vocabulary: 12))
        try checkBatchedEqualsAlone(batchingModel())
    }

    @Test("the encoder's padding mask matters: a right-padded prompt scored in a batch is scored as its own prompt")
    func encoderMaskMatters() throws {
        let model = tinySeq2Seq()
        // The same response after a short prompt, alone and beside a long one; and after the short
        // prompt with the pad id appended as a real token (what ignoring the mask would score).
        let short: [Int32] = [3], response: [Int32] = [5, 6]
        let batched = try responseLogProbabilities(model, batch: ResponseBatch(prompts: [short, [4, 5, 6, 7]], responses: [response, response]))[0]
        let alone = try responseLogProbabilities(model, prompt: [3], response: [5, 6])
        let padded = try responseLogProbabilities(model, prompt: [3, 0, 0, 0], response: [5, 6])
        #expect(zip(batched, alone).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(zip(batched, padded).contains { abs($0 - $1) > 1e-4 }, "the check must be able to see the padding")
    }

    @Test("the value head reads the decoder's final states at the steps that predict the response tokens")
    func valueHeadOnDecoderStates() throws {
        let model = tinySeq2Seq()
        let wrapped = ValueHeadModel(model: model)
        for i in 0..<16 { wrapped.valueHead.summary.weight.data[i] = Float(i % 5) * 0.2 - 0.4 }
        wrapped.valueHead.summary.bias!.data[0] = 0.1
        let batch = ResponseBatch(prompts: prompts, responses: responses)
        let values = withNoGrad { wrapped.responseOutputs(batch).values }.scalars
        #expect(values.count == batch.responseCount)
        var offset = 0
        for (prompt, response) in zip(prompts, responses) {
            // The decoder by hand: encode the prompt alone (ending with </s>), feed start + response[:-1].
            let source = prompt.last == 11 ? prompt : prompt + [11]  // the tiny family's eos
            let S = source.count, T = response.count
            let expected = withNoGrad { () -> [Float] in
                let mask = Tensor(shape: [1, S], values: [Float](repeating: 1, count: S))
                let encoded = model.encode(IndexTensor(shape: [1, S], values: source), mask: mask)
                let inputs = [Int32(model.decoderStartTokenId)] + response.dropLast()
                let decoded = model.decoderStates(IndexTensor(shape: [1, T], values: inputs), encoded: encoded, encoderMask: mask, cache: nil)
                return wrapped.valueHead(decoded).scalars
            }
            #expect(zip(values[offset..<(offset + T)], expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(values[offset..<(offset + T)]) vs \(expected)")
            offset += T
        }
        // The values depend on the source through the decoder: another prompt, other values.
        let other = withNoGrad { wrapped.responseOutputs(ResponseBatch(prompts: [[9, 9, 9]], responses: [responses[0]])).values }.scalars
        #expect(zip(other, values.prefix(2)).contains { abs($0 - $1) > 1e-4 })
        #expect(wrapped.namedParameters().suffix(2).map(\.name) == ["v_head.summary.weight", "v_head.summary.bias"])
    }

    @Test("encoder-decoder requests joining and leaving a DecodingBatch at different steps get what generate gives each alone; those joining together share each pass")
    func decodingBatchSeq2Seq() throws {
        let model = tinySeq2Seq(vocabulary: 12)
        let sampled = GenerationConfiguration(maxNewTokens: 7, sampling: SamplingConfiguration(temperature: 1))
        let greedy = GenerationConfiguration(maxNewTokens: 9, sampling: SamplingConfiguration(temperature: 0), stopAtEndOfSequence: false)
        let requests = [
            DecodingRequest(prompt: [3, 4, 5], configuration: sampled, seed: 1),
            DecodingRequest(prompt: [7], configuration: greedy, seed: 2),
            DecodingRequest(prompt: [9, 8, 7, 6, 5, 4, 3, 2], configuration: sampled, seed: 3),
            DecodingRequest(prompt: [1, 2], configuration: greedy, seed: 4),
            DecodingRequest(prompt: [6, 6], configuration: sampled, seed: 5),
        ]
        let batch = DecodingBatch(model: model, maximumBatch: 3)
        let done = try runBatch(batch, requests, joinAt: [0, 0, 2, 3, 5])
        for (id, request) in requests.enumerated() {
            var generator = RandomGenerator(seed: request.seed)
            let expected = try generate(model, prompts: [request.prompt], configuration: request.configuration, generator: &generator)[0]
            expectSameGeneration(done[id], expected, "request \(id)")
        }
        #expect(Set(done.values.map(\.tokens)).count > 1, "the requests must differ for the check to mean anything")
        #expect(batch.activeCount == 0)
        // Requests that join together decode as one cohort: one pass per step for both, even after
        // the shorter one has left.
        let together = DecodingBatch(model: model, maximumBatch: 2)
        var long = greedy
        long.maxNewTokens = 6
        var short = greedy
        short.maxNewTokens = 3
        let pair = try runBatch(together, [DecodingRequest(prompt: [3, 4], configuration: long), DecodingRequest(prompt: [5, 6, 7], configuration: short)],
                                joinAt: [0, 0])
        #expect(together.forwardPasses == 6, "\(together.forwardPasses) passes: the start and five steps, shared")
        for (id, request) in [(0, [3, 4]), (1, [5, 6, 7])] {
            var generator = RandomGenerator(seed: 0)
            let expected = try generate(model, prompts: [request], configuration: id == 0 ? long : short, generator: &generator)[0]
            expectSameGeneration(pair[id], expected, "request \(id) of the cohort")
        }
        // A prompt longer than the encoder takes is refused with the model's reason.
        #expect(throws: GenerationError.self) { try batch.admit(id: 9, DecodingRequest(prompt: Array(repeating: 3, count: 33), configuration: greedy)) }
    }

    @Test("a registered encoder-decoder family loads as the policy; a causal-only request of it names the kind")
    func loader() throws {
        _ = registerTinySeq2SeqFamily
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-s2s-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = tinySeq2Seq()
        try model.save(to: directory, tokenizer: nil)
        let loaded = try ModelLoader.autoregressiveModel(from: directory)
        #expect(loaded is TinySeq2SeqPolicy)
        let batch = ResponseBatch(prompts: prompts, responses: responses)
        #expect(try responseLogProbabilities(loaded, batch: batch) == responseLogProbabilities(model, batch: batch))
        #expect(try ModelLoader.encoderDecoderModel(from: directory) is TinySeq2SeqPolicy)
        let error = try #require(throws: CheckpointError.self) { try ModelLoader.languageModel(from: directory) }
        if case let .missingKind(_, modelTypes, kind, _) = error {
            #expect(modelTypes == ["tiny-s2s"] && kind == "causal language model", "\(error)")
        } else { Issue.record("\(error)") }
        #expect(try ModelLoader.autoregressiveModel(from: tinyGPT2) is GPT2LMHeadModel)
        #expect(throws: CheckpointError.self) { try ModelLoader.encoderDecoderModel(from: tinyGPT2) }
        // A value-head checkpoint of the family round-trips.
        let wrapped = ValueHeadModel(model: model)
        wrapped.valueHead.summary.bias!.data[0] = 0.5
        try wrapped.save(to: directory)
        let reloaded = try ValueHeadModel.load(from: directory)
        #expect(reloaded.model is TinySeq2SeqPolicy && reloaded.valueHead.summary.bias!.scalars == [0.5])
    }
}

@Suite("Encoder-decoder sources end with </s>")
struct EncoderDecoderSourceTests {
    @Test("a prompt without </s> gets one; a prompt that has it is left alone; both reach the encoder alike")
    func sourceEndsWithEndOfSequence() throws {
        let model = tinySeq2Seq()
        #expect(model.source([4, 5]) == [4, 5, 11] && model.source([4, 5, 11]) == [4, 5, 11])  // eos 11
        let (ids, mask) = model.encoderInputs([[4, 5], [6, 7, 8, 11]])
        #expect(ids.values == [4, 5, 11, 0, 6, 7, 8, 11] && mask.scalars == [1, 1, 1, 0, 1, 1, 1, 1])
        let bare = try responseLogProbabilities(model, prompt: [4, 5], response: [3, 2])
        let ended = try responseLogProbabilities(model, prompt: [4, 5, 11], response: [3, 2])
        let other = try responseLogProbabilities(model, prompt: [4, 5, 7], response: [3, 2])
        #expect(bare == ended && bare != other)
        // Without an eos id nothing is appended.
        #expect(tinySeq2Seq(eos: nil).source([4, 5]) == [4, 5])
    }
}

/// Same tokens and finish reason; log-probabilities equal up to float rounding, which depends on how
/// many rows a pass holds (BLAS blocks a 3-row product differently from a 1-row one on some CPUs).
private func expectSameGeneration(_ got: GeneratedSequence?, _ expected: GeneratedSequence, _ comment: Comment,
                                  sourceLocation: SourceLocation = #_sourceLocation) {
    guard let got else { Issue.record("no result: \(comment)", sourceLocation: sourceLocation); return }
    #expect(got.prompt == expected.prompt, comment, sourceLocation: sourceLocation)
    #expect(got.tokens == expected.tokens, comment, sourceLocation: sourceLocation)
    #expect(got.finishReason == expected.finishReason, comment, sourceLocation: sourceLocation)
    #expect(got.logProbabilities.count == expected.logProbabilities.count
            && zip(got.logProbabilities, expected.logProbabilities).allSatisfy { abs($0 - $1) < 1e-4 }, comment, sourceLocation: sourceLocation)
}
