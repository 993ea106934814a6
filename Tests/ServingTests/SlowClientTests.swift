// Slow, stalled and vanishing clients against a live server on loopback: each is cut at its
// limit (headers, body, silence), and a client that closes its connection after sending a
// non-streaming request stops its generation.

import Foundation
import Serving
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to 127.0.0.1, for clients that misbehave on purpose.
final class RawConnection: @unchecked Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard descriptor >= 0, connected == 0 else { throw ChatTestError("cannot connect to port \(port): \(String(cString: strerror(errno)))") }
    }

    deinit { close(descriptor) }

    /// Sends `text`; false when the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Reads until the server closes the connection or `timeout` seconds pass, on a thread of its
    /// own (a blocking wait on the concurrency pool would starve the server's handlers).
    /// - Returns: what was read, and whether the connection was closed (end of file or reset).
    func readUntilClosed(timeout: TimeInterval) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.blockingRead(timeout: timeout)) }.start()
        }
    }

    private func blockingRead(timeout: TimeInterval) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    /// Closes the connection at once.
    func closeNow() { shutdown(descriptor, Int32(SHUT_RDWR)) }
}

struct ChatTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `ModelServer.run` for `service` on a free port with `limits` while `body` runs, then stops it.
func withLiveServer(_ service: ModelService, limits: ConnectionLimits, _ body: (Int) async throws -> Void) async throws {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let server = Task { try await ModelServer.run(service: service, port: 0, grpcPort: nil, limits: limits) { http, _ in continuation.yield(http) } }
    defer { server.cancel() }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw ChatTestError("the server did not start") }
    try await body(port)
    server.cancel()
    _ = await server.result
}

/// Polls `condition` every 20 ms for up to `timeout` seconds.
func eventually(timeout: TimeInterval = 120, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

@Suite("Slow and vanishing clients")
struct SlowClientTests {
    /// Short header and body limits and a very long idle one: any cut within minutes is the limit
    /// under test at work. The tests assert that a cut happens, not how fast: with the whole suite
    /// running, a test's own code can wait tens of seconds for a thread, while the server cuts on time.
    static let short = ConnectionLimits(headerTimeout: .milliseconds(600), bodyTimeout: .milliseconds(600), idleTimeout: .seconds(600),
                                        shutdownDeadline: .seconds(2))

    @Test("headers sent a byte at a time are cut at the header timeout, though the client is never idle")
    func slowHeaders() async throws {
        let service = try tinyService()
        try await withLiveServer(service, limits: Self.short) { port in
            let connection = try RawConnection(port: port)
            let started = Date()
            var cut = false
            for byte in "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + String(repeating: "a", count: 200) {
                guard connection.send(String(byte)) else { cut = true; break }
                if await connection.readUntilClosed(timeout: 0.1).closed { cut = true; break }
            }
            let seconds = Date().timeIntervalSince(started)
            #expect(cut && seconds < 300, "the connection was \(cut ? "cut after \(seconds) s" : "never cut")")
            // The server still answers others.
            let healthy = try RawConnection(port: port)
            healthy.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(await healthy.readUntilClosed(timeout: 5).text.contains("200 OK"))
        }
    }

    @Test("a body that stops halfway is cut at the body timeout; a silent connection at the idle timeout")
    func stalledBodyAndSilence() async throws {
        let service = try tinyService()
        var limits = Self.short
        try await withLiveServer(service, limits: limits) { port in
            let upload = try RawConnection(port: port)
            upload.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"prompt\":\"hel")
            let started = Date()
            let (_, closed) = await upload.readUntilClosed(timeout: 300)
            #expect(closed && Date().timeIntervalSince(started) < 300)
        }
        limits.idleTimeout = .milliseconds(500)
        limits.headerTimeout = .seconds(600)
        try await withLiveServer(try tinyService(), limits: limits) { port in
            let silent = try RawConnection(port: port)
            let started = Date()
            #expect(await silent.readUntilClosed(timeout: 300).closed && Date().timeIntervalSince(started) < 300)
        }
    }

    @Test("a client that closes after sending a non-streaming request stops its generations, queued or running", arguments: ["/v1/completions", "/v1/chat/completions"])
    func disconnectStopsGeneration(route: String) async throws {
        // Each decoding step takes ≥ 1 s per row (a stop string makes the engine decode text every
        // step): two rows of 30 tokens take ≥ 60 s. Swift Testing runs CPU-bound synchronous tests on
        // the same few threads as this one, so its own code may be held up for seconds; the window
        // must be far longer than that.
        let service = try tinyService(decodeDelay: .seconds(1))
        func body(_ n: Int, tokens: Int) -> String {
            route.contains("chat") ? #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":\#(tokens),"stop":["@@"],"n":\#(n)}"#
                                   : #"{"prompt":"hi","max_tokens":\#(tokens),"stop":["@@"],"n":\#(n)}"#
        }
        func request(_ n: Int, tokens: Int = 30) -> String {
            let text = body(n, tokens: tokens)
            return "POST \(route) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(text.utf8.count)\r\n\r\n\(text)"
        }
        try await withLiveServer(service, limits: .standard) { port in
            // Running: two rows decoding; the engine is held after a step (so that a loaded machine
            // cannot let them finish first), the client leaves, and the server must notice.
            let running = try RawConnection(port: port)
            running.send(request(2))
            #expect(await eventually { service.engine.current.active == 2 }, "\(service.engine.current)")
            service.engine.pause()
            running.closeNow()
            #expect(await eventually { service.engine.current.cancelling == 2 }, "\(service.engine.current)")
            service.engine.resume()
            #expect(await eventually { service.engine.current.cancelled == 2 && service.engine.current.active == 0 }, "\(service.engine.current)")
            #expect(service.engine.current.completed == 0 && service.engine.current.tokens < 60, "\(service.engine.current)")
            // Queued: held behind a paused engine; the client leaves; the queue empties.
            service.engine.pause()
            let queued = try RawConnection(port: port)
            queued.send(request(2))
            #expect(await eventually { service.engine.current.queued == 2 }, "\(service.engine.current)")
            queued.closeNow()
            #expect(await eventually { service.engine.current.cancelled == 4 && service.engine.current.queued == 0 }, "\(service.engine.current)")
            service.engine.resume()
            try await Task.sleep(for: .milliseconds(300))
            #expect(service.engine.current.completed == 0, "\(service.engine.current)")
            // A client that stays gets its answer, and is told the connection closes after it.
            let staying = try RawConnection(port: port)
            staying.send(request(1, tokens: 2))
            let answer = await staying.readUntilClosed(timeout: 30).text
            #expect(answer.hasPrefix("HTTP/1.1 200") && answer.lowercased().contains("connection: close"), "\(answer.prefix(300))")
            #expect(service.engine.current.completed == 1, "\(service.engine.current)")
            // A refusal says so too: the connection's input was used up by the watch.
            let refused = try RawConnection(port: port)
            refused.send("POST \(route) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            let refusal = await refused.readUntilClosed(timeout: 30).text
            #expect(refusal.hasPrefix("HTTP/1.1 400") && refusal.lowercased().contains("connection: close"), "\(refusal.prefix(300))")
        }
    }
}
