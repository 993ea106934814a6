// `rlhf reward` and `rlhf score` end to end: pairwise training with normalization before and after,
// the checkpoint layout, scores written per line, and bad input named by file and line.

import Foundation
import Testing

@Suite("rlhf reward and score")
struct RewardCommandTests {
    @Test("trains on pairs with normalization, then scores {text} and {prompt,response} lines; the checkpoint scores identically after reload")
    func rewardAndScore() async throws {
        let directory = try scratchFolder("reward")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let pairs = directory.appendingPathComponent("pairs.jsonl")
        try (0..<12).map { i in
            #"{"prompt":"Human: hello \#(i). Assistant:","chosen":" hi, how can I help?","rejected":" go away."}"#
        }.joined(separator: "\n").write(to: pairs, atomically: true, encoding: .utf8)
        let runs = directory.appendingPathComponent("runs")
        let (status, out, err) = try await runTool(["reward", "--data", pairs.path, "--model", model.path, "--runs_dir", runs.path, "--name", "rm",
                                              "--max_length", "48", "--batch_size", "4", "--max_steps", "6", "--learning_rate", "1e-3",
                                              "--valid_fraction", "0.25", "--eval_interval", "3", "--log_interval", "1",
                                              "--normalize", "both", "--normalization_samples", "8", "--normalization_response_length", "4",
                                              "--normalization_temperature", "0.9"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("data: 12 pairwise examples; 0 texts truncated"))
        #expect(out.contains("normalization before training: 8 samples (4 tokens, temperature 0.90, fixed length)")
                && out.contains("normalization after training: 8 samples (4 tokens, temperature 0.90, fixed length)"), "\(out)")
        #expect(out.contains("held-out accuracy"))
        let final = runs.appendingPathComponent("rm/final")
        for name in ["config.json", "model.safetensors", "reward_model.json", "trainer_state.json", "optimizer.safetensors", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: final.appendingPathComponent(name).path), "\(name)")
        }
        let metrics = try jsonLines(String(contentsOf: runs.appendingPathComponent("rm/metrics.jsonl"), encoding: .utf8))
        #expect(metrics.first?["step"] as? Int == 0 && metrics.first?["valid/accuracy"] != nil)
        #expect(metrics.last?["rewards/accuracies"] != nil && metrics.last?["valid/rewards/margins"] != nil)

        let input = directory.appendingPathComponent("score.jsonl")
        try "{\"text\":\"Human: hello. Assistant: hi\"}\n{\"prompt\":\"Human: hello.\",\"response\":\" Assistant: go away.\",\"id\":7}\n"
            .write(to: input, atomically: true, encoding: .utf8)
        let (scoreStatus, scored, scoreErr) = try await runTool(["score", "--model", final.path, "--input", input.path])
        #expect(scoreStatus == 0, "\(scoreErr)")
        let lines = try jsonLines(scored)
        #expect(lines.count == 2 && lines[1]["id"] as? Int == 7)
        let scores = lines.compactMap { $0["score"] as? Double }
        #expect(scores.count == 2 && scores.allSatisfy(\.isFinite))
        let (_, again, _) = try await runTool(["score", "--model", final.path, "--input", input.path])
        #expect(again == scored)

        let bad = directory.appendingPathComponent("bad.jsonl")
        try "{\"text\":\"a\"}\n{\"question\":\"b\"}\n".write(to: bad, atomically: true, encoding: .utf8)
        let (badStatus, _, badErr) = try await runTool(["score", "--model", final.path, "--input", bad.path])
        #expect(badStatus != 0 && badErr.contains("bad.jsonl:2"))
        let (kindStatus, _, kindErr) = try await runTool(["reward", "--data", bad.path, "--model", model.path, "--runs_dir", runs.path])
        #expect(kindStatus != 0 && kindErr.contains("bad.jsonl:1") && kindErr.contains("cannot tell"))
        let (normStatus, _, normErr) = try await runTool(["reward", "--data", pairs.path, "--model", model.path, "--runs_dir", runs.path, "--normalize", "sometimes"])
        #expect(normStatus != 0 && normErr.contains("field 'normalize'"))
    }
}

@Suite("rlhf reward and score on T5")
struct T5RewardCommandTests {
    @Test("a T5 LM becomes a T5ForSequenceClassification reward model (normalized on the T5 policy's samples); score reads it; texts end with </s>")
    func t5RewardModel() async throws {
        let directory = try tinyCheckpointWithTokenizer(fixture: "flan-t5-tiny")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pairs = directory.appendingPathComponent("pairs.jsonl")
        try (0..<8).map { i in #"{"prompt":"Q\#(i): ","chosen":"yes, gladly","rejected":"no."}"# }
            .joined(separator: "\n").write(to: pairs, atomically: true, encoding: .utf8)
        let runs = directory.appendingPathComponent("runs")
        let (status, out, err) = try await runTool(["reward", "--data", pairs.path, "--model", directory.path, "--runs_dir", runs.path, "--name", "rm",
                                                    "--max_length", "24", "--batch_size", "4", "--max_steps", "30", "--learning_rate", "3e-3",
                                                    "--valid_fraction", "0", "--eval_interval", "0", "--log_interval", "5",
                                                    "--normalize", "after", "--normalization_samples", "6", "--normalization_response_length", "3"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("data: 8 pairwise examples; 0 texts truncated"), "\(out)")
        let final = runs.appendingPathComponent("rm/final")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: final.appendingPathComponent("config.json"))) as? [String: Any]
        #expect(config?["architectures"] as? [String] == ["T5ForSequenceClassification"] && config?["model_type"] as? String == "t5")
        let metrics = try jsonLines(String(contentsOf: runs.appendingPathComponent("rm/metrics.jsonl"), encoding: .utf8))
        #expect(metrics.last?["rewards/accuracies"] as? Double == 1.0, "\(metrics.last ?? [:])")

        let input = directory.appendingPathComponent("score.jsonl")
        try "{\"prompt\":\"Q9: \",\"response\":\"yes, gladly\"}\n{\"prompt\":\"Q9: \",\"response\":\"no.\"}\n"
            .write(to: input, atomically: true, encoding: .utf8)
        let (scoreStatus, scored, scoreErr) = try await runTool(["score", "--model", final.path, "--input", input.path])
        #expect(scoreStatus == 0, "\(scoreErr)")
        let scores = try jsonLines(scored).compactMap { $0["score"] as? Double }
        #expect(scores.count == 2 && scores[0] > scores[1], "\(scored)")
        // A T5 language model is not a reward model: score names the file and the field.
        let (lmStatus, _, lmErr) = try await runTool(["score", "--model", directory.path, "--input", input.path])
        #expect(lmStatus != 0 && lmErr.contains("config.json") && lmErr.contains("architectures"), "\(lmErr)")
    }
}
