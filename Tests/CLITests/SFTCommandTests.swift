// `rlhf sft` end to end on a tiny model, its data errors, and a training process killed with
// SIGKILL then resumed (pretrain and SFT share the loop; both are killed here).

import Foundation
import Testing

/// A scratch folder removed at the end of a test.
func scratchFolder(_ label: String) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Pretrains a one-layer model with a trained BPE (which has <|endoftext|>) and returns its final checkpoint.
func tinyCheckpoint(in directory: URL) async throws -> URL {
    let corpus = directory.appendingPathComponent("base.txt")
    try String(repeating: "Human: hello there. Assistant: hi, how can I help? ", count: 60).write(to: corpus, atomically: true, encoding: .utf8)
    let (status, _, err) = try await runTool(["pretrain", "--corpus", corpus.path, "--name", "base", "--runs_dir", directory.appendingPathComponent("runs").path,
                                        "--tokenizer", "bpe", "--bpe_merges", "30", "--n_layer", "1", "--n_head", "2", "--n_embd", "16",
                                        "--block_size", "64", "--batch_size", "2", "--max_steps", "2", "--eval_interval", "0", "--eval_batches", "1"])
    #expect(status == 0, "\(err)")
    return directory.appendingPathComponent("runs/base/final")
}

/// Starts `rlhf` and SIGKILLs it once `file` exists; returns its termination reason.
func runToolKilled(_ arguments: [String], whenExists file: URL) throws -> Process.TerminationReason {
    let process = Process()
    process.executableURL = try toolExecutable()
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    while process.isRunning && !FileManager.default.fileExists(atPath: file.path) { usleep(2_000) }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    return process.terminationReason
}

@Suite("rlhf sft")
struct SFTCommandTests {
    @Test("fine-tunes on chat messages: data report, step-0 valid loss, the run layout; bad data names file and line")
    func sft() async throws {
        let directory = try scratchFolder("sft")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let data = directory.appendingPathComponent("chat.jsonl")
        let lines = (0..<10).map { i in
            #"{"messages":[{"role":"user","content":"hello \#(i)"},{"role":"assistant","content":"hi, how can I help?"}]}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        let common = ["sft", "--data", data.path, "--model", model.path, "--runs_dir", directory.appendingPathComponent("runs").path,
                      "--name", "chat", "--max_length", "48", "--batch_size", "2", "--valid_fraction", "0.2", "--log_interval", "1"]
        let (status, out, err) = try await runTool(common + ["--max_steps", "4", "--eval_interval", "2", "--learning_rate", "1e-3"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("data: 10 sequences; 0 prompts truncated from the left"))
        #expect(out.contains("finished at step 4"))
        let run = directory.appendingPathComponent("runs/chat")
        for name in ["config.yaml", "metrics.jsonl", "final/model.safetensors", "final/trainer_state.json", "final/optimizer.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), "\(name)")
        }
        let metrics = try jsonLines(String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8))
        #expect(metrics.compactMap { $0["step"] as? Int } == [0, 1, 2, 3, 4])
        #expect(metrics.filter { $0["valid/loss"] != nil }.compactMap { $0["step"] as? Int } == [0, 2, 4])
        let config = try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(config.contains("long_responses: error") && config.contains("max_length: 48"))

        // A short max_length truncates prompts from the left and says how many; a response that cannot fit names its line.
        let (cutStatus, cutOut, cutErr) = try await runTool(common + ["--max_steps", "1", "--max_length", "12"])
        #expect(cutStatus == 0, "\(cutErr)")
        #expect(cutOut.contains("data: 10 sequences; 10 prompts truncated from the left"))
        let (longStatus, _, longErr) = try await runTool(common + ["--max_steps", "1", "--max_length", "4"])
        #expect(longStatus != 0 && longErr.contains("chat.jsonl:1: field 'response'") && longErr.contains("no room"))
        let (skipStatus, skipOut, _) = try await runTool(common + ["--max_steps", "1", "--max_length", "4", "--long_responses", "skip", "--valid_fraction", "0"])
        #expect(skipStatus != 0 && skipOut.contains("10 examples skipped (response too long)"))

        // Malformed JSON, a missing field, an unknown shape: each names the file and line.
        let bad = directory.appendingPathComponent("bad.jsonl")
        try (lines.prefix(2).joined(separator: "\n") + "\n{\"messages\": [\n").write(to: bad, atomically: true, encoding: .utf8)
        let (badStatus, _, badErr) = try await runTool(common + ["--data", bad.path])
        #expect(badStatus != 0 && badErr.contains("bad.jsonl:3"))
        let (skippedStatus, skippedOut, skippedErr) = try await runTool(common + ["--data", bad.path, "--skip_bad_records", "true", "--valid_fraction", "0", "--max_steps", "1"])
        #expect(skippedStatus == 0, "\(skippedErr)")
        #expect(skippedOut.contains("1 bad records skipped"))
        let missing = directory.appendingPathComponent("missing.jsonl")
        try "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"a\"}\n".write(to: missing, atomically: true, encoding: .utf8)
        let (missingStatus, _, missingErr) = try await runTool(common + ["--data", missing.path])
        #expect(missingStatus != 0 && missingErr.contains("missing.jsonl:2") && missingErr.contains("completion"))
        let unknown = directory.appendingPathComponent("unknown.jsonl")
        try "{\"question\":\"a\",\"answer\":\"b\"}\n".write(to: unknown, atomically: true, encoding: .utf8)
        let (unknownStatus, _, unknownErr) = try await runTool(common + ["--data", unknown.path])
        #expect(unknownStatus != 0 && unknownErr.contains("unknown.jsonl:1") && unknownErr.contains("unknown SFT record shape"))
    }

