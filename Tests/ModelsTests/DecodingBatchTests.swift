// Step-level batching: a request decoded in a batch with others, joining and leaving at different
// steps, through cache compaction, gets exactly what `generate` gives it alone with the same seed.

import Models
import Tensors
import Testing

/// A small random model with peaked logits (a wide initializer), so sampling is not near-uniform.
func batchingModel(positions: Int = 24) -> GPT2LMHeadModel {
    let configuration = GPT2Configuration(vocabularySize: 40, positions: positions, embeddingDimension: 16, layers: 2, heads: 2,
                                          residualDropout: 0, embeddingDropout: 0, attentionDropout: 0, initializerRange: 0.4,
                                          bosTokenId: 0, eosTokenId: 0)
    return GPT2LMHeadModel(configuration, seed: 11)
}

/// `generate` for one request alone.
func alone(_ model: GPT2LMHeadModel, _ request: DecodingRequest) throws -> GeneratedSequence {
    var generator = RandomGenerator(seed: request.seed)
    return try generate(model, prompts: [request.prompt], configuration: request.configuration, generator: &generator)[0]
}

/// Runs the requests to completion, each joining at its scheduled step or, when the batch is full
/// then, at the first step with room; returns the finished sequences by id.
func runBatch(_ batch: DecodingBatch, _ requests: [DecodingRequest], joinAt schedule: [Int]) throws -> [Int: GeneratedSequence] {
    var done: [Int: GeneratedSequence] = [:]
    var step = 0
    var tokens: [Int: [Int]] = [:]
    var admitted = Set<Int>()
    while done.count < requests.count {
        for (id, joinStep) in schedule.enumerated() where joinStep <= step && !admitted.contains(id) && batch.hasRoom {
            try batch.admit(id: id, requests[id])
            admitted.insert(id)
        }
        for event in batch.step() {
            switch event {
            case let .token(request, token, _): tokens[request, default: []].append(token)
            case let .finished(request, sequence):
                #expect(tokens[request] == sequence.tokens, "the streamed tokens of request \(request) differ from its result")
                done[request] = sequence
            }
        }
        step += 1
        if step > 500 { Issue.record("the batch did not finish"); break }
    }
    return done
}

@Suite("Decoding batch")
struct DecodingBatchTests {
    @Test("requests joining at different steps get what generate gives each alone (tokens, log-probs, finish reason)")
    func matchesGenerateAlone() throws {
        let model = batchingModel()
        let sampled = GenerationConfiguration(maxNewTokens: 9, sampling: SamplingConfiguration(temperature: 1), endOfSequenceTokenId: 0)
        let greedy = GenerationConfiguration(maxNewTokens: 12, sampling: SamplingConfiguration(temperature: 0), endOfSequenceTokenId: 0)
        let topK = GenerationConfiguration(maxNewTokens: 7, minNewTokens: 3, sampling: SamplingConfiguration(temperature: 0.8, topK: 5), endOfSequenceTokenId: 0)
        let requests = [
            DecodingRequest(prompt: [3, 4, 5], configuration: sampled, seed: 1),
            DecodingRequest(prompt: [7], configuration: greedy, seed: 2),
            DecodingRequest(prompt: [9, 8, 7, 6, 5, 4, 3, 2], configuration: topK, seed: 3),
            DecodingRequest(prompt: [1, 2], configuration: sampled, seed: 4),
        ]
        let batch = DecodingBatch(model: model, maximumBatch: 3)
        let results = try runBatch(batch, requests, joinAt: [0, 0, 2, 5])
        for (id, request) in requests.enumerated() {
            let expected = try alone(model, request)
            let got = try #require(results[id])
            #expect(got.tokens == expected.tokens, "request \(id)")
            #expect(got.finishReason == expected.finishReason, "request \(id)")
            #expect(zip(got.logProbabilities, expected.logProbabilities).allSatisfy { abs($0 - $1) < 1e-4 }, "request \(id)")
        }
        #expect(batch.activeCount == 0)
    }

    @Test("a long stream of short requests forces cache compaction; every result still matches generate alone")
    func compaction() throws {
        let model = batchingModel(positions: 12)  // cache capacity 24 columns
        let configuration = GenerationConfiguration(maxNewTokens: 6, sampling: SamplingConfiguration(temperature: 1), stopAtEndOfSequence: false)
        let requests = (0..<12).map { DecodingRequest(prompt: Array(repeating: ($0 % 5) + 1, count: 1 + $0 % 4), configuration: configuration, seed: UInt64($0)) }
        let batch = DecodingBatch(model: model, maximumBatch: 2)
        // Two requests overlap at a time; joining every 3 steps keeps the batch busy for ~40 steps (> 24 columns).
        let results = try runBatch(batch, requests, joinAt: (0..<12).map { 3 * $0 })
        #expect(batch.compactions >= 1)
        for (id, request) in requests.enumerated() {
            #expect(results[id]?.tokens == (try alone(model, request)).tokens, "request \(id)")
        }
    }

    @Test("cancelling a request frees its row; the others go on exactly as alone")
    func cancel() throws {
        let model = batchingModel()
        let configuration = GenerationConfiguration(maxNewTokens: 10, sampling: SamplingConfiguration(temperature: 1), stopAtEndOfSequence: false)
        let requests = [DecodingRequest(prompt: [2, 3], configuration: configuration, seed: 1), DecodingRequest(prompt: [4], configuration: configuration, seed: 2),
                        DecodingRequest(prompt: [5, 6, 7], configuration: configuration, seed: 3)]
        let batch = DecodingBatch(model: model, maximumBatch: 3)
        for (id, request) in requests.enumerated() { try batch.admit(id: id, request) }
        _ = batch.step()
        _ = batch.step()
        #expect(batch.cancel(id: 0) && !batch.cancel(id: 0) && batch.activeCount == 2 && batch.hasRoom)
        var finished: [Int: GeneratedSequence] = [:]
        while batch.activeCount > 0 {
            for case let .finished(id, sequence) in batch.step() { finished[id] = sequence }
        }
        #expect(finished[0] == nil)
        for id in [1, 2] { #expect(finished[id]?.tokens == (try alone(model, requests[id])).tokens, "request \(id)") }
    }

    @Test("a full batch and invalid requests are refused with a reason")
    func refusals() throws {
        let model = batchingModel()
        let configuration = GenerationConfiguration(maxNewTokens: 4)
        let batch = DecodingBatch(model: model, maximumBatch: 1)
        try batch.admit(id: 0, DecodingRequest(prompt: [1], configuration: configuration))
        #expect(throws: GenerationError.self) { try batch.admit(id: 1, DecodingRequest(prompt: [1], configuration: configuration)) }
        #expect(throws: GenerationError.self) { try batch.validate(DecodingRequest(prompt: [], configuration: configuration)) }
        #expect(throws: GenerationError.self) { try batch.validate(DecodingRequest(prompt: [99], configuration: configuration)) }
        #expect(throws: GenerationError.self) { try batch.validate(DecodingRequest(prompt: Array(repeating: 1, count: 22), configuration: configuration)) }
        #expect(throws: GenerationError.self) { try batch.validate(DecodingRequest(prompt: [1], configuration: GenerationConfiguration(maxNewTokens: 2, stopStrings: ["x"]))) }
    }
}
