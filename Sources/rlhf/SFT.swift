// `rlhf sft`: supervised fine-tuning with the loss on response tokens only.

import Alignment
import ArgumentParser
import Commands
import Foundation

/// Fine-tunes a checkpoint (causal, or encoder-decoder: prompt → source, completion → target) on an SFT file into runs/<name>/.
struct SFT: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning on prompt/response data; loss on response tokens (and end-of-sequence) only.",
        discussion: """
        Settings come from defaults, then --config FILE (flat YAML), then --field value overrides, e.g.
          rlhf sft --data hh.jsonl.gz --model runs/base/final --name hh-sft --max_length 256 --epochs 2
        Record shapes (detected from the first record, or set with --shape): promptCompletion {"prompt","completion"};
        messages {"messages":[{"role","content"}]} rendered as <|role|>\\ncontent\\n with the prompt ending in
        <|assistant|>\\n; anthropicHH {"chosen"} split at the last "\\n\\nAssistant:"; alpaca {"instruction","input","output"}
        with the Alpaca prompt template. The end-of-sequence token is appended to every response. A prompt too long for
        max_length loses tokens from its start (counted and reported); a response that does not fit is an error unless
        long_responses is truncate or skip.
        """
        + "\nFields (YAML name; on the command line --name-with-dashes or --name_with_underscores):\n" + ((try? SFTJob.fieldsHelp()) ?? ""))
    }

    @Option(help: "A YAML file of settings.") var config: String?
    @Flag(help: "Continue from the newest checkpoint of the run.") var resume = false
    @Flag(help: "With --resume: accept a configuration that differs from the run's config.yaml (by default only max_steps, iterations, total_episodes and the log/eval/checkpoint intervals may change).") var overrideConfig = false
    @Argument(parsing: .allUnrecognized, help: "--field value overrides.") var overrides: [String] = []

    func run() throws {
        let (job, training, mapping) = try SFTJob.resolve(file: config.map { URL(fileURLWithPath: $0) }, overrides: overrides)
        let line = ProgressLine()
        let (run, resumedFrom, state) = try job.run(training: training, mapping: mapping, resume: resume, overrideConfig: overrideConfig,
                                                    prepared: { print("data: \($0.summary)"); fflush(nil) }, progress: line.show)
        line.finish()
        print(ProgressLine.summary(state: state, run: run, resumedFrom: resumedFrom))
    }
}
