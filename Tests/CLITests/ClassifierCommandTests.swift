// `rlhf classifier train|eval|predict` end to end on the tiny BERT fixture: multi-label records,
// test metrics, resume, label probabilities, the classifier as a reward in `rlhf score`, and bad
// input named by file and line.

import Foundation
import Testing

let tinyBertClassifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("ModelsTests/Fixtures/bert-tiny-classifier")

@Suite("rlhf classifier")
struct ClassifierCommandTests {
    @Test("train (multi-label records, test metrics), resume, eval, predict, and score with classifier:DIR:LABEL")
    func trainEvalPredict() async throws {
        let directory = try scratchFolder("classifier")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("train.jsonl")
        // An array, not a dictionary: a dictionary's order changes from run to run, and with it the training.
        let lines: [(String, [String])] = [("the king is dead", ["sad"]), ("good night sweet prince", ["sad", "calm"]), ("o happy day", ["happy"]),
                                           ("the people are noble", ["happy", "calm"]), ("what say you my lord", ["calm"]), ("i will not speak", ["sad"])]
        try lines.map { text, labels in
            String(decoding: try JSONSerialization.data(withJSONObject: ["text": text, "label": labels]), as: UTF8.self)
        }.joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
        let runs = directory.appendingPathComponent("runs")
        let arguments = ["classifier", "train", "--data", data.path, "--test_data", data.path, "--model", tinyBertClassifier.path,
                         "--runs_dir", runs.path, "--name", "cls", "--batch_size", "3", "--learning_rate", "3e-3", "--schedule", "constant",
                         "--valid_fraction", "0", "--eval_interval", "0", "--checkpoint_interval", "5", "--log_interval", "1"]
        var (status, out, err) = try await runTool(arguments + ["--max_steps", "5"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("data: 6 training texts, 6 test; 3 labels, multi-label (sigmoid, binary cross-entropy)"))
        #expect(out.contains("test: accuracy"))
        (status, out, err) = try await runTool(arguments + ["--max_steps", "150"] + ["--resume"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("resumed from") || out.contains("step-5"), "\(out)")
        let final = runs.appendingPathComponent("cls/final")
        for name in ["config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "trainer_state.json", "optimizer.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: final.appendingPathComponent(name).path), "\(name)")
        }
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: final.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["problem_type"] as? String == "multi_label_classification")
        #expect((config["id2label"] as? [String: String])?.values.sorted() == ["calm", "happy", "sad"])
        let test = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: runs.appendingPathComponent("cls/test_metrics.json"))) as? [String: Any])
        #expect(test["macro_f1"] as? Double == 1.0 && test["accuracy"] as? Double == 1.0, "\(test)")

        (status, out, err) = try await runTool(["classifier", "eval", "--model", final.path, "--data", data.path])
        #expect(status == 0, "\(err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(report["macro_f1"] as? Double == 1.0 && report["examples"] as? Int == 6)

        (status, out, err) = try await runTool(["classifier", "predict", "--model", final.path, "--top", "1", "o happy day"])
        #expect(status == 0, "\(err)")
        #expect(out.contains(#""label":"happy""#), "\(out)")

        let texts = directory.appendingPathComponent("texts.jsonl")
        try #"{"text": "o happy day"}"#.appending("\n").appending(#"{"text": "the king is dead"}"#).write(to: texts, atomically: true, encoding: .utf8)
        (status, out, err) = try await runTool(["score", "--reward", "classifier:\(final.path):happy", "--input", texts.path])
        #expect(status == 0, "\(err)")
        let scores = out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.compactMap { $0["score"] as? Double }
        #expect(scores.count == 2 && scores[0] > 0.5 && scores[1] < 0.5, "\(out)")
    }

    @Test("bad input: an unknown label in the validation data, a missing field, an unknown problem type")
    func badInput() async throws {
        let directory = try scratchFolder("classifier-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("train.jsonl"), valid = directory.appendingPathComponent("valid.jsonl")
        try "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"y\"}\n".write(to: data, atomically: true, encoding: .utf8)
        try "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"z\"}\n".write(to: valid, atomically: true, encoding: .utf8)
        let base = ["classifier", "train", "--data", data.path, "--model", tinyBertClassifier.path, "--runs_dir", directory.appendingPathComponent("runs").path, "--max_steps", "1"]
        var (status, _, err) = try await runTool(base + ["--valid_data", valid.path])
        #expect(status != 0 && err.contains("valid.jsonl") && err.contains("example 2 has label 'z'"), "\(err)")
        try "{\"text\": \"a\"}\n".write(to: valid, atomically: true, encoding: .utf8)
        (status, _, err) = try await runTool(base + ["--valid_data", valid.path])
        #expect(status != 0 && err.contains("valid.jsonl") && err.contains("label"), "\(err)")
        (status, _, err) = try await runTool(base + ["--problem_type", "regression"])
        #expect(status != 0 && err.contains("problem_type"), "\(err)")
    }

    @Test("ppo with classifier:DIR:LABEL: the classifier's probability of a named label is the reward, at every iteration and evaluation")
    func ppoWithClassifierReward() async throws {
        let directory = try scratchFolder("classifier-ppo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let prompts = directory.appendingPathComponent("lines.txt")
        try "the king is dead today\no happy day my lord\nwhat say you now\n".write(to: prompts, atomically: true, encoding: .utf8)
        let (status, out, err) = try await runTool(["ppo", "--model", model.path, "--prompts", prompts.path, "--prompt_words", "4",
                                              "--reward", "classifier:\(tinyBertClassifier.path):joy", "--runs_dir", directory.appendingPathComponent("runs").path,
                                              "--name", "p", "--num_rollouts", "4", "--chunk_size", "2", "--num_mini_batches", "2", "--max_new_tokens", "6",
                                              "--eval_interval", "1", "--num_eval_prompts", "2", "--iterations", "2"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("finished"))
        let lines = try String(contentsOf: directory.appendingPathComponent("runs/p/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let metrics = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let scores = metrics.compactMap { $0["objective/score"] as? Double } + metrics.compactMap { $0["eval/score"] as? Double }
        #expect(scores.count >= 4 && scores.allSatisfy { $0 > 0 && $0 < 1 }, "P(joy) rewards: \(scores)")
        // The evaluation samples' scores are the classifier's P(joy) of prompt + response, as `rlhf score` gives it.
        let samples = try String(contentsOf: directory.appendingPathComponent("runs/p/samples.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!samples.isEmpty)
        let pairs = directory.appendingPathComponent("pairs.jsonl")
        try samples.map { sample in
            String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": sample["prompt"] ?? "", "response": sample["response"] ?? ""]), as: UTF8.self)
        }.joined(separator: "\n").write(to: pairs, atomically: true, encoding: .utf8)
        let (scored, scoredOut, scoredErr) = try await runTool(["score", "--reward", "classifier:\(tinyBertClassifier.path):joy", "--input", pairs.path])
        #expect(scored == 0, "\(scoredErr)")
        let rescored = scoredOut.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .compactMap { $0["score"] as? Double }
        #expect(rescored.count == samples.count)
        for (sample, score) in zip(samples, rescored) {
            #expect(abs((sample["score"] as? Double ?? -1) - score) < 1e-5, "\(sample)")
        }
        let texts = directory.appendingPathComponent("texts.jsonl")
        try #"{"text": "o happy day"}"#.write(to: texts, atomically: true, encoding: .utf8)
        let (bad, _, badErr) = try await runTool(["score", "--reward", "classifier:\(tinyBertClassifier.path):surprise", "--input", texts.path])
        #expect(bad != 0 && badErr.contains("label 'surprise' is not one of the classifier's labels: joy, anger, fear, neutral"), "\(badErr)")
    }
}
