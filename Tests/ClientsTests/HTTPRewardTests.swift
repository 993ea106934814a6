// The HTTP reward against a real local socket: answers, errors, timeouts, the answer-size cap,
// and `http:` specifications once the clients are registered.

import Alignment
import Clients
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A one-connection HTTP server on 127.0.0.1 (a real socket): it answers the first request with
/// `status` and `body`, or never answers when `body` is nil. Returns the port.
final class OneShotHTTPServer: @unchecked Sendable {
    let descriptor: Int32
    let port: UInt16
    private(set) var request = ""

    init(status: Int = 200, body: String?) throws {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, length) } }
        listen(server, 4)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(server, $0, &length) } }
        descriptor = server
        port = UInt16(bigEndian: address.sin_port)
        guard let body else { return }  // listen, never accept: the client waits until its timeout
        Thread.detachNewThread { [self] in
            let client = accept(server, nil, nil)
            guard client >= 0 else { return }
            var received = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(client, &buffer, buffer.count)
                if n <= 0 { break }
                received += buffer[0..<n]
                let text = String(decoding: received, as: UTF8.self)
                if let headerEnd = text.range(of: "\r\n\r\n") {
                    let header = text[..<headerEnd.lowerBound].lowercased()
                    let lengthLine = header.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    let expected = Int(lengthLine?.split(separator: ":")[1].trimmingCharacters(in: .whitespaces) ?? "0") ?? 0
                    if text[headerEnd.upperBound...].utf8.count >= expected { break }
                }
            }
            request = String(decoding: received, as: UTF8.self)
            let response = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            _ = response.withCString { write(client, $0, strlen($0)) }
            close(client)
        }
    }

    private let lock = NSLock()
    private var isClosed = false

    /// Closes the listening socket once (a second close could hit a descriptor number another
    /// test's pipe has reused meanwhile).
    func closeSocket() {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { return }
        isClosed = true
        close(descriptor)
    }

    deinit { closeSocket() }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/score")! }
}

@Suite("HTTP reward")
struct HTTPRewardTests {
    @Test("the HTTP scorer posts the batch as JSON and reads the rewards back")
    func httpAnswer() throws {
        let server = try OneShotHTTPServer(body: #"{"rewards": [0.5, -2]}"#)
        let rewards = try HTTPReward(url: server.url, timeout: 10).rewards(prompts: ["p1", "p2"], responses: ["r1", "r2"])
        #expect(rewards == [0.5, -2])
        #expect(server.request.hasPrefix("POST /score") && server.request.contains(#""responses":["r1","r2"]"#))
    }

    @Test("HTTP errors are clear: wrong count, bad status, no server, no answer before the timeout")
    func httpErrors() throws {
        func message(_ reward: HTTPReward) -> String {
            do { _ = try reward.rewards(prompts: ["a", "b"], responses: ["c", "d"]); return "" } catch { return "\(error)" }
        }
        let short = try OneShotHTTPServer(body: #"{"rewards": [1]}"#)
        #expect(message(try HTTPReward(url: short.url, timeout: 10)).contains("expected 2 finite numeric rewards"))
        let boolean = try OneShotHTTPServer(body: #"{"rewards": [true, 1]}"#)
        #expect(message(try HTTPReward(url: boolean.url, timeout: 10)).contains("expected a JSON object"))
        let failing = try OneShotHTTPServer(status: 500, body: "boom")
        #expect(message(try HTTPReward(url: failing.url, timeout: 10)).contains("HTTP 500"))
        let closed = try OneShotHTTPServer(body: nil)
        let port = closed.port
        closed.closeSocket()
        #expect(message(try HTTPReward(url: URL(string: "http://127.0.0.1:\(port)/")!, timeout: 5)).contains("did not answer"))
        let silent = try OneShotHTTPServer(body: nil)
        let started = Date()
        #expect(message(try HTTPReward(url: silent.url, timeout: 1)).contains("within 1.0 s"))
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(throws: RunError.self) { try HTTPReward(url: silent.url, timeout: 0) }
    }

    @Test("an answer longer than the cap is refused, naming the URL; the deadline is hard")
    func answerCap() throws {
        let server = try OneShotHTTPServer(body: String(repeating: "x", count: 4096))
        let request = HTTPExchange.Request(url: server.url, method: "POST", body: Data("{}".utf8), timeout: 10, maximumAnswerBytes: 1000)
        let error = try #require(throws: ClientError.self) { try HTTPExchange.sendAndWait(request) }
        #expect(error == .answerTooLarge(url: server.url.absoluteString, limit: 1000))
        #expect(error.description.contains(server.url.absoluteString) && error.description.contains("longer than 1000 bytes"))
        let silent = try OneShotHTTPServer(body: nil)
        let started = Date()
        let late = try #require(throws: ClientError.self) { try HTTPExchange.sendAndWait(.init(url: silent.url, timeout: 0.5)) }
        #expect(late.isTimeout && late.description.contains("no answer within 0.5 s"))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test("once registered, http: and https: reward specifications make an HTTPReward for the URL")
    func specification() throws {
        ClientRegistration.register()
        let reward = try #require(try RewardSpecification.make("http://127.0.0.1:9/score") as? HTTPReward)
        #expect(reward.url.absoluteString == "http://127.0.0.1:9/score")
        #expect(try RewardSpecification.make("https://scorer.example/v1/score") is HTTPReward)
        let error = try #require(throws: RunError.self) { try RewardSpecification.make("http:nohost") }
        #expect(error.message.contains("not a URL with a host"))
    }
}
