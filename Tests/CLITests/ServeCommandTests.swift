// `rlhf serve` as a process: the official Python `openai` client against it, and graceful
// shutdown on SIGTERM (the in-flight stream finishes with [DONE]; the process exits 0).

import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Serving
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Whether python3 can import the `openai` package (.ci/run installs it).
let pythonHasOpenAI: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import openai"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

@Suite("rlhf serve")
struct ServeCommandTests {
    @Test("the official Python openai client: completions, chat, streaming, models, errors", .enabled(if: pythonHasOpenAI))
    func openAIClient() async throws {
        let directory = try scratchFolder("serve-openai")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let server = try ToolServer(["serve", "--model", model.path, "--name", "tiny", "--no-grpc"])
        #expect(!server.banner.contains("grpc://"), "\(server.banner)")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/openai_client_check.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "http://127.0.0.1:\(server.port)/v1", "tiny"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)\(errors)")
        #expect(output.contains("agree"))
    }

    @Test("gRPC from the generated Swift client: Generate, GenerateStream, Score (NOT_FOUND without a reward model), a bad request")
    func grpcClient() async throws {
        let directory = try scratchFolder("serve-grpc")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let server = try ToolServer(["serve", "--model", model.path, "--name", "tiny", "--grpc-port", "0"])
        try await withGenerationClient(port: try grpcPort(server)) { client in
            let request = Rlhf_V1_GenerateRequest.with { $0.prompt = "hello"; $0.maxTokens = 6; $0.seed = 3; $0.temperature = 0 }
            let answer = try await client.generate(request)
            #expect(answer.model == "tiny" && answer.choices.count == 1 && answer.choices[0].tokenIds.count <= 6 && answer.usage.promptTokens > 0)
            let streamed = try await client.generateStream(request) { response in
                var text = ""
                for try await chunk in response.messages { text += chunk.text }
                return text
            }
            #expect(streamed == answer.choices[0].text)
            let unscored = await #expect(throws: RPCError.self) { _ = try await client.score(.with { $0.texts = ["a"] }) }
            #expect(unscored?.code == .notFound)
            var tooLong = request
            tooLong.maxTokens = 100_000
            let refused = await #expect(throws: RPCError.self) { _ = try await client.generate(tooLong) }
            #expect(refused?.code == .invalidArgument)
        }
    }

    @Test("a loopback load test: within capacity every answer is 200; overloaded, only 200s and deliberate 503s; a few hundred requests")
    func loadTest() async throws {
        let directory = try scratchFolder("serve-load")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let server = try ToolServer(["serve", "--model", model.path, "--no-grpc", "--max-batch", "4", "--max-queue", "4"])
        func run(_ arguments: [String]) async throws -> [String: Any] {
            let (status, out, err) = try await runTool(["loadtest", "--url", server.base, "--json", "--strict", "--max-tokens", "8"] + arguments)
            #expect(status == 0, "\(out)\(err)")
            return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        }
        let within = try await run(["--clients", "6", "--duration", "30", "--requests", "300", "--stream"])
        #expect(within["requests"] as? Int == 300 && (within["statuses"] as? [String: Int]) == ["200": 300])
        #expect((within["completion_tokens"] as? Int ?? 0) > 0 && (within["tokens_per_second"] as? Double ?? 0) > 0)
        #expect((within["latency_p50_ms"] as? Double ?? 0) > 0 && (within["latency_p99_ms"] as? Double ?? 0) >= (within["latency_p50_ms"] as? Double ?? 0))
        let over = try await run(["--clients", "24", "--duration", "30", "--requests", "300"])
        let statuses = try #require(over["statuses"] as? [String: Int])
        #expect(Set(statuses.keys).isSubset(of: ["200", "503"]) && (statuses["200"] ?? 0) > 0 && over["requests"] as? Int == 300, "\(statuses)")
    }

