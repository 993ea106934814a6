// `rlhf generate`, `rlhf tokenize` and `rlhf logprobs` on the tiny parity checkpoint with a
// 97-character tokenizer.

import Foundation
import Testing
import Tokenizers

/// A copy of a tiny parity fixture (GPT-2 by default, V = 97; flan-t5-tiny, V = 120) with a
/// character tokenizer of 97 symbols.
func tinyCheckpointWithTokenizer(fixture name: String = "gpt2-tiny") throws -> URL {
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ModelsTests/Fixtures/\(name)")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for name in ["config.json", "model.safetensors"] {
        try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: directory.appendingPathComponent(name))
    }
    // 95 printable ASCII characters, newline and tab: 97 symbols, ids 0..<97.
    let corpus = String((32...126).map { Character(UnicodeScalar(UInt8($0))) }) + "\n\t"
    let tokenizer = CharacterTokenizer(corpus: corpus)
    #expect(tokenizer.vocabularySize == 97)
    try tokenizer.save(to: directory)
    return directory
}

@Suite("rlhf generate, tokenize, logprobs")
struct ModelCommandTests {
    @Test("generate: greedy is repeatable, --num-return-sequences and --json work, errors are clear")
    func generate() async throws {
        let directory = try tinyCheckpointWithTokenizer()
        defer { try? FileManager.default.removeItem(at: directory) }
        let arguments = ["generate", "--model", directory.path, "--prompt", "To be", "--max-new-tokens", "6", "--temperature", "0", "--json"]
        let (status, out, err) = try await runTool(arguments)
        #expect(status == 0, "\(err)")
        let object = try #require(try jsonLines(out).first)
        #expect((object["tokens"] as? [Int])?.count == 6)
        #expect((object["logprobs"] as? [Double])?.allSatisfy { $0 <= 0 } == true)
        #expect(try await runTool(arguments).1 == out)
        // One spelling convention: the YAML spelling of an option is the same option.
        let underscored = ["generate", "--model", directory.path, "--prompt", "To be", "--max_new_tokens=6", "--temperature", "0", "--json"]
        #expect(try await runTool(underscored).1 == out)
        let (_, sampled, _) = try await runTool(["generate", "--model", directory.path, "--prompt", "a", "--max-new-tokens", "4",
                                           "--num-return-sequences", "3", "--seed", "5", "--json"])
        #expect(try jsonLines(sampled).count == 3)
        let (tooLong, _, message) = try await runTool(["generate", "--model", directory.path, "--prompt", String(repeating: "x", count: 30), "--max-new-tokens", "5"])
        #expect(tooLong != 0 && message.contains("n_positions 32"))
        let (missing, _, missingMessage) = try await runTool(["generate", "--model", "/nonexistent/model", "--prompt", "a"])
        #expect(missing != 0 && missingMessage.contains("config.json"))
    }

    @Test("tokenize prints one JSON array per line of a file")
    func tokenize() async throws {
        let directory = try tinyCheckpointWithTokenizer()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("lines.txt")
        try "ab\n \n".write(to: input, atomically: true, encoding: .utf8)
        let (status, out, err) = try await runTool(["tokenize", "--tokenizer", directory.path, "--input", input.path])
        #expect(status == 0, "\(err)")
        #expect(out == "[67,68]\n[2]\n")  // ids by code point: "\t" 0, "\n" 1, " " 2, …, "a" 67
    }

    @Test("logprobs prints per-token log-probabilities that sum to the reported total; bad lines name the line")
    func logprobs() async throws {
        let directory = try tinyCheckpointWithTokenizer()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("texts.jsonl")
        try "{\"text\": \"hello there\"}\n{\"text\": \"x\"}\n".write(to: input, atomically: true, encoding: .utf8)
        let (status, out, err) = try await runTool(["logprobs", "--model", directory.path, "--input", input.path])
        #expect(status == 0, "\(err)")
        let records = try jsonLines(out)
        #expect(records.count == 2)
        let values = try #require(records[0]["logprobs"] as? [Double])
        #expect(values.count == 10)
        #expect(abs(values.reduce(0, +) - (records[0]["sum"] as? Double ?? 0)) < 1e-4)
        try "{\"text\": \"ok\"}\n{\"txt\": 3}\n".write(to: input, atomically: true, encoding: .utf8)
        let (bad, _, message) = try await runTool(["logprobs", "--model", directory.path, "--input", input.path])
        #expect(bad != 0 && message.contains("texts.jsonl:2") && message.contains("field 'text'"))
    }
}
