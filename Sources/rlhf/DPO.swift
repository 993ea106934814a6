// `rlhf dpo`: direct preference optimisation (DPO, IPO, conservative DPO) on preference pairs.

import Alignment
import ArgumentParser
import Commands
import Foundation

/// Trains a policy with DPO into runs/<name>/.
struct DPO: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
        commandName: "dpo",
        abstract: "Direct preference optimisation on {prompt, chosen, rejected} or HH pairs (sigmoid, IPO, conservative).",
        discussion: """
        Settings come from defaults (TRL's DPOConfig), then --config FILE, then --field value overrides, e.g.
          rlhf dpo --data pairs.jsonl --model runs/sft/final --name dpo --beta 0.1 --learning_rate 5e-5 --epochs 2
        The sequence log-prob is the sum over response tokens (prompt masked; IPO: the mean); reference log-probs are
        computed once before training (reference_free: true uses 0). Metrics: rewards/chosen, rewards/rejected,
        rewards/accuracies, rewards/margins, logps/chosen, logps/rejected, loss (TRL's names).
        """
        + "\nFields (YAML name; on the command line --name-with-dashes or --name_with_underscores):\n" + ((try? DPOJob.fieldsHelp()) ?? ""))
    }

    @Option(help: "A YAML file of settings.") var config: String?
    @Flag(help: "Continue from the newest checkpoint of the run.") var resume = false
    @Flag(help: "With --resume: accept a configuration that differs from the run's config.yaml (by default only max_steps, iterations, total_episodes and the log/eval/checkpoint intervals may change).") var overrideConfig = false
    @Argument(parsing: .allUnrecognized, help: "--field value overrides.") var overrides: [String] = []

    func run() throws {
        let (job, training, mapping) = try DPOJob.resolve(file: config.map { URL(fileURLWithPath: $0) }, overrides: overrides)
        let line = ProgressLine()
        let (run, resumedFrom, state) = try job.run(training: training, mapping: mapping, resume: resume, overrideConfig: overrideConfig,
                                                    report: { print($0); fflush(nil) }, progress: line.show)
        line.finish()
        print(ProgressLine.summary(state: state, run: run, resumedFrom: resumedFrom))
    }
}
