// `rlhf ppo` end to end: prompts as the first K words of a text file, a programmatic reward, the
// run layout with lm-human-preferences metric names, --resume, and errors for bad settings.

import Foundation
import Testing

@Suite("rlhf ppo")
struct PPOCommandTests {
    @Test("trains, writes metrics/samples/checkpoints, resumes to more iterations, and names bad fields")
    func ppo() async throws {
        let directory = try scratchFolder("ppo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let prompts = directory.appendingPathComponent("lines.txt")
        try "Human: hello there friend\nHuman: how are you today\nAssistant: fine thanks\n".write(to: prompts, atomically: true, encoding: .utf8)
        let common = ["ppo", "--model", model.path, "--prompts", prompts.path, "--prompt_words", "2", "--reward", "uppercase",
                      "--runs_dir", directory.appendingPathComponent("runs").path, "--name", "p", "--num_rollouts", "4", "--chunk_size", "2",
                      "--num_mini_batches", "2", "--max_new_tokens", "6", "--eval_interval", "1", "--checkpoint_interval", "1",
                      "--num_eval_prompts", "2"]
        let (status, out, err) = try await runTool(common + ["--iterations", "2"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("finished") && err.contains("iteration 2/2"))
        let run = directory.appendingPathComponent("runs/p")
        for name in ["config.yaml", "metrics.jsonl", "samples.jsonl", "final/model.safetensors", "final/trainer_state.json", "checkpoints/step-2/optimizer.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), "\(name)")
        }
        let metrics = try jsonLines(String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8))
        #expect(metrics.compactMap { $0["step"] as? Int } == [0, 1, 2])
        #expect(metrics[1]["objective/kl_coef"] as? Double == 0.15 && metrics[1]["ppo/val/var_explained"] != nil)
        let samples = try jsonLines(String(contentsOf: run.appendingPathComponent("samples.jsonl"), encoding: .utf8))
        #expect(samples.count == 6 && samples[0]["prompt"] as? String == "Human: hello")
        let (again, againOut, againErr) = try await runTool(common + ["--iterations", "3", "--resume"])
        #expect(again == 0, "\(againErr)")
        #expect(againOut.contains("finished") && againErr.contains("iteration 3/3") && !againErr.contains("iteration 1/3"))
        let (bad, _, badErr) = try await runTool(common + ["--reward", "sentiment"])
        #expect(bad != 0 && badErr.contains("field 'reward'"))
        let (badField, _, badFieldErr) = try await runTool(common + ["--num_mini_batches", "9"])
        #expect(badField != 0 && badFieldErr.contains("num_mini_batches"))
    }
}