    @Test("SIGTERM during an HTTP stream and a gRPC stream: both finish, then the process exits 0", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")))
    func gracefulShutdown() async throws {
        let directory = try scratchFolder("serve-term")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A model wide enough (and a context long enough) that 400 tokens take a good part of a second.
        let corpus = directory.appendingPathComponent("corpus.txt")
        try String(repeating: "to be or not to be, that is the question. ", count: 300).write(to: corpus, atomically: true, encoding: .utf8)
        let (trained, _, trainErr) = try await runTool(["pretrain", "--corpus", corpus.path, "--name", "wide", "--runs_dir", directory.appendingPathComponent("runs").path,
                                                  "--tokenizer", "character", "--n_layer", "4", "--n_head", "4", "--n_embd", "256", "--block_size", "512",
                                                  "--batch_size", "1", "--max_steps", "1", "--eval_interval", "0", "--eval_batches", "1"])
        #expect(trained == 0, "\(trainErr)")
        // A deadline far beyond the streams' length, so that a loaded machine still lets them finish.
        let server = try ToolServer(["serve", "--model", directory.appendingPathComponent("runs/wide/final").path, "--max-tokens-limit", "500", "--grpc-port", "0",
                                     "--shutdown-timeout", "120"])
        let rpcPort = try grpcPort(server)
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "http://127.0.0.1:\(server.port)/v1/completions", "-H", "Content-Type: application/json",
                          "-d", #"{"prompt":"to be","max_tokens":400,"stream":true,"seed":1}"#]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        // The gRPC stream: reports its first chunk, then collects the rest.
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let rpc = Task {
            try await withGenerationClient(port: rpcPort) { client in
                try await client.generateStream(.with { $0.prompt = "to be"; $0.maxTokens = 400; $0.seed = 2 }) { response in
                    var chunks: [Rlhf_V1_GenerateChunk] = []
                    for try await chunk in response.messages {
                        if chunks.isEmpty { startedContinuation.yield() }
                        chunks.append(chunk)
                    }
                    return chunks
                }
            }
        }
        var received = ""
        let deadline = Date().addingTimeInterval(60)
        while !received.contains("data: {") && Date() < deadline {  // the HTTP stream has started
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            received += String(decoding: chunk, as: UTF8.self)
        }
        for await _ in started { break }  // the gRPC stream has started
        #expect(!received.contains("[DONE]"), "the stream ended before SIGTERM; the model is too fast for this test")
        kill(server.process.processIdentifier, SIGTERM)
        received += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        let chunks = try await rpc.value
        server.process.waitUntilExit()
        #expect(received.hasSuffix("data: [DONE]\n\n"), "\(received.suffix(300))")
        #expect(received.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.count > 10)
        #expect(chunks.last?.finishReason == "length" && chunks.last?.usage.completionTokens == 400, "\(chunks.count) chunks")
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
    }
}

extension ServeCommandTests {
    @Test("SIGTERM with a client stalled halfway through its upload: the process exits within the shutdown deadline",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func shutdownDeadline() async throws {
        let directory = try scratchFolder("serve-stall")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        // Timeouts far beyond the test: only the shutdown deadline can end the stalled request.
        let server = try ToolServer(["serve", "--model", model.path, "--grpc-port", "0", "--shutdown-timeout", "1",
                                     "--header-timeout", "600", "--body-timeout", "600", "--idle-timeout", "600"])
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["python3", "-c", """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", \(server.port)))
            s.sendall(b'POST /v1/completions HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 1000\\r\\n\\r\\n{"prompt":"hel')
            print("sent", flush=True)
            time.sleep(120)
            """]
        let out = Pipe()
        client.standardOutput = out
        try client.run()
        defer { client.terminate() }
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        #expect(line.contains("sent"))
        // Give the server time to read the head and part of the body. (Were it not yet read, the
        // shutdown would simply close the connection and the test would prove less, not fail.)
        try await Task.sleep(for: .seconds(1))
        let signalled = Date()
        kill(server.process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while server.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let seconds = Date().timeIntervalSince(signalled)
        #expect(!server.process.isRunning, "still running 30 s after SIGTERM")
        // 1 s for requests in flight, at most 2 s for the cut ones to unwind, and slack for a loaded machine
        // (without the deadline it never exits: the body timeout is 600 s).
        #expect(seconds < 60, "exited \(seconds) s after SIGTERM")
        if !server.process.isRunning {
            #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0, "status \(server.process.terminationStatus)")
        }
    }
}

/// The gRPC port `rlhf serve` printed.
func grpcPort(_ server: ToolServer) throws -> Int {
    let match = try #require(server.banner.firstMatch(of: /grpc:\/\/127\.0\.0\.1:(\d+)/), "\(server.banner)")
    return try #require(Int(match.1))
}

/// Runs `body` with a generated client connected to 127.0.0.1:`port`.
func withGenerationClient<Result: Sendable>(port: Int, _ body: (Rlhf_V1_Generation.Client<HTTP2ClientTransport.Posix>) async throws -> Result) async throws -> Result {
    try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
        try await body(Rlhf_V1_Generation.Client(wrapping: client))
    }
}
