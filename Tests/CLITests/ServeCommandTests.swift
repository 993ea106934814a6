// `rlhf serve` as a process: the official Python `openai` client against it, and graceful
// shutdown on SIGTERM (the in-flight stream finishes with [DONE]; the process exits 0).

import Foundation
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
    func openAIClient() throws {
        let directory = try scratchFolder("serve-openai")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try tinyCheckpoint(in: directory)
        let server = try ToolServer(["serve", "--model", model.path, "--name", "tiny"])
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

    @Test("SIGTERM during a stream: the stream finishes with [DONE], then the process exits 0", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")))
    func gracefulShutdown() throws {
        let directory = try scratchFolder("serve-term")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A model wide enough (and a context long enough) that 400 tokens take a good part of a second.
        let corpus = directory.appendingPathComponent("corpus.txt")
        try String(repeating: "to be or not to be, that is the question. ", count: 300).write(to: corpus, atomically: true, encoding: .utf8)
        let (trained, _, trainErr) = try runTool(["pretrain", "--corpus", corpus.path, "--name", "wide", "--runs_dir", directory.appendingPathComponent("runs").path,
                                                  "--tokenizer", "character", "--n_layer", "4", "--n_head", "4", "--n_embd", "256", "--block_size", "512",
                                                  "--batch_size", "1", "--max_steps", "1", "--eval_interval", "0", "--eval_batches", "1"])
        #expect(trained == 0, "\(trainErr)")
        let server = try ToolServer(["serve", "--model", directory.appendingPathComponent("runs/wide/final").path, "--max-tokens-limit", "500"])
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "http://127.0.0.1:\(server.port)/v1/completions", "-H", "Content-Type: application/json",
                          "-d", #"{"prompt":"to be","max_tokens":400,"stream":true,"seed":1}"#]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        var received = ""
        let deadline = Date().addingTimeInterval(60)
        while !received.contains("data: {") && Date() < deadline {  // the stream has started
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            received += String(decoding: chunk, as: UTF8.self)
        }
        #expect(!received.contains("[DONE]"), "the stream ended before SIGTERM; the model is too fast for this test")
        kill(server.process.processIdentifier, SIGTERM)
        received += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        server.process.waitUntilExit()
        #expect(received.hasSuffix("data: [DONE]\n\n"), "\(received.suffix(300))")
        #expect(received.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.count > 10)
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
    }
}
