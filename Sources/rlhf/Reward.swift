// `rlhf reward`: train a reward model; `rlhf score`: score texts with one.

import Alignment
import ArgumentParser
import Commands
import Datasets
import Foundation
import Models

/// Trains a reward model into runs/<name>/.
struct Reward: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
        abstract: "Train a reward model: pairwise preferences, labelled texts, or best-of-N labels.",
        discussion: """
        Settings come from defaults, then --config FILE (flat YAML), then --field value overrides, e.g.
          rlhf reward --data hh.jsonl.gz --model runs/sft/final --name hh-rm --max_length 256 --epochs 1
          rlhf reward --data snippets.jsonl --model runs/shakespeare/final --label_rewards '{happy: 1, sad: 0}'
        The data kind comes from the first record: {"prompt","chosen","rejected"} or HH {"chosen","rejected"} (pairwise,
        −log σ(r_chosen − r_rejected − margin)); {"text","label"} (labelled: 2 labels train a scalar logistic head with
        the higher-reward label positive, more labels a K-class head whose reward is Σ p·label_reward); {"query","samples",
        "best"} (best-of-N softmax). Each checkpoint is a transformers *ForSequenceClassification directory with
        reward_model.json (gain, bias, label rewards). normalize: none | before | after | both fits gain and bias so
        that rewards of normalization_samples responses sampled from normalization_policy (default: model) have
        mean 0 and std 1; they are sampled as PPO will sample (normalization_response_length, normalization_temperature,
        normalization_stop_at_eos; defaults 24, 0.7, false as the lm_human_preferences_sentiment preset). The reward
        model trains without dropout (disable_dropout); train_gain_bias trains gain and bias with the head.
        """
        + "\nFields (YAML name; on the command line --name-with-dashes or --name_with_underscores):\n" + ((try? RewardJob.fieldsHelp()) ?? ""))
    }

    @Option(help: "A YAML file of settings.") var config: String?
    @Flag(help: "Continue from the newest checkpoint of the run.") var resume = false
    @Flag(help: "With --resume: accept a configuration that differs from the run's config.yaml (by default only max_steps, iterations, total_episodes and the log/eval/checkpoint intervals may change).") var overrideConfig = false
    @Argument(parsing: .allUnrecognized, help: "--field value overrides.") var overrides: [String] = []

    func run() throws {
        let (job, training, mapping) = try RewardJob.resolve(file: config.map { URL(fileURLWithPath: $0) }, overrides: overrides)
        let line = ProgressLine()
        let (run, resumedFrom, state, _) = try job.run(training: training, mapping: mapping, resume: resume, overrideConfig: overrideConfig,
                                                       report: { print($0); fflush(nil) }, progress: line.show)
        line.finish()
        if let last = try MetricsLog.read(run.metricsURL).last(where: { $0["valid/accuracy"] != nil }),
           let accuracy = last["valid/accuracy"] as? Double {
            print(String(format: "held-out accuracy %.4f at step %d", accuracy, last["step"] as? Int ?? 0))
        }
        print(ProgressLine.summary(state: state, run: run, resumedFrom: resumedFrom))
    }
}

/// Scores each line of a JSONL file with a reward model.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score {\"text\"} or {\"prompt\",\"response\"} lines with a reward model (normalization applied) or a reward function.",
        discussion: """
        Writes each input line's fields plus "score" as JSON Lines, in input order, to --output or stdout, e.g.
          rlhf score --model runs/rm/final --input texts.jsonl
          rlhf score --reward lexicon --input handcrafted_sentiment.jsonl --text-field sample
        """)

    @Option(help: "A reward-model checkpoint directory.") var model: String?
    @Option(help: "A reward function instead of a model: lexicon, uppercase, regex:PATTERN, classifier:DIR:LABEL, http(s)://URL.") var reward: String?
    @Option(help: "A JSONL (or JSON/CSV) file of {\"text\"} or {\"prompt\",\"response\"} records.") var input: String
    @Option(help: "The field holding the whole text.") var textField = "text"
    @Option(help: "Where to write the scored lines (default: stdout).") var output: String?
    @Option(help: "Texts per forward pass.") var batchSize = 16

    func validate() throws {
        guard (model == nil) != (reward == nil) else { throw ValidationError("give exactly one of --model and --reward") }
    }

    func run() throws {
        let records = try RecordFile.read(URL(fileURLWithPath: input)).records
        var prompts: [String] = [], responses: [String] = []
        for record in records {
            if record.has(textField) {
                prompts.append("")
                responses.append(try record.string(textField))
            } else if record.has("prompt") || record.has("response") {
                prompts.append(try record.string("prompt"))
                responses.append(try record.string("response"))
            } else {
                throw record.error("expected {\"\(textField)\"} or {\"prompt\",\"response\"}, found \(RawRecord.describe(keys: record.keys))")
            }
        }
        let scorer: any RewardFunction = try model.map { LearnedReward(model: try RewardModel.load(from: URL(fileURLWithPath: $0)), batchSize: batchSize) }
            ?? RewardSpecification.make(reward ?? "")
        let scores = try scorer.rewards(prompts: prompts, responses: responses)
        var lines = ""
        for (record, score) in zip(records, scores) {
            var object = record.object
            object["score"] = Double(score)
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            lines += String(decoding: data, as: UTF8.self) + "\n"
        }
        if let output {
            try Data(lines.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } else {
            FileHandle.standardOutput.write(Data(lines.utf8))
        }
    }
}
