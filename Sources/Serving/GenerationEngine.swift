// The one generation engine behind every front end: a decoding thread runs a DecodingBatch,
// requests wait in a bounded queue and join the batch at the next decoding step, and each request
// receives its tokens as an async stream. A full queue refuses at once (HTTP 503, gRPC
// RESOURCE_EXHAUSTED); shutting down lets in-flight requests finish and refuses new ones.

import Foundation
import Models

/// Why the engine refused a request.
public enum EngineRefusal: Error, Equatable, CustomStringConvertible {
    /// The queue holds its maximum number of waiting requests.
    case queueFull(limit: Int)
    /// The engine is shutting down.
    case shuttingDown

    /// A sentence for the client.
    public var description: String {
        switch self {
        case .queueFull(let limit): return "the server is busy: \(limit) requests are already waiting; retry shortly"
        case .shuttingDown: return "the server is shutting down"
        }
    }
}

/// Counters for /metrics.
public struct EngineStatistics: Sendable, Equatable {
    /// Requests waiting, and requests being decoded.
    public var queued: Int, active: Int
    /// Requests finished, refused because the queue was full, and cancelled by their client.
    public var completed: Int, refused: Int, cancelled: Int = 0
    /// Running requests whose client has gone, dropped before the next decoding step.
    public var cancelling: Int = 0
    /// New tokens generated since start, and decoding steps run.
    public var tokens: Int, steps: Int
}

/// Runs a ``DecodingBatch`` on a thread of its own and hands each request its events.
public final class GenerationEngine: @unchecked Sendable {
    /// The batch size and queue bound.
    public let maximumBatch: Int, maximumQueue: Int
    private let batch: DecodingBatch
    private let condition = NSCondition()
    private var waiting: [(id: Int, request: DecodingRequest, continuation: AsyncThrowingStream<DecodingEvent, any Error>.Continuation)] = []
    private var streams: [Int: AsyncThrowingStream<DecodingEvent, any Error>.Continuation] = [:]
    private var nextID = 0
    private var admitting = 0
    private var cancelled = Set<Int>()
    private var stopping = false
    private var paused = false
    private var stopped = false
    /// The counters; `queued` and `active` are filled in by ``current``.
    private var statistics = EngineStatistics(queued: 0, active: 0, completed: 0, refused: 0, tokens: 0, steps: 0)

    /// Starts the decoding thread.
    /// - Parameters:
    ///   - model: the model (put in evaluation mode; not to be trained meanwhile).
    ///   - decode: token ids → text, for stop strings.
    ///   - maximumBatch: requests decoded together.
    ///   - maximumQueue: requests allowed to wait for a place in the batch.
    public init(model: any AutoregressiveModel, decode: (([Int]) -> String)?, maximumBatch: Int = 16, maximumQueue: Int = 64) {
        precondition(maximumBatch >= 1 && maximumQueue >= 0, "maximumBatch ≥ 1 and maximumQueue ≥ 0")
        self.maximumBatch = maximumBatch
        self.maximumQueue = maximumQueue
        batch = DecodingBatch(model: model, maximumBatch: maximumBatch, decode: decode)
        // The thread holds the engine until shutdown() ends it.
        let thread = Thread { self.run() }
        thread.name = "generation-engine"
        thread.start()
    }

    /// The model served.
    public var model: any AutoregressiveModel { batch.model }

    /// Why a prompt of `promptLength` tokens with `newTokens` new ones does not fit the model
    /// (a causal LM's context; an encoder-decoder's encoder and decoder), or nil when it does.
    public func contextProblem(promptLength: Int, newTokens: Int) -> String? {
        batch.contextProblem(promptLength: promptLength, newTokens: newTokens)
    }

    /// Checks a request without queueing it.
    /// - Throws: ``GenerationError`` saying what is wrong.
    public func validate(_ request: DecodingRequest) throws { try batch.validate(request) }

