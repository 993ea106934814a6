// `rlhf compare`: models side by side on the same prompts, scored by a reward model (or any reward).

import Alignment
import ArgumentParser
import Datasets
import Evaluation
import Foundation
import Models
import Tokenizers

/// Writes compare.md, compare.csv and compare.html.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate with several models on the same prompts; score each generation and the gold response.",
        discussion: """
          rlhf compare --model sft=runs/sft/final --model dpo=runs/dpo/final --prompts test.jsonl --reward-model runs/rm/final \\
                       --gold-field chosen --output compare/
        --reward SPEC scores with any reward instead (uppercase, regex:P, length:N, classifier:DIR:LABEL, http(s)://URL).
        --sft reads the prompts file as SFT records (Alpaca, prompt/completion, messages, HH): prompt = the templated prompt,
        gold = the response.
        """)

    @Option(name: .customLong("model"), help: "NAME=DIR, repeated: the models to compare, in column order.") var models: [String] = []
    @Option(help: "Prompts: {\"prompt\"} JSONL/JSON, a .txt with one per line, or a CSV column.") var prompts: String
    @Option(help: "The field holding each prompt.") var promptField = "prompt"
    @Option(help: "A field of each prompt record holding the gold response.") var goldField: String?
    @Flag(help: "Read the prompts file as SFT records (gold = their response).") var sft = false
    @Option(help: "A reward-model checkpoint.") var rewardModel: String?
    @Option(help: "A reward spec instead of --reward-model.") var reward: String?
    @Option(help: "Use at most this many prompts.") var limit: Int?
    @Option(help: "New tokens per generation.") var maxNewTokens = 64
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0
    @Option(help: "Sampling seed (the same for every model).") var seed: UInt64 = 0
    @Option(help: "Stop strings.") var stop: [String] = []
    @Option(help: "Output folder.") var output = "compare"
    @Flag(help: "For character-level models: approximate or drop characters outside the first model's vocabulary.") var fold = false

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one --model NAME=DIR") }
        for entry in models where !entry.contains("=") { throw ValidationError("--model '\(entry)' must be NAME=DIR") }
        guard (rewardModel == nil) != (reward == nil) else { throw ValidationError("give exactly one of --reward-model DIR and --reward SPEC") }
    }

    func run() throws {
        let named = models.map { entry -> (name: String, directory: URL) in
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], URL(fileURLWithPath: parts[1]))
        }
        let url = URL(fileURLWithPath: prompts)
        var items: [(prompt: String, gold: String?)]
        if sft {
            items = try SFTExample.read(url).records.map { ($0.prompt, $0.response) }
        } else if let goldField {
            items = try RecordFile.read(url, requiredColumns: [promptField, goldField]).records.map { record in
                (try record.string(promptField), try record.string(goldField))
            }
        } else {
            items = try PromptSet.read(url, field: promptField).records.map { ($0, nil) }
        }
        if let limit { items = Array(items.prefix(limit)) }
        if fold, let characters = try loadTokenizer(from: named[0].directory) as? CharacterTokenizer {
            items = items.map { (characters.folding($0.prompt).text, $0.gold.map { characters.folding($0).text }) }
        }
        guard !items.isEmpty else { throw RunError.emptyData(path: prompts, problem: "no prompts") }
        let rewardFunction: any RewardFunction
        if let rewardModel {
            rewardFunction = try LearnedReward(checkpoint: URL(fileURLWithPath: rewardModel))
        } else {
            rewardFunction = try RewardSpecification.make(reward!, tokenizer: try loadTokenizer(from: named[0].directory))
        }
        let generation = GenerationConfiguration(maxNewTokens: maxNewTokens, sampling: SamplingConfiguration(temperature: temperature),
                                                 stopStrings: stop)
        let comparison = try Comparison.run(models: named, prompts: items, reward: rewardFunction, generation: generation, seed: seed)
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(comparison.markdown.utf8).write(to: folder.appendingPathComponent("compare.md"), options: .atomic)
        try Data(comparison.csv.utf8).write(to: folder.appendingPathComponent("compare.csv"), options: .atomic)
        try Data(comparison.html.utf8).write(to: folder.appendingPathComponent("compare.html"), options: .atomic)
        for (name, score) in zip(comparison.models, comparison.meanScores) { print(String(format: "%@: mean score %.4f", name, score)) }
        if let gold = comparison.meanGoldScore { print(String(format: "gold: mean score %.4f", gold)) }
        print("wrote \(folder.path)/compare.md, compare.csv, compare.html (\(comparison.rows.count) prompts)")
    }
}
