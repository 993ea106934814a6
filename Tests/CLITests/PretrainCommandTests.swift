// `rlhf pretrain` end to end on a tiny corpus: the run layout, YAML + overrides, resume, errors.

import Foundation
import Testing

@Suite("rlhf pretrain")
struct PretrainCommandTests {
    @Test("writes the run layout from YAML plus overrides, resumes, and names bad fields")
    func pretrain() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-pretrain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = directory.appendingPathComponent("tiny.txt")
        try String(repeating: "to be or not to be. ", count: 40).write(to: corpus, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("job.yaml")
        try """
        name: tiny
        runs_dir: \(directory.appendingPathComponent("runs").path)
        corpus: \(corpus.path)
        n_layer: 1
        n_head: 2
        n_embd: 16
        block_size: 8
        batch_size: 4
        eval_interval: 3
        checkpoint_interval: 2
        log_interval: 1
        """.write(to: config, atomically: true, encoding: .utf8)
        let (status, out, err) = try await runTool(["pretrain", "--config", config.path, "--max_steps", "4", "--learning-rate=0.01"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("finished at step 4"))
        let run = directory.appendingPathComponent("runs/tiny")
        for name in ["config.yaml", "metrics.jsonl", "final/model.safetensors", "final/tokenizer.json", "final/trainer_state.json",
                     "final/optimizer.safetensors", "checkpoints/step-4/config.json"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), "\(name)")
        }
        let resolved = try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(resolved.contains("max_steps: 4") && resolved.contains("n_embd: 16") && resolved.contains("schedule: cosine"))
        // Resuming with another learning rate is refused, naming the field and both values; nothing is trained or recorded.
        let (changed, _, changedErr) = try await runTool(["pretrain", "--config", config.path, "--max_steps", "6", "--resume"])
        #expect(changed != 0 && changedErr.contains("config.yaml") && changedErr.contains("'learning_rate' was 0.01, now "), "\(changedErr)")
        #expect(try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8) == resolved)
        // Resume with more steps continues from step 4 (the newest checkpoint).
        let (again, resumedOut, resumedErr) = try await runTool(["pretrain", "--config", config.path, "--max_steps", "6", "--learning-rate=0.01", "--resume"])
        #expect(again == 0, "\(resumedErr)")
        #expect(resumedOut.contains("finished at step 6"))
        #expect(resumedOut.contains("resumed from \(run.appendingPathComponent("checkpoints/step-4").path)"))
        let steps = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["step"] as? Int
            }
        #expect(steps == [1, 2, 3, 4, 5, 6])
        // Told to, it resumes with the changed setting.
        let (overridden, _, overriddenErr) = try await runTool(["pretrain", "--config", config.path, "--max_steps", "7", "--resume", "--override-config"])
        #expect(overridden == 0, "\(overriddenErr)")
        // Bad fields and corpora are errors that say which.
        let (unknown, _, unknownErr) = try await runTool(["pretrain", "--config", config.path, "--bogus", "3"])
        #expect(unknown != 0 && unknownErr.contains("unknown field 'bogus'"))
        let (wrongType, _, wrongTypeErr) = try await runTool(["pretrain", "--config", config.path, "--block_size", "big"])
        #expect(wrongType != 0 && wrongTypeErr.contains("block_size"))
        let empty = directory.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let (emptyStatus, _, emptyErr) = try await runTool(["pretrain", "--config", config.path, "--corpus", empty.path])
        #expect(emptyStatus != 0 && emptyErr.contains("empty.txt") && emptyErr.contains("empty"))
        let (short, _, shortErr) = try await runTool(["pretrain", "--config", config.path, "--block_size", "700"])
        #expect(short != 0 && shortErr.contains("block"))
    }
}
