// `rlhf dpo` end to end: pairs read and tokenized with counted cuts, TRL's metric names, ln 2 at
// step 0 (policy = reference), --resume, and errors.

import Foundation
import Testing

@Suite("rlhf dpo")
struct DPOCommandTests {
    @Test("trains on pairs, logs TRL's names from ln 2, resumes, and names bad input")
    func dpo() async throws {
        let directory = try scratchFolder("dpo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let pairs = directory.appendingPathComponent("pairs.jsonl")
        try (0..<10).map { i in
            #"{"prompt":"Human: hello \#(i). Assistant:","chosen":" HI, HOW CAN I HELP?","rejected":" hi, how can i help?"}"#
        }.joined(separator: "\n").write(to: pairs, atomically: true, encoding: .utf8)
        let common = ["dpo", "--data", pairs.path, "--model", model.path, "--runs_dir", directory.appendingPathComponent("runs").path,
                      "--name", "d", "--batch_size", "4", "--valid_fraction", "0.2", "--eval_interval", "2", "--log_interval", "1",
                      "--checkpoint_interval", "2", "--learning_rate", "1e-3", "--max_prompt_length", "3"]
        let (status, out, err) = try await runTool(common + ["--max_steps", "4"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("data: 10 pairs; 10 prompts cut to their last 3 tokens"))
        let metrics = try jsonLines(String(contentsOf: directory.appendingPathComponent("runs/d/metrics.jsonl"), encoding: .utf8))
        #expect(metrics.compactMap { $0["step"] as? Int } == [0, 1, 2, 3, 4])
        #expect(abs((metrics[0]["valid/loss"] as? Double ?? 0) - 0.6931472) < 1e-5)
        for name in ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "loss"] {
            #expect(metrics[1][name] != nil, "\(name)")
        }
        let (again, againOut, againErr) = try await runTool(common + ["--max_steps", "6", "--resume"])
        #expect(again == 0, "\(againErr)")
        #expect(againOut.contains("resumed from") && againOut.contains("finished at step 6"))
        let (bad, _, badErr) = try await runTool(common + ["--loss_type", "hinge"])
        #expect(bad != 0 && badErr.contains("loss_type"))
        let broken = directory.appendingPathComponent("broken.jsonl")
        try "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n{\"prompt\":\"a\",\"chosen\":\"b\"}\n".write(to: broken, atomically: true, encoding: .utf8)
        let (brokenStatus, _, brokenErr) = try await runTool(common + ["--data", broken.path])
        #expect(brokenStatus != 0 && brokenErr.contains("broken.jsonl:2") && brokenErr.contains("rejected"))
    }
}
