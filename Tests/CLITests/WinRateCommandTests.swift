// `rlhf winrate` end to end: two checkpoints, prompts from a CSV column, a reward judge; the JSON
// and Markdown it writes; and the errors for a bad judge, a missing column, an unset key variable,
// an unreachable chat-completions judge.

import Foundation
import Testing

@Suite("rlhf winrate")
struct WinRateCommandTests {
    @Test("two checkpoints on CSV prompts judged by lexicon and by a reward model; winrate.json and winrate.md; clear errors")
    func winrate() async throws {
        let directory = try scratchFolder("winrate")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        // A second model: the same base trained two more steps.
        let (trainStatus, _, trainErr) = try await runTool(["pretrain", "--corpus", directory.appendingPathComponent("base.txt").path, "--name", "more",
                                                      "--runs_dir", directory.appendingPathComponent("runs").path, "--tokenizer", "bpe",
                                                      "--bpe_merges", "30", "--n_layer", "1", "--n_head", "2", "--n_embd", "16", "--block_size", "64",
                                                      "--batch_size", "2", "--max_steps", "4", "--eval_interval", "0", "--eval_batches", "1"])
        #expect(trainStatus == 0, "\(trainErr)")
        let other = directory.appendingPathComponent("runs/more/final")
        let csv = directory.appendingPathComponent("prompts.csv")
        try "act,prompt\nfriend,\"Human: hello there, friend. Assistant:\"\nhelper,Human: how can I help? Assistant:\nhost,Human: hi. Assistant:\nextra,Human: bye. Assistant:\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("out")
        let common = ["winrate", "--a", "base=\(model.path)", "--b", "more=\(other.path)", "--prompts", csv.path, "--limit", "3",
                      "--max-new-tokens", "8", "--output", output.path]

        let (status, out, err) = try await runTool(common + ["--judge", "lexicon"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("base (A) vs more (B), judge lexicon: 3 prompts") && out.contains("A's win rate"))
        let data = try Data(contentsOf: output.appendingPathComponent("winrate.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let counts = ["wins", "ties", "losses"].compactMap { report[$0] as? Int }
        #expect(counts.count == 3 && counts.reduce(0, +) == 3)
        let winRate = try #require(report["win_rate"] as? Double)
        let interval = try #require(report["win_rate_ci"] as? [String: Double])
        #expect(abs(winRate - (Double(counts[0]) + Double(counts[1]) / 2) / 3) < 1e-12)
        #expect(interval["lower"]! <= winRate && winRate <= interval["upper"]!)
        #expect((report["pairs"] as? [[String: Any]])?.count == 3)
        #expect(report["max_new_tokens"] as? Int == 8 && report["judge"] as? String == "lexicon")
        let markdown = try String(contentsOf: output.appendingPathComponent("winrate.md"), encoding: .utf8)
        #expect(markdown.contains("# Win rate: base (A) vs more (B)") && markdown.contains("95% CI (Wilson)"))

        // A reward-model judge: a reward model trained two steps on four pairs.
        let pairs = directory.appendingPathComponent("pairs.jsonl")
        try (0..<4).map { #"{"prompt":"Human: hello \#($0). Assistant:","chosen":" hi, how can I help?","rejected":" there there"}"# }
            .joined(separator: "\n").write(to: pairs, atomically: true, encoding: .utf8)
        let (rmStatus, _, rmErr) = try await runTool(["reward", "--data", pairs.path, "--model", model.path, "--runs_dir", directory.appendingPathComponent("runs").path,
                                                "--name", "rm", "--max_length", "48", "--batch_size", "2", "--valid_fraction", "0", "--max_steps", "2"])
        #expect(rmStatus == 0, "\(rmErr)")
        let rm = directory.appendingPathComponent("runs/rm/final").path
        let (rmJudged, rmOut, rmJudgeErr) = try await runTool(common + ["--judge", "rm:\(rm)"])
        #expect(rmJudged == 0, "\(rmJudgeErr)")
        #expect(rmOut.contains("judge rm:\(rm): 3 prompts"), "\(rmOut)")

        let (badStatus, _, badErr) = try await runTool(common + ["--judge", "gpt-judge"])
        #expect(badStatus != 0)
        #expect(badErr.contains("--judge is 'gpt-judge'") && badErr.contains("rm:DIR") && badErr.contains("openai:BASE_URL#MODEL"), "\(badErr)")

        let (columnStatus, _, columnErr) = try await runTool(common + ["--judge", "lexicon", "--prompt-field", "question"])
        #expect(columnStatus != 0)
        #expect(columnErr.contains(csv.path) && columnErr.contains("field 'question'") && columnErr.contains("columns: act, prompt"), "\(columnErr)")

        let (keyStatus, _, keyErr) = try await runTool(common + ["--judge", "openai:http://127.0.0.1:9/v1#m", "--api-key-env", "RLHF_TEST_UNSET_KEY"],
                                                 removing: ["RLHF_TEST_UNSET_KEY"])
        #expect(keyStatus != 0)
        #expect(keyErr.contains("RLHF_TEST_UNSET_KEY") && keyErr.contains("not set"), "\(keyErr)")

        // The tool registers the Clients module's judge: an openai: judge is sent for (and here, with
        // nothing listening on port 9, cannot be reached) instead of refused for want of an HTTP client.
        let (unreachableStatus, _, unreachableErr) = try await runTool(common + ["--judge", "openai:http://127.0.0.1:9/v1#m"])
        #expect(unreachableStatus != 0)
        #expect(unreachableErr.contains("cannot reach the judge at http://127.0.0.1:9/v1/chat/completions"), "\(unreachableErr)")
    }
}
