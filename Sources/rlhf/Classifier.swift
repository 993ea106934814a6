// `rlhf classifier train|eval|predict`: fine-tune BERT/MiniLM/RoBERTa classifiers, score them on
// labelled data, and print label probabilities.

import Alignment
import ArgumentParser
import Commands
import Datasets
import Foundation
import Models

/// Classifier commands.
struct ClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier", abstract: "Train and use text classifiers on BERT-family encoders (BERT, MiniLM, RoBERTa).",
        subcommands: [Train.self, Evaluate.self, Predict.self])

    /// `rlhf classifier train --data train.tsv --model minilm --name goemotions`.
    struct Train: ParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(
            abstract: "Fine-tune a sequence classifier (single-label softmax or multi-label sigmoid) into runs/<name>/.",
            discussion: """
            Settings come from defaults, then --config FILE (flat YAML), then --field value overrides, e.g.
              rlhf classifier train --data goemotions/train.tsv --valid_data goemotions/dev.tsv --test_data goemotions/test.tsv \\
                --model minilm --name goemotions --max_length 64 --batch_size 32 --epochs 1
            Data: records {"text","label"} or {"text","labels":[...]} (JSONL, JSON, CSV/TSV with a header), or GoEmotions'
            headerless TSV (text, comma-separated label ids, id) with emotions.txt beside it or labels_file. model is a
            bare encoder (BertModel/RobertaModel weights, e.g. sentence-transformers' all-MiniLM-L6-v2) or a classifier;
            a new head (BertForSequenceClassification / RobertaForSequenceClassification) is made unless the checkpoint's
            labels are the data's. Checkpoints are transformers directories with the tokenizer; metrics.jsonl has
            valid/loss, valid/accuracy, valid/macro_f1 and valid/f1/<label>; test data are scored into test_metrics.json.
            """
            + "\nFields (YAML name; on the command line --name-with-dashes or --name_with_underscores):\n" + ((try? ClassifierJob.fieldsHelp()) ?? ""))
        }

        @Option(help: "A YAML file of settings.") var config: String?
        @Flag(help: "Continue from the newest checkpoint of the run.") var resume = false
        @Flag(help: "With --resume: accept a configuration that differs from the run's config.yaml (by default only max_steps, iterations, total_episodes and the log/eval/checkpoint intervals may change).") var overrideConfig = false
        @Argument(parsing: .allUnrecognized, help: "--field value overrides.") var overrides: [String] = []

        func run() throws {
            let (job, training, mapping) = try ClassifierJob.resolve(file: config.map { URL(fileURLWithPath: $0) }, overrides: overrides)
            let line = ProgressLine()
            let result = try job.run(training: training, mapping: mapping, resume: resume, overrideConfig: overrideConfig,
                                     report: { print($0); fflush(nil) }, progress: line.show)
            line.finish()
            if let last = try MetricsLog.read(result.run.metricsURL).last(where: { $0["valid/macro_f1"] != nil }) {
                print(String(format: "validation: accuracy %.4f, macro-F1 %.4f at step %d", last["valid/accuracy"] as? Double ?? 0,
                             last["valid/macro_f1"] as? Double ?? 0, last["step"] as? Int ?? 0))
            }
            if let test = result.test {
                print(String(format: "test: accuracy %.4f, macro-F1 %.4f (%@)", test.accuracy, test.macroF1,
                             result.run.root.appendingPathComponent("test_metrics.json").path))
            }
            print(ProgressLine.summary(state: result.state, run: result.run, resumedFrom: result.resumedFrom))
        }
    }

    /// `rlhf classifier eval --model DIR --data test.tsv`.
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval", abstract: "Accuracy, macro-F1 and per-label precision/recall/F1 of a classifier on labelled data (JSON).")

        @Option(help: "A classifier checkpoint directory.") var model: String
        @Option(help: "Labelled data (records or GoEmotions TSV).") var data: String
        @Option(help: "Label names for GoEmotions ids (default: emotions.txt beside the data).") var labelsFile: String?
        @Option(help: "The record field holding the text.") var textField = "text"
        @Option(help: "The record field holding the label(s).") var labelField = "label"
        @Option(help: "Multi-label decision threshold.") var threshold: Float = 0.5
        @Option(help: "Longest input in tokens.") var maxLength: Int?
        @Option(help: "Texts per forward pass.") var batchSize = 32

        func run() throws {
            let classifier = try TextClassifier.load(from: URL(fileURLWithPath: model), maxLength: maxLength)
            var job = ClassifierJob()
            job.textField = textField
            job.labelField = labelField
            let names = try labelsFile.map { try ClassificationText.readNames(URL(fileURLWithPath: $0)) }
            let texts = try job.examplesForEvaluation(data, names: names)
            let targets = try texts.enumerated().map { number, text in
                try text.labels.map { label -> Int in
                    guard let index = classifier.labelIndex(label) else {
                        throw RunError.invalidData(path: data, problem: "example \(number + 1) has label '\(label)', which the classifier does not have")
                    }
                    return index
                }
            }
            let probabilities = try classifier.probabilities(texts.map(\.text), batchSize: batchSize)
            let metrics = ClassificationMetrics(probabilities: probabilities, targets: targets, labels: classifier.labels,
                                                multiLabel: classifier.usesSigmoid, threshold: threshold)
            var report = metrics.report
            report["examples"] = texts.count
            let json = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: json, as: UTF8.self))
        }
    }

    /// `rlhf classifier predict --model DIR "I'm so happy"`.
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each text's label probabilities (JSON Lines), highest first.")

        @Option(help: "A classifier checkpoint directory.") var model: String
        @Option(help: "Labels to print per text (0: all).") var top = 5
        @Argument(help: "Texts to classify.") var texts: [String]

        func run() throws {
            let classifier = try TextClassifier.load(from: URL(fileURLWithPath: model))
            for (text, row) in zip(texts, try classifier.probabilities(texts)) {
                let ranked = row.indices.sorted { row[$0] > row[$1] }.prefix(top > 0 ? top : row.count)
                let object: [String: Any] = ["text": text, "labels": ranked.map { ["label": classifier.labels[$0], "probability": Double(row[$0])] }]
                let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: json, as: UTF8.self))
            }
        }
    }
}
