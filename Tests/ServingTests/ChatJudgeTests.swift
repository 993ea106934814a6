// The LLM judge against a real HTTP server: a Hummingbird application on 127.0.0.1 that speaks
// OpenAI's chat-completions protocol, prefers the response containing "good", checks what the
// judge sends, and can be scripted to fail (503, 429, 401, slow answers).

import Clients
import Evaluation
import Rating
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Testing

/// What the fake server saw and what it should answer next. Locked: handlers run concurrently.
final class JudgeServerScript: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int]
    private var seen: [(authorization: String?, body: [String: Any])] = []
    /// Seconds each answer is delayed.
    let delay: Double

    /// A script answering with `statuses` first (one per request), then 200.
    init(statuses: [Int] = [], delay: Double = 0) {
        self.statuses = statuses
        self.delay = delay
    }

    var requests: Int { lock.withLock { seen.count } }
    var bodies: [[String: Any]] { lock.withLock { seen.map(\.body) } }
    var authorizations: [String?] { lock.withLock { seen.map(\.authorization) } }

    /// Records the request and picks the status.
    func record(authorization: String?, body: [String: Any]) -> Int {
        lock.withLock {
            seen.append((authorization, body))
            return statuses.isEmpty ? 200 : statuses.removeFirst()
        }
    }

    /// The text between `start` and `end` in `text`.
    static func section(_ text: String, from start: String, to end: String) -> String {
        guard let lower = text.range(of: start)?.upperBound, let upper = text.range(of: end, range: lower..<text.endIndex)?.lowerBound else { return "" }
        return String(text[lower..<upper])
    }

    /// The chat model: "A" or "B" for the response containing "good" (else "tie"); nonsense when
    /// the prompt asks for it.
    static func answer(toUserMessage message: String) -> String {
        if message.contains("unparseable") { return "I would rather not say." }
        let a = section(message, from: "[Response A]\n", to: "\n\n[Response B]")
        let b = section(message, from: "[Response B]\n", to: "\n\nWhich response is better?")
        switch (a.contains("good"), b.contains("good")) {
        case (true, false): return "A"
        case (false, true): return "B"
        default: return "tie"
        }
    }
}

