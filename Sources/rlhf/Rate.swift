// `rlhf rate serve | results | export`: blind human rating in the browser, stored in SQLite.

import ArgumentParser
import Datasets
import Evaluation
import Rating
import Foundation
import Models
import Serving

/// The rating commands.
struct Rate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Blind rating and pairwise labelling in the browser (SQLite), results, and export of labels for `rlhf reward`.",
        subcommands: [RateSample.self, RateServe.self, RateResults.self, RateExport.self])
}

/// Options naming the database.
struct RatingDatabaseOption: ParsableArguments {
    @Option(help: "The SQLite rating database.") var db = "ratings.sqlite"

    func openDesk() throws -> RatingDesk {
        guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("\(db): no rating database there; start one with rlhf rate serve --samples …") }
        return try RatingDesk(store: RatingStore(path: db))
    }
}

/// `rlhf rate sample`.
struct RateSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate responses of several checkpoints to the same prompts, as a samples file for rlhf rate serve.",
        discussion: """
        rlhf rate sample --model step-10=runs/ppo/checkpoints/step-10 --model final=runs/ppo/final --prompts prompts.txt --output samples.jsonl
        Writes one {"source","prompt","response"} line per model and prompt, models in the order given.
        """)

    @Option(name: .customLong("model"), help: "NAME=DIR, repeated: the checkpoints to sample.") var models: [String] = []
    @OptionGroup var sampling: CheckpointSampling
    @Option(help: "The samples file to write (JSONL).") var output: String

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one --model NAME=DIR") }
        for entry in models where !entry.contains("=") { throw ValidationError("--model '\(entry)' must be NAME=DIR") }
    }

    func run() throws {
        let texts = try sampling.readPrompts()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = ""
        for entry in models {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let responses = try generateResponses(directory: URL(fileURLWithPath: parts[1]), prompts: texts, generation: sampling.generation, seed: sampling.seed)
            for (prompt, response) in zip(texts, responses) {
                lines += String(decoding: try encoder.encode(RatingSample(source: parts[0], prompt: prompt, response: response)), as: UTF8.self) + "\n"
            }
        }
        try Data(lines.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        print("\(output): \(texts.count) prompts × \(models.count) models = \(texts.count * models.count) samples")
    }
}

