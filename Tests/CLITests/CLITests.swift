// The `rlhf` executable end to end: bench output, argument errors, the OpenBLAS re-exec.

import Foundation
import Testing

/// The built `rlhf` (or another of the package's executables), next to this test binary (on Linux
/// the test binary is inside `<name>.xctest`'s folder or is the .xctest file itself).
func toolExecutable(_ name: String = "rlhf") throws -> URL {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [directory.appendingPathComponent(name), directory.deletingLastPathComponent().appendingPathComponent(name)]
    guard let tool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: candidates.map(\.path).joined(separator: ", ")])
    }
    return tool
}

/// Runs the built `rlhf` (or `executable`) and returns (exit status, stdout, stderr).
func runTool(_ arguments: [String], environment extra: [String: String] = [:], removing: [String] = [], executable: String = "rlhf") throws -> (Int32, String, String) {
    let tool = try toolExecutable(executable)
    let process = Process()
    process.executableURL = tool
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    for key in removing { environment.removeValue(forKey: key) }
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Both pipes drained at once: a tool that fills one (64 KiB) while the other is read would wait forever.
    let errData = Carried(value: NSMutableData())
    let errDone = DispatchSemaphore(value: 0)
    Thread {
        errData.value.append(err.fileHandleForReading.readDataToEndOfFile())
        errDone.signal()
    }.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    errDone.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.value as Data, as: UTF8.self))
}

/// A running `rlhf` server (`serve`, `rate serve`) on a free port: started with `--port 0`, ready
/// once it prints its `http://127.0.0.1:PORT/` address; SIGKILLed if still running when released.
/// Started from the test's own thread, not off the pool: Foundation's `Process` on Linux learns of a
/// child's exit through the run loop of the thread that launched it, so a server launched from a
/// thread that then ends is never reaped and `waitUntilExit` spins forever.
final class ToolServer {
    let process = Process()
    /// The HTTP port it bound.
    let port: Int
    /// What it printed up to and including the address line.
    let banner: String

    init(_ arguments: [String]) throws {
        process.executableURL = try toolExecutable()
        process.arguments = arguments + ["--port", "0"]
        let out = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-server-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning, !text.contains("\n") || text.firstMatch(of: /http:\/\/127\.0\.0\.1:\d+\//) == nil {
            text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        }
        guard let match = text.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\//), let port = Int(match.1) else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "rlhf \(arguments.prefix(2).joined(separator: " ")) did not start: \(text) \(stderr)"])
        }
        self.port = port
        banner = text
    }

    /// `http://127.0.0.1:PORT`.
    var base: String { "http://127.0.0.1:\(port)" }

    func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { if process.isRunning { killHard() } }
}

func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
    }
}

@Suite("rlhf command line")
struct CLITests {
    @Test("bench --tiny prints one JSON object per benchmark with finite numbers")
    func benchTiny() async throws {
        let (status, out, err) = try await runTool(["bench", "--tiny"])
        #expect(status == 0, "\(err)")
        let records = try jsonLines(out)
        #expect(records.compactMap { $0["bench"] as? String } == ["blas", "sgemm", "copy", "attention", "layernorm", "gelu", "softmax", "crossentropy", "adamw",
                                                                   "generate_gpt2_small", "generate_gpt2_small", "generate_shakespeare", "generate_shakespeare",
                                                                   "train_shakespeare", "train_gpt2_small", "train_minilm_classifier", "serve_batching", "serve_batching",
                                                                   "generate_t5_small", "generate_t5_small", "train_t5_small", "ppo_iteration", "dpo_step", "tokenizer"])
        for record in records where ["generate", "train"].contains(where: { (record["bench"] as? String)?.hasPrefix($0) == true }) {
            #expect((record["tokens_per_second"] as? Double ?? 0) > 0)
        }
        let sgemm = try #require(records.first { $0["bench"] as? String == "sgemm" })
        #expect((sgemm["gflops"] as? Double ?? 0) > 0)
    }

    @Test("--only runs just the named benchmarks; an unknown name is an error that lists the known ones")
    func only() async throws {
        let (status, out, _) = try await runTool(["bench", "--tiny", "--only", "gelu,blas"])
        #expect(status == 0)
        #expect(try jsonLines(out).compactMap { $0["bench"] as? String } == ["blas", "gelu"])
        let (badStatus, _, err) = try await runTool(["bench", "--only", "warp-drive"])
        #expect(badStatus != 0)
        #expect(err.contains("warp-drive") && err.contains("attention"))
    }

    @Test("rlhf re-executes itself with OPENBLAS_CORETYPE when faster kernels exist, and only then")
    func reexec() async throws {
        // Force a preferred core (Haswell runs on every x86-64 CPU this builds for) so that the
        // re-exec path is exercised on any machine; the loaded core must then be Haswell.
        let (status, out, err) = try await runTool(["bench", "--only", "blas"], environment: ["RLHF_PREFERRED_CORETYPE": "HASWELL"],
                                             removing: ["OPENBLAS_CORETYPE", "RLHF_NO_REEXEC"])
        #expect(status == 0, "\(err)")
        let record = try #require(try jsonLines(out).first)
        #expect(record["core"] as? String == "Haswell")
        #expect(record["openblas_coretype"] as? String == "HASWELL")
        // A user's own choice is respected: no re-exec.
        let (_, userOut, _) = try await runTool(["bench", "--only", "blas"], environment: ["RLHF_PREFERRED_CORETYPE": "HASWELL", "OPENBLAS_CORETYPE": "SANDYBRIDGE"])
        #expect(try jsonLines(userOut).first?["core"] as? String == "Sandybridge")
        // Without an override, the preferred core is SKYLAKEX exactly on AVX-512 CPUs.
        let (_, plainOut, _) = try await runTool(["bench", "--only", "blas"], removing: ["OPENBLAS_CORETYPE", "RLHF_NO_REEXEC", "RLHF_PREFERRED_CORETYPE"])
        let plain = try #require(try jsonLines(plainOut).first)
        if plain["cpu_avx512"] as? Bool == true {
            #expect(plain["core"] as? String == "SkylakeX")
        } else {
            #expect(plain["openblas_coretype"] as? String == "")
        }
    }
}