    /// Queues a request; its stream yields a `.token` per new token and ends with `.finished`.
    /// - Throws: ``EngineRefusal`` when the queue is full or the engine is shutting down, and
    ///   ``GenerationError`` for an invalid request — all before anything is queued.
    public func submit(_ request: DecodingRequest) throws -> AsyncThrowingStream<DecodingEvent, any Error> {
        try batch.validate(request)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw EngineRefusal.shuttingDown }
        // Room for a request: a place in the batch or in the queue behind it.
        guard streams.count + admitting + waiting.count < maximumBatch + maximumQueue else {
            statistics.refused += 1
            throw EngineRefusal.queueFull(limit: maximumQueue)
        }
        let (stream, continuation) = AsyncThrowingStream<DecodingEvent, any Error>.makeStream()
        nextID += 1
        let id = nextID
        // A consumer that stops listening (a client that disconnected) frees its place.
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(id) }
        }
        waiting.append((id, request, continuation))
        condition.signal()
        return stream
    }

    /// Runs a request to its end and returns the finished sequence.
    public func generate(_ request: DecodingRequest) async throws -> GeneratedSequence {
        for try await event in try submit(request) {
            if case .finished(_, let sequence) = event { return sequence }
        }
        throw GenerationError("the engine ended the request without a result")
    }

    /// Stops a request: removed from the queue at once, or from the batch before the next step.
    func cancel(_ id: Int) {
        condition.lock()
        defer { condition.unlock() }
        if let index = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: index).continuation.finish()
            statistics.cancelled += 1
        } else if streams[id] != nil || admitting > 0 {
            cancelled.insert(id)
            condition.signal()
        }
    }

    /// The counters now.
    public var current: EngineStatistics {
        condition.lock()
        defer { condition.unlock() }
        var now = statistics
        (now.queued, now.active, now.cancelling) = (waiting.count, streams.count, cancelled.count)
        return now
    }

    /// Holds decoding after the current step (requests still queue up to the limit), for
    /// maintenance and for tests that need the engine busy for as long as they look.
    public func pause() {
        condition.lock()
        paused = true
        condition.unlock()
    }

    /// Lets decoding go on after ``pause()``.
    public func resume() {
        condition.lock()
        paused = false
        condition.broadcast()
        condition.unlock()
    }

    /// Refuses new requests, lets queued and in-flight ones finish, then stops the thread.
    /// Returns once every request has finished.
    public func shutdown() {
        condition.lock()
        stopping = true
        paused = false
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while (waiting.isEmpty && streams.isEmpty || paused) && !stopping { condition.wait() }
            if stopping && waiting.isEmpty && streams.isEmpty {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var admitted: [(Int, DecodingRequest, AsyncThrowingStream<DecodingEvent, any Error>.Continuation)] = []
            while batch.activeCount + admitted.count < maximumBatch, !waiting.isEmpty { admitted.append(waiting.removeFirst()) }
            admitting = admitted.count
            condition.unlock()

            for (id, request, continuation) in admitted {
                do {
                    try batch.admit(id: id, request)
                    condition.lock()
                    streams[id] = continuation
                    admitting -= 1
                    condition.unlock()
                } catch {
                    condition.lock()
                    admitting -= 1
                    condition.unlock()
                    continuation.finish(throwing: error)
                }
            }
            condition.lock()
            let dropped = cancelled
            cancelled.removeAll()
            for id in dropped where streams.removeValue(forKey: id) != nil { statistics.cancelled += 1 }
            condition.unlock()
            for id in dropped { batch.cancel(id: id) }
            guard batch.activeCount > 0 else { continue }
            let events = batch.step()
            condition.lock()
            statistics.steps += 1
            for event in events {
                switch event {
                case .token(let id, _, _):
                    statistics.tokens += 1
                    streams[id]?.yield(event)
                case .finished(let id, _):
                    streams[id]?.yield(event)
                    streams.removeValue(forKey: id)?.finish()
                    statistics.completed += 1
                }
            }
            condition.unlock()
        }
    }
}