/// `rlhf rate serve`.
struct RateServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the rating page: samples shuffled and blinded, rated on named scales or in pairs, stored in SQLite.",
        discussion: """
        rlhf rate serve --samples ppo=ppo.jsonl --samples sft=sft.jsonl --scale positivity=1-5 --scale sense=1-5
        rlhf rate serve --samples a.jsonl --samples b.jsonl --mode pairwise --db pairs.sqlite --port 8090
        A samples file holds {"prompt","response"} records (also "completion" or "text"; "source" optional);
        NAME=FILE names its source. Restarting with the same --db goes on where the raters stopped (--samples may
        then be left out). Results with the blinding key: the /results?token=… link printed at start-up (a new token
        each start; raters never see it), or rlhf rate results.
        Raters: a name typed on the start page is claimed by that browser (a cookie; the page shows a personal link to
        come back with); --rater NAME prints a personal link to hand out, and --invite-only accepts only those.
        """)

    @Option(name: .customLong("samples"), parsing: .upToNextOption, help: "Sample files, FILE or SOURCE=FILE (repeatable).") var samples: [String] = []
    @OptionGroup var database: RatingDatabaseOption
    @Option(help: "A YAML/JSON session file: title, mode, scales [{name, min, max, question, low_label, high_label}], instructions, seed.") var session: String?
    @Option(help: "rating or pairwise (without --session; default rating).") var mode: RatingMode?
    @Option(help: "A scale NAME=MIN-MAX (repeatable; without --session; default positivity=1-5 and sense=1-5).") var scale: [String] = []
    @Option(help: "The page title (without --session).") var title: String?
    @Option(help: "The seed of every rater's order and of left/right placement (without --session).") var seed: UInt64?
    @Option(help: "The address to bind (127.0.0.1 keeps the page on this machine).") var host = "127.0.0.1"
    @Option(help: "The port (0: any free port).") var port = 8090
    @Option(help: "Invite a rater by NAME (repeatable): their personal link is printed at start-up, the same on every start.") var rater: [String] = []
    @Flag(help: "Only invited raters (--rater) may rate: the start page asks for a personal link instead of a name.") var inviteOnly = false
    @OptionGroup(title: "Time limits") var timeouts: ConnectionLimitOptions

    func validate() throws {
        if inviteOnly && rater.isEmpty { throw ValidationError("--invite-only needs at least one --rater NAME to invite") }
        if session != nil && (mode != nil || !scale.isEmpty || title != nil || seed != nil) {
            throw ValidationError("--session already sets the mode, scales, title and seed; leave out --mode/--scale/--title/--seed")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
    }

    /// The configuration the options ask for, or nil when none is given (reuse the stored one).
    func requestedConfiguration() throws -> RatingSessionConfiguration? {
        if let session { return try RatingSessionConfiguration.read(URL(fileURLWithPath: session)) }
        guard mode != nil || !scale.isEmpty || title != nil || seed != nil else { return nil }
        let scales = scale.isEmpty ? RatingSessionConfiguration.shakespeareScales : try scale.map(RatingScale.init(parsing:))
        let configuration = RatingSessionConfiguration(title: title ?? "Blind rating", mode: mode ?? .rating, scales: scales, seed: seed ?? 0)
        try configuration.validate(path: "--scale")
        return configuration
    }

    func run() async throws {
        let samples = samples.isEmpty ? nil : try samples.flatMap(RatingSample.read)
        let desk = try RatingDesk(store: RatingStore(path: database.db), configuration: try requestedConfiguration(), samples: samples)
        let done = try desk.store.submissionCount()
        let mode = desk.configuration.mode.rawValue
        let host = host, port = port
        let token = RatingServer.newOwnerToken()
        let limits = timeouts.limits
        let names = rater, openSignUp = !inviteOnly
        var invited: [RaterSession] = []
        // Raters with ratings from before sessions existed can only come back through a link.
        for name in Set(names).union(try desk.unclaimedRaters()).sorted() {
            do { invited.append(try await desk.invite(name: name)) } catch let rejection as RatingRejection {
                throw ValidationError("--rater '\(name)': \(rejection.message)")
            }
        }
        for session in try desk.invitedRaters() where !invited.contains(where: { $0.rater == session.rater }) { invited.append(session) }
        let links = invited.sorted { $0.rater < $1.rater }
        try await RatingServer.run(desk: desk, host: host, port: port, ownerToken: token, openSignUp: openSignUp, limits: limits) { bound in
            var line = "rating server: http://\(host):\(bound)/ (\(desk.items.count) items, \(mode) mode, \(done) submissions so far\(openSignUp ? "" : ", invited raters only")); "
                + "results, for you only: http://\(host):\(bound)/results?token=\(token)\n"
            for session in links { line += "  link for \(session.rater): http://\(host):\(bound)/join/\(session.token)\n" }
            FileHandle.standardOutput.write(Data(line.utf8))  // unbuffered: scripts wait for this line
        }
    }
}

extension RatingMode: ExpressibleByArgument {}

/// `rlhf rate results`.
struct RateResults: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Per-source mean and standard deviation per scale (or pairwise wins), inter-rater agreement, and the blinding key.")

    @OptionGroup var database: RatingDatabaseOption
    @Flag(help: "Print JSON instead of Markdown.") var json = false
    @Option(help: "Also write the results page (HTML) here.") var html: String?

    func run() throws {
        let results = try RatingResults(desk: database.openDesk())
        if let html { try Data(results.html.utf8).write(to: URL(fileURLWithPath: html), options: .atomic) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            print(results.markdown, terminator: "")
        }
    }
}

/// `rlhf rate export`.
struct RateExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write pairwise labels as preference JSONL ({\"prompt\",\"chosen\",\"rejected\"}) for rlhf reward; ties are left out.")

    @OptionGroup var database: RatingDatabaseOption
    @Option(help: "The preference JSONL file to write.") var pairs: String

    func run() throws {
        let desk = try database.openDesk()
        guard desk.configuration.mode == .pairwise else { throw ValidationError("\(database.db): a \(desk.configuration.mode.rawValue)-mode session has no pairwise labels") }
        let judgments = try desk.store.judgments()
        let exported = RatingExport.preferencePairs(items: desk.items, judgments: judgments)
        try Data(try RatingExport.jsonLines(exported).utf8).write(to: URL(fileURLWithPath: pairs), options: .atomic)
        print("\(pairs): \(exported.count) preference pairs from \(judgments.count) judgments (\(judgments.count - exported.count) ties left out)")
    }
}
