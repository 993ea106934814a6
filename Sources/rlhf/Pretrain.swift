// `rlhf pretrain`: train a causal LM from scratch or from a checkpoint on a text corpus.

import Alignment
import ArgumentParser
import Commands
import Foundation

/// Pretrains a causal LM (a new one of `model_type`, or `init_from`) on a text file into runs/<name>/.
struct Pretrain: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
        abstract: "Pretrain a causal LM (GPT-2 by default) on a text corpus (character, trained BPE, or given tokenizer).",
        discussion: """
        Settings come from defaults, then --config FILE (flat YAML), then --field value overrides, e.g.
          rlhf pretrain --corpus input.txt --name shakespeare --max_steps 2000 --block_size 256 --learning_rate 1e-3
        The resolved settings are written to runs/<name>/config.yaml.
        """
        + "\nFields (YAML name; on the command line --name-with-dashes or --name_with_underscores):\n" + ((try? PretrainJob.fieldsHelp()) ?? ""))
    }

    @Option(help: "A YAML file of settings.") var config: String?
    @Flag(help: "Continue from the newest checkpoint of the run.") var resume = false
    @Flag(help: "With --resume: accept a configuration that differs from the run's config.yaml (by default only max_steps, iterations, total_episodes and the log/eval/checkpoint intervals may change).") var overrideConfig = false
    @Argument(parsing: .allUnrecognized, help: "--field value overrides.") var overrides: [String] = []

    func run() throws {
        let (job, training, mapping) = try PretrainJob.resolve(file: config.map { URL(fileURLWithPath: $0) }, overrides: overrides)
        let line = ProgressLine()
        let (run, resumedFrom, state) = try job.run(training: training, mapping: mapping, resume: resume, overrideConfig: overrideConfig, progress: line.show)
        line.finish()
        print(ProgressLine.summary(state: state, run: run, resumedFrom: resumedFrom))
    }
}
