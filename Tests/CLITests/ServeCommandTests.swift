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

/// A running `rlhf serve` and its port.
final class ModelServerProcess {
    let process = Process()
    let port: Int

    init(_ arguments: [String]) throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        process.executableURL = [directory.appendingPathComponent("rlhf"), directory.deletingLastPathComponent().appendingPathComponent("rlhf")]
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }!
        process.arguments = ["serve", "--port", "0"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning, text.firstMatch(of: /serving .* at http:\/\/127\.0\.0\.1:\d+\/v1/) == nil {
            text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        }
        guard let match = text.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\/v1/), let port = Int(match.1) else {
            process.terminate()
            throw ChromiumError(description: "rlhf serve did not start: \(text)")
        }
        self.port = port
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
}

@Suite("rlhf serve")
struct ServeCommandTests {
    @Test("the official Python openai client: completions, chat, streaming, models, errors", .enabled(if: pythonHasOpenAI))
    func openAIClient() throws {
        let directory = try scratchFolder("serve-openai")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try tinyCheckpoint(in: directory)
        let server = try ModelServerProcess(["--model", model.path, "--name", "tiny"])
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

    @Test("SIGTERM: the in-flight stream finishes with [DONE], then the process exits 0")
    func gracefulShutdown() throws {
        let directory = try scratchFolder("serve-term")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try tinyCheckpoint(in: directory)
        let server = try ModelServerProcess(["--model", model.path, "--max-batch", "2"])
        let (health, _) = try httpRequest("http://127.0.0.1:\(server.port)/health")
        #expect(health == 200)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/v1/completions")!, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"prompt":"Human: hello","max_tokens":40,"stream":true,"seed":1}"#.utf8)
        nonisolated(unsafe) var body = ""
        nonisolated(unsafe) var status = 0
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, _ in
            body = String(decoding: data ?? Data(), as: UTF8.self)
            status = (response as? HTTPURLResponse)?.statusCode ?? 0
            done.signal()
        }.resume()
        usleep(20_000)
        kill(server.process.processIdentifier, SIGTERM)
        done.wait()
        server.process.waitUntilExit()
        #expect(status == 200 && body.hasSuffix("data: [DONE]\n\n"), "\(status) \(body.suffix(200))")
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
    }
}
