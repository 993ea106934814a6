// `rlhf winrate`: model A against model B on the same prompts, every pair judged in both orders
// by a reward model, any reward, or an LLM behind an OpenAI-compatible chat-completions server.

import Alignment
import ArgumentParser
import Datasets
import Evaluation
import Foundation
import Models
import Tokenizers

/// Writes winrate.json and winrate.md and prints the summary.
struct WinRateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winrate",
        abstract: "Win rate of model A against model B, judged pairwise in both orders, with 95% confidence intervals.",
        discussion: """
          rlhf winrate --a sft=runs/sft/final --b ppo=runs/ppo/final --prompts prompts.csv --judge rm:runs/rm/final
          rlhf winrate --a sft=runs/sft/final --b dpo=runs/dpo/final --prompts prompts.csv \\
                       --judge openai:http://127.0.0.1:8080/v1#gpt-4o-mini --api-key-env OPENAI_API_KEY
        --judge is rm:DIR (a reward model: the higher score wins), openai:BASE_URL#MODEL (a chat model answers A, B or tie),
        or any reward spec (lexicon, uppercase, regex:P, length:N, classifier:DIR:LABEL, http(s)://URL).
        A wins a prompt only when it wins with A shown first and with B shown first; B likewise; anything else is a tie.
        """)

    @Option(help: "Model A: NAME=DIR.") var a: String
    @Option(help: "Model B: NAME=DIR.") var b: String
    @OptionGroup var sampling: CheckpointSampling
    @Option(help: "rm:DIR, openai:BASE_URL#MODEL, or a reward spec (e.g. lexicon).") var judge: String
    @Option(help: "The environment variable holding the judge server's API key (sent as a bearer token).") var apiKeyEnv: String?
    @Option(help: "Seconds per judge request.") var timeout: Double = 60
    @Option(help: "Output folder.") var output = "winrate"

    func validate() throws {
        for (flag, entry) in [("--a", a), ("--b", b)] {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ValidationError("\(flag) '\(entry)' must be NAME=DIR") }
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds, got \(timeout)") }
    }

    func run() throws {
        func named(_ entry: String) -> (name: String, directory: URL) {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], URL(fileURLWithPath: parts[1]))
        }
        let (modelA, modelB) = (named(a), named(b))
        let items = try sampling.readPrompts()
        var apiKey: String?
        if let apiKeyEnv {
            guard let value = ProcessInfo.processInfo.environment[apiKeyEnv], !value.isEmpty else {
                throw ValidationError("--api-key-env \(apiKeyEnv): the environment variable \(apiKeyEnv) is not set")
            }
            apiKey = value
        }
        let judgeTokenizer: (any Tokenizer)? = try judge.hasPrefix("length:") ? loadTokenizer(from: modelA.directory) : nil
        let pairwiseJudge = try JudgeSpecification.make(judge, apiKey: apiKey, timeout: timeout, tokenizer: judgeTokenizer)
        let report = try WinRate.run(a: modelA, b: modelB, prompts: items, judge: pairwiseJudge, judgeName: judge, generation: sampling.generation,
                                     seed: sampling.seed, progress: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try report.json().write(to: folder.appendingPathComponent("winrate.json"), options: .atomic)
        try Data(report.markdown.utf8).write(to: folder.appendingPathComponent("winrate.md"), options: .atomic)
        print(report.summary)
        print("wrote \(folder.path)/winrate.json, winrate.md")
    }
}

/// How `rate sample` and `winrate` sample checkpoints: the prompts, and one generation setting and
/// seed for every checkpoint.
struct CheckpointSampling: ParsableArguments {
    @Option(help: "Prompts: {\"prompt\"} JSONL/JSON, a .txt with one per line, or a CSV/TSV column.") var prompts: String
    @Option(help: "The field or CSV column holding each prompt.") var promptField = "prompt"
    @Option(help: "Use at most this many prompts.") var limit: Int?
    @Option(help: "New tokens per response (prompt tokens + this must fit the model's positions).") var maxNewTokens = 32
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0.7
    @Option(help: "Sampling seed (the same for every checkpoint).") var seed: UInt64 = 0
    @Option(help: "Stop strings.") var stop: [String] = []

    func validate() throws {
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be ≥ 1, got \(maxNewTokens)") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be ≥ 0, got \(temperature)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1, got \(limit)") }
    }

    /// The generation settings.
    var generation: GenerationConfiguration {
        GenerationConfiguration(maxNewTokens: maxNewTokens, sampling: SamplingConfiguration(temperature: temperature), stopStrings: stop)
    }

    /// The prompts, at most `limit` of them; an empty list is an error naming the file.
    func readPrompts() throws -> [String] {
        var texts = try PromptSet.read(URL(fileURLWithPath: prompts), field: promptField).records
        if let limit { texts = Array(texts.prefix(limit)) }
        guard !texts.isEmpty else { throw RunError.emptyData(path: prompts, problem: "no prompts") }
        return texts
    }
}
