// The generation engine: concurrent requests share the decoding thread and each still gets what
// `generate` gives it alone; a full queue refuses at once; shutdown finishes in-flight requests.

import Models
import Serving
import Tensors
import Testing

/// `slow`: wide enough that each decoding step takes a fraction of a millisecond, so that requests
/// submitted together are still running when the next arrives, even on a loaded machine.
func engineModel(slow: Bool = false) -> GPT2LMHeadModel {
    let configuration = GPT2Configuration(vocabularySize: 40, positions: slow ? 1024 : 32, embeddingDimension: slow ? 256 : 16, layers: 2, heads: 2,
                                          residualDropout: 0, embeddingDropout: 0, attentionDropout: 0, initializerRange: 0.4,
                                          bosTokenId: 0, eosTokenId: 0)
    return GPT2LMHeadModel(configuration, seed: 5)
}

@Suite("Generation engine")
struct GenerationEngineTests {
    @Test("12 concurrent requests through a batch of 4: each equals generate alone with its seed")
    func concurrentRequests() async throws {
        let model = engineModel(slow: true)
        let engine = GenerationEngine(model: model, decode: nil, maximumBatch: 4, maximumQueue: 16)
        defer { engine.shutdown() }
        let requests = (0..<12).map { i in
            DecodingRequest(prompt: Array(1...(1 + i % 5)), configuration: GenerationConfiguration(
                maxNewTokens: 4 + i % 7, sampling: SamplingConfiguration(temperature: i % 3 == 0 ? 0 : 1), endOfSequenceTokenId: 0), seed: UInt64(i))
        }
        // Submit all first (so they overlap), then read the streams concurrently.
        let streams = try requests.map { try engine.submit($0) }
        let results = try await withThrowingTaskGroup(of: (Int, GeneratedSequence).self) { group in
            for (index, stream) in streams.enumerated() {
                group.addTask {
                    for try await event in stream { if case .finished(_, let sequence) = event { return (index, sequence) } }
                    throw GenerationError("no result")
                }
            }
            var results: [Int: GeneratedSequence] = [:]
            for try await (index, sequence) in group { results[index] = sequence }
            return results
        }
        for (index, request) in requests.enumerated() {
            var generator = RandomGenerator(seed: request.seed)
            let alone = try generate(model, prompts: [request.prompt], configuration: request.configuration, generator: &generator)[0]
            #expect(results[index]?.tokens == alone.tokens, "request \(index)")
        }
        let statistics = engine.current
        #expect(statistics.completed == 12 && statistics.tokens == results.values.map(\.tokens.count).reduce(0, +))
        #expect(statistics.steps < statistics.tokens, "requests should have shared decoding steps")
    }

    @Test("a full queue refuses at once; an invalid request is refused before queueing; shutdown finishes in-flight work")
    func refusalsAndShutdown() async throws {
        let engine = GenerationEngine(model: engineModel(slow: true), decode: nil, maximumBatch: 1, maximumQueue: 1)
        let long = DecodingRequest(prompt: [1, 2], configuration: GenerationConfiguration(maxNewTokens: 400, stopAtEndOfSequence: false))
        engine.pause()  // nothing finishes while the queue is checked
        let first = try engine.submit(long), second = try engine.submit(long)
        #expect(throws: EngineRefusal.queueFull(limit: 1)) { try engine.submit(long) }
        #expect(throws: GenerationError.self) { try engine.submit(DecodingRequest(prompt: [], configuration: long.configuration)) }
        #expect(engine.current.refused == 1)
        let stopping = Task.detached { engine.shutdown() }  // also lifts the pause
        var counts: [Int] = []
        for stream in [first, second] {
            var tokens = 0
            for try await event in stream { if case .token = event { tokens += 1 } }
            counts.append(tokens)
        }
        #expect(counts == [400, 400])
        await stopping.value
        #expect(throws: EngineRefusal.shuttingDown) { try engine.submit(long) }
    }
}

@Suite("Generation engine cancellation")
struct GenerationEngineCancellationTests {
    @Test("a queued request whose stream is dropped leaves the queue at once; the running one goes on")
    func droppedWhileQueued() async throws {
        let engine = GenerationEngine(model: engineModel(slow: true), decode: nil, maximumBatch: 1, maximumQueue: 1)
        defer { engine.shutdown() }
        let long = DecodingRequest(prompt: [1, 2], configuration: GenerationConfiguration(maxNewTokens: 300, stopAtEndOfSequence: false))
        engine.pause()
        let running = try engine.submit(long)
        do { _ = try engine.submit(long) }  // dropped unread: the stream's termination cancels it
        #expect(engine.current.cancelled == 1)
        engine.resume()
        var tokens = 0
        for try await event in running { if case .token = event { tokens += 1 } }
        #expect(tokens == 300)
        let statistics = engine.current
        #expect(statistics.completed == 1 && statistics.cancelled == 1 && statistics.tokens == 300, "\(statistics)")
    }
}
