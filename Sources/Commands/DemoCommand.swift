// `rlhf demo` (and `rlhf-demo`): the whole of RLHF on Shakespeare in one command (see Pipelines/Demo.swift).

import Alignment
import ArgumentParser
import Datasets
import Evaluation
import Foundation
import Pipelines

/// The demo's options, shared by `rlhf demo` and `rlhf-demo`.
public struct DemoOptions: ParsableArguments {
    @Option(help: "A plain-text corpus (default: tinyshakespeare, built into the tool: no network needed).") public var corpus: String?
    @Option(help: "Real labels instead of the simulated rater: preference pairs or labelled text (JSONL).") public var labels: String?
    @Option(help: "In labelled text, the label that means positive.") public var positiveLabel = "happy"
    @Option(help: "Where the runs, data and report go.") public var output = "runs/demo"
    @Flag(help: "The smoke-test budget (about 3 minutes).") public var quick = false
    @Flag(help: "Delete OUTPUT first instead of reusing finished stages.") public var fresh = false
    @Option(help: "The seed of every stage.") public var seed: UInt64 = 1
    @Option(help: "Merges of the BPE tokenizer pretrained with the model.") public var bpeMerges: Int?
    @Option(help: "Pretraining steps.") public var pretrainSteps: Int?
    @Option(help: "PPO iterations.") public var ppoIterations: Int?
    @Option(help: "PPO's KL coefficient β (fixed).") public var klCoefficient: Float?
    @Option(help: "PPO's learning rate.") public var ppoLearningRate: Float?

    /// The defaults (ArgumentParser fills the options in).
    public init() {}

    public func validate() throws {
        for (name, value) in [("--bpe-merges", bpeMerges), ("--pretrain-steps", pretrainSteps), ("--ppo-iterations", ppoIterations)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1, got \(value)") }
        }
        if let bpeMerges, bpeMerges > 50_000 { throw ValidationError("--bpe-merges must be at most 50000, got \(bpeMerges)") }
        if let klCoefficient, !(klCoefficient >= 0 && klCoefficient.isFinite) { throw ValidationError("--kl-coefficient must be a number ≥ 0, got \(klCoefficient)") }
        if let ppoLearningRate, !(ppoLearningRate > 0 && ppoLearningRate.isFinite) { throw ValidationError("--ppo-learning-rate must be a number > 0, got \(ppoLearningRate)") }
    }

    public func run() throws {
        let started = Date()
        let directory = URL(fileURLWithPath: output)
        if fresh { try? FileManager.default.removeItem(at: directory) }
        let corpusURL: URL
        if let corpus {
            corpusURL = URL(fileURLWithPath: corpus)
        } else {
            corpusURL = try TinyShakespeare.write(into: directory)
        }
        var settings = DemoSettings(corpus: corpusURL, directory: directory, quick: quick)
        settings.labels = labels.map { URL(fileURLWithPath: $0) }
        settings.positiveLabel = positiveLabel
        settings.seed = seed
        if let bpeMerges { settings.bpeMerges = bpeMerges }
        if let pretrainSteps { settings.pretrainSteps = pretrainSteps }
        if let ppoIterations { settings.ppoIterations = ppoIterations }
        if let klCoefficient { settings.klCoefficient = klCoefficient }
        if let ppoLearningRate { settings.ppoLearningRate = ppoLearningRate }
        let line = ProgressLine()
        let terminal = isatty(2) != 0
        let demo = Demo(settings: settings, log: { message in
            line.finish()
            print(String(format: "%5.0fs  ", Date().timeIntervalSince(started)) + message)
            fflush(nil)
        }, trainingProgress: line.show, ppoProgress: { progress in
            let text = String(format: "iteration %d/%d  score %.4f  kl %.4f  %.1f s/it", progress.iteration, progress.iterations,
                              progress.score, progress.kl, progress.seconds)
            FileHandle.standardError.write(Data(((terminal ? "\r" : "") + text + (terminal ? " " : "\n")).utf8))
        })
        let result = try demo.run()
        line.finish()
        let seconds = Date().timeIntervalSince(started)
        print("")
        print(String(format: "demo finished in %dm%02ds", Int(seconds) / 60, Int(seconds) % 60))
        print("policy       proxy    gold     KL  real words")
        for (m, share) in zip(result.measurements, result.realWordShares) {
            // (`%-10@` does not pad on Linux: the name is padded by hand.)
            print(m.name.padding(toLength: max(10, m.name.count), withPad: " ", startingAt: 0)
                  + String(format: " %7.3f %7.3f %6.2f %11.3f", m.proxy, m.gold ?? .nan, m.kl, share))
        }
        print(result.study.summary)
        print("report: \(result.report.path)")
    }
}

/// The command line's description of the demo.
func demoConfiguration(name: String) -> CommandConfiguration {
    CommandConfiguration(
        commandName: name,
        abstract: "RLHF end to end on Shakespeare: pretrain, simulated preferences, reward model, PPO, DPO, evaluation, report.",
        discussion: """
        1. pretrains a 4-layer model with its own BPE tokenizer on the corpus (tinyshakespeare, built in; or --corpus);
        2. samples continuations of corpus prompts and lets a simulated rater — the stand-in for human raters, scoring
           positivity (a word lexicon) times sense (real words × fluency to the pretrained model) — pick the better and
           worse of each prompt's samples (or uses --labels: preference pairs, or labelled text such as
           handcrafted_sentiment.jsonl);
        3. trains a reward model (the proxy) on those preferences;
        4. runs PPO against the proxy with a KL penalty, checkpointing every few iterations;
        5. runs DPO from the pretrained model on the same pairs;
        6. compares pretrained / PPO / DPO on proxy score, gold score and KL, and measures every PPO checkpoint
           (the over-optimization study);
        7. writes report.html. About 10 minutes on 2 cores; --quick about 3.
        Each stage is a run under OUTPUT/runs/ made by the same job as rlhf pretrain/reward/ppo/dpo; a stage whose
        final/ exists is not run again (--fresh starts over).
        """)
}

/// `rlhf demo`: runs the embedded Shakespeare demo end to end.
public struct DemoCommand: ParsableCommand {
    public static let configuration = demoConfiguration(name: "demo")
    @OptionGroup public var options: DemoOptions

    /// The command (ArgumentParser fills the options in).
    public init() {}

    public func run() throws { try options.run() }
}

/// `rlhf-demo`: the same command as an executable of its own.
public struct StandaloneDemoCommand: ParsableCommand {
    public static let configuration = demoConfiguration(name: "rlhf-demo")
    @OptionGroup public var options: DemoOptions

    /// The command (ArgumentParser fills the options in).
    public init() {}

    public func run() throws { try options.run() }
}