/// Runs a chat-completions server on 127.0.0.1 (a free port) for the duration of `body`.
func withJudgeServer<T: Sendable>(_ script: JudgeServerScript, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
    let router = Router()
    router.post("v1/chat/completions") { request, _ -> Response in
        var buffer = try await request.body.collect(upTo: 1 << 20)
        let data = Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let status = script.record(authorization: request.headers[.authorization], body: object)
        if script.delay > 0 { try await Task.sleep(for: .milliseconds(Int(script.delay * 1000))) }
        let json: String
        if status == 200 {
            let messages = object["messages"] as? [[String: Any]] ?? []
            let content = JudgeServerScript.answer(toUserMessage: messages.last?["content"] as? String ?? "")
            let reply: [String: Any] = ["id": "chatcmpl-1", "object": "chat.completion", "model": object["model"] ?? "",
                                        "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]]]
            json = String(decoding: try JSONSerialization.data(withJSONObject: reply), as: UTF8.self)
        } else {
            json = #"{"error":{"message":"scripted failure \#(status)","type":"invalid_request_error"}}"#
        }
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "chat-judge-test")
    logger.logLevel = .warning
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
    let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        do {
            let result = try await body(port)
            await services.triggerGracefulShutdown()
            return result
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
    }
}

/// Runs blocking work on its own thread, away from the cooperative pool the server needs.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

@Suite("ChatJudge")
struct ChatJudgeTests {
    /// A judge of the scripted server. The default timeout is long: on a loaded machine a scripted
    /// answer can take seconds, and a timed-out attempt would be retried into the script's next status.
    func judge(port: Int, apiKey: String? = "secret", timeout: Double = 120, attempts: Int = 4) throws -> ChatCompletionsJudge {
        try ChatCompletionsJudge(endpoint: .init(parsing: "http://127.0.0.1:\(port)/v1#judge-model"), apiKey: apiKey, timeout: timeout,
                                 attempts: attempts, backoff: 0.01)
    }

    @Test("verdicts in both orders from a real server; the request carries the model, messages and the bearer key")
    func verdicts() async throws {
        let script = JudgeServerScript()
        let report = try await withJudgeServer(script) { port in
            let judge = try self.judge(port: port)
            return try await onThread {
                try WinRate.judge(prompts: ["p1", "p2", "unparseable p3"], responsesA: ["a good answer", "meh", "good"],
                                  responsesB: ["bad", "good stuff", "fine"], judge: judge, names: ("a", "b"), judgeName: "llm")
            }
        }
        #expect(report.pairs.map(\.outcome) == [.win, .loss, .tie])
        #expect(report.pairs[0].verdictAFirst == .first && report.pairs[0].verdictBFirst == .second)
        #expect(report.unparsedAnswers == 2 && report.inconsistentPairs == 0)
        #expect(script.requests == 6)
        #expect(script.authorizations.allSatisfy { $0 == "Bearer secret" })
        let body = try #require(script.bodies.first)
        #expect(body["model"] as? String == "judge-model")
        #expect((body["temperature"] as? NSNumber)?.doubleValue == 0 && (body["max_tokens"] as? Int ?? 0) > 0)
        let messages = try #require(body["messages"] as? [[String: String]])
        #expect(messages.map { $0["role"] } == ["system", "user"])
        #expect(messages[1]["content"] == ChatCompletionsJudge.userMessage(prompt: "p1", first: "a good answer", second: "bad"))
        #expect(script.bodies[1]["messages"].flatMap { ($0 as? [[String: String]])?.last?["content"] }
                == ChatCompletionsJudge.userMessage(prompt: "p1", first: "bad", second: "a good answer"))
    }

    @Test("without a key no Authorization header is sent")
    func noKey() async throws {
        let script = JudgeServerScript()
        let verdict = try await withJudgeServer(script) { port in
            let judge = try self.judge(port: port, apiKey: nil)
            return try await onThread { try judge.judge(prompt: "p", first: "x", second: "good") }
        }
        #expect(verdict == .second && script.authorizations == [nil])
    }

    @Test("503 twice then 200: the third request succeeds; 429 until the attempts run out is an error with the status")
    func retries() async throws {
        let script = JudgeServerScript(statuses: [503, 503])
        let (verdict, sent) = try await withJudgeServer(script) { port in
            let judge = try self.judge(port: port)
            return (try await onThread { try judge.judge(prompt: "p", first: "good", second: "bad") }, judge.requestsSent)
        }
        #expect(verdict == .first && script.requests == 3 && sent == 3)

        let busy = JudgeServerScript(statuses: [429, 429, 429])
        let error = try await withJudgeServer(busy) { port in
            let judge = try self.judge(port: port, attempts: 3)
            return try await onThread { () -> JudgeError? in
                do { _ = try judge.judge(prompt: "p", first: "a", second: "b"); return nil } catch let error as JudgeError { return error }
            }
        }
        let failure = try #require(error)
        #expect(busy.requests == 3 && failure.status == 429 && failure.attempts == 3)
        #expect(failure.message.contains("after 3 attempts") && failure.message.contains("HTTP 429") && failure.message.contains("scripted failure 429"))
    }

    @Test("401 is not retried; the error names the URL, the status and the body")
    func unauthorized() async throws {
        let script = JudgeServerScript(statuses: [401])
        let (error, port) = try await withJudgeServer(script) { port in
            let judge = try self.judge(port: port)
            let error = try await onThread { () -> JudgeError? in
                do { _ = try judge.judge(prompt: "p", first: "a", second: "b"); return nil } catch let error as JudgeError { return error }
            }
            return (error, port)
        }
        let failure = try #require(error)
        #expect(script.requests == 1 && failure.status == 401 && failure.attempts == 1)
        #expect(failure.message.contains("http://127.0.0.1:\(port)/v1/chat/completions") && failure.message.contains("HTTP 401"))
        #expect(failure.message.contains("scripted failure 401"))
    }

    @Test("an unreachable server: a clear error after every attempt, within a bounded time")
    func unreachable() async throws {
        // A port that was just served and is now closed.
        let port = try await withJudgeServer(JudgeServerScript()) { $0 }
        let judge = try judge(port: port, timeout: 5, attempts: 3)
        let started = Date()
        let error = try await onThread { () -> JudgeError? in
            do { _ = try judge.judge(prompt: "p", first: "a", second: "b"); return nil } catch let error as JudgeError { return error }
        }
        let failure = try #require(error)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(failure.message.hasPrefix("cannot reach the judge at http://127.0.0.1:\(port)/v1/chat/completions after 3 attempts: "), "\(failure.message)")
        #expect(failure.status == nil && judge.requestsSent == 3)
    }

    @Test("a server slower than the timeout: each attempt times out and the error says so")
    func timeout() async throws {
        let script = JudgeServerScript(delay: 2.5)
        let started = Date()
        let error = try await withJudgeServer(script) { port in
            let judge = try self.judge(port: port, timeout: 1, attempts: 2)
            return try await onThread { () -> JudgeError? in
                do { _ = try judge.judge(prompt: "p", first: "a", second: "b"); return nil } catch let error as JudgeError { return error }
            }
        }
        let failure = try #require(error)
        #expect(Date().timeIntervalSince(started) >= 2)
        #expect(failure.message.contains("after 2 attempts") && failure.message.contains("no answer within 1.0 s (timed out)"), "\(failure.message)")
    }
}
