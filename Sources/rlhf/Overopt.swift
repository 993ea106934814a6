// `rlhf overopt`: the over-optimization study of any PPO run.

import Alignment
import ArgumentParser
import Datasets
import Evaluation
import Foundation

/// Measures every checkpoint of a PPO run with the proxy and a gold reward.
struct Overopt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Over-optimization study of a PPO run: proxy and gold reward, KL, separator share and distinct-n per checkpoint.",
        discussion: """
        Every checkpoint under RUN/checkpoints (and final/) and the initial model (step 0) sample the same prompts with
        the run's sampling settings and seed; the proxy is the run's reward unless --proxy is given. Writes
        overopt.csv, overopt.json and overopt.html (charts) into --output (default: the run), e.g.
          rlhf overopt --run runs/ppo --gold lexicon
          rlhf overopt --run runs/ppo --gold classifier:runs/joy/final:1 --prompts test_prompts.jsonl --samples 8
        Keep every checkpoint with keep_checkpoints in the PPO run (pruned ones are missing from the study).
        """)

    @Option(name: .customLong("run"), help: "The PPO run directory.") var runDirectory: String
    @Option(help: "The gold reward: lexicon, model:DIR, classifier:DIR:LABEL, uppercase, regex:PATTERN, http(s)://URL.") var gold: String
    @Option(help: "The proxy reward (default: the run's reward).") var proxy: String?
    @Option(help: "Prompts (default: the run's eval prompts).") var prompts: String?
    @Option(help: "The prompt field or column.") var promptField = "prompt"
    @Option(help: "Samples per prompt.") var samples = 4
    @Option(help: "Where to write the study (default: the run directory).") var output: String?

    func run() throws {
        let promptList = try prompts.map { try PromptSet.read(URL(fileURLWithPath: $0), field: promptField).records }
        let study = try OverOptimizationStudy.run(
            runDirectory: URL(fileURLWithPath: runDirectory), gold: RewardSpecification.make(gold), proxy: proxy.map { try RewardSpecification.make($0) },
            prompts: promptList, samplesPerPrompt: samples,
            progress: { point in
                print(String(format: "step %5d  proxy %8.4f  gold %8.4f  KL %7.3f  separators %.3f  distinct-2 %.3f", point.step ?? 0,
                             point.proxy, point.gold ?? .nan, point.kl, point.separatorRatio, point.distinct2))
                fflush(nil)
            })
        let destination = URL(fileURLWithPath: output ?? runDirectory)
        try study.write(to: destination)
        print(study.summary)
        print(destination.appendingPathComponent("overopt.html").path)
    }
}
