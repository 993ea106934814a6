// Reward functions: programmatic rewards by hand, a classifier's label probability, a learned
// reward model, and the HTTP scorer against a real local socket (answers, errors, timeouts).

import Foundation
import Alignment
import Models
import Tensors
import Testing
import Tokenizers
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

@Suite("Reward functions")
struct RewardFunctionTests {
    @Test("uppercase fraction, regex and target length, by hand")
    func programmatic() throws {
        #expect(try UppercaseFractionReward().rewards(prompts: ["", "", ""], responses: ["ABc", "123 !", "HELLO world"]) == [2.0 / 3, 0, 0.5])
        #expect(try RegexReward(pattern: "^[A-Z ]+$").rewards(prompts: ["", ""], responses: ["YES SIR", "No"]) == [1, 0])
        #expect(try TargetLengthReward(target: 4).rewards(prompts: ["", "", ""], responses: ["abcd", "ab", "abcdefgh"]) == [0, -0.5, -1])
        #expect(throws: RunError.self) { try RegexReward(pattern: "(") }
        #expect(throws: RunError.self) { try UppercaseFractionReward().rewards(prompts: ["a"], responses: []) }
    }

    @Test("a classifier's label probabilities are in [0, 1] and sum to 1 over the labels")
    func classifierLabel() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let lm = tinyModel()
        try SequenceClassifier(trunk: lm.transformer, source: lm.source, labels: 3, standardDeviation: 1, seed: 1)
            .save(to: directory, tokenizer: letters)
        let texts = ["abc", "j", "hello"].map { $0.filter { " abcdefghij".contains($0) } }
        let perLabel = try (0..<3).map { try ClassifierLabelReward(checkpoint: directory, label: $0).rewards(prompts: ["", "", ""], responses: texts) }
        for i in texts.indices {
            #expect(abs(perLabel.map { $0[i] }.reduce(0, +) - 1) < 1e-5)
            #expect(perLabel.allSatisfy { (0...1).contains($0[i]) })
        }
        #expect(perLabel[0] != perLabel[1])
        #expect(throws: RunError.self) { try ClassifierLabelReward(checkpoint: directory, label: 3) }
    }

    @Test("a learned reward model scores prompt + response, normalization applied")
    func learned() throws {
        let model = tinyRewardModel()
        model.head.gain = 2
        model.head.bias = 1
        let rewards = try LearnedReward(model: model).rewards(prompts: ["ab", "c"], responses: ["c", "de"])
        model.head.gain = 1
        model.head.bias = 0
        let raw = try model.rewards(for: ["abc", "cde"])
        #expect(zip(rewards, raw).allSatisfy { abs($0 - (2 * $1 + 1)) < 1e-6 })
    }

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
}