    @Test("a character model: eos_token names the end token; unknown_characters fold approximates é and drops €")
    func characterModel() async throws {
        let directory = try scratchFolder("sft-char")
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = directory.appendingPathComponent("c.txt")
        try String(repeating: "abc de$ ", count: 40).write(to: corpus, atomically: true, encoding: .utf8)
        let runs = directory.appendingPathComponent("runs").path
        let (status, _, err) = try await runTool(["pretrain", "--corpus", corpus.path, "--name", "base", "--runs_dir", runs, "--n_layer", "1",
                                            "--n_head", "2", "--n_embd", "16", "--block_size", "16", "--batch_size", "2", "--max_steps", "1",
                                            "--eval_interval", "0", "--eval_batches", "1"])
        #expect(status == 0, "\(err)")
        let data = directory.appendingPathComponent("d.jsonl")
        try (0..<6).map { _ in #"{"prompt":"ab é","completion":" cd€e"}"# }.joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
        let common = ["sft", "--data", data.path, "--model", directory.appendingPathComponent("runs/base/final").path, "--runs_dir", runs,
                      "--name", "s", "--max_length", "16", "--batch_size", "2", "--max_steps", "1", "--valid_fraction", "0"]
        let (noEnd, _, noEndErr) = try await runTool(common)
        #expect(noEnd != 0 && noEndErr.contains("eos_token"))
        let (unknown, _, unknownErr) = try await runTool(common + ["--eos_token", "$"])
        #expect(unknown != 0 && unknownErr.contains("d.jsonl:1") && unknownErr.contains("not in the vocabulary"))
        let (folded, foldedOut, foldedErr) = try await runTool(common + ["--eos_token", "$", "--unknown_characters", "fold"])
        #expect(folded == 0, "\(foldedErr)")
        #expect(foldedOut.contains("data: 6 sequences"))
    }

    @Test("a training process killed with SIGKILL and run again with --resume writes the uninterrupted run's metrics.jsonl",
          arguments: ["pretrain", "sft"])
    func killAndResume(job: String) async throws {
        let directory = try scratchFolder("kill")
        defer { try? FileManager.default.removeItem(at: directory) }
        var arguments: [String]
        if job == "pretrain" {
            let corpus = directory.appendingPathComponent("corpus.txt")
            try String(repeating: "to be or not to be, that is the question. ", count: 200).write(to: corpus, atomically: true, encoding: .utf8)
            arguments = ["pretrain", "--corpus", corpus.path, "--tokenizer", "bpe", "--bpe_merges", "20", "--n_layer", "1", "--n_head", "2",
                         "--n_embd", "32", "--block_size", "32", "--batch_size", "8", "--eval_interval", "50", "--eval_batches", "2",
                         "--dropout", "0.1"]
        } else {
            let model = try await tinyCheckpoint(in: directory)
            let data = directory.appendingPathComponent("pairs.jsonl")
            try (0..<40).map { #"{"prompt":"Human: hello \#($0). Assistant:","completion":" hi, how can I help?"}"# }
                .joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
            arguments = ["sft", "--data", data.path, "--model", model.path, "--max_length", "48", "--batch_size", "4",
                         "--eval_interval", "50", "--learning_rate", "1e-3"]
        }
        arguments += ["--max_steps", "600", "--checkpoint_interval", "10", "--log_interval", "1", "--runs_dir", directory.appendingPathComponent("runs").path]
        let (status, _, err) = try await runTool(arguments + ["--name", "whole"])
        #expect(status == 0, "\(err)")
        let killed = directory.appendingPathComponent("runs/killed")
        let reason = try await runToolKilled(arguments + ["--name", "killed"],
                                       whenExists: killed.appendingPathComponent("checkpoints/step-20/trainer_state.json"))
        #expect(reason == .uncaughtSignal)
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("final").path))
        let (resumed, out, resumedErr) = try await runTool(arguments + ["--name", "killed", "--resume"])
        #expect(resumed == 0, "\(resumedErr)")
        #expect(out.contains("resumed from \(killed.path)/checkpoints/step-"))
        let expected = try String(contentsOf: directory.appendingPathComponent("runs/whole/metrics.jsonl"), encoding: .utf8)
        #expect(expected.split(separator: "\n").count >= 600)
        #expect(try String(contentsOf: killed.appendingPathComponent("metrics.jsonl"), encoding: .utf8) == expected)
    }
}
