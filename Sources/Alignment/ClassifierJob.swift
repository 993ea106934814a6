// The `rlhf classifier train` job: a flat YAML/command-line configuration; labelled text (records
// or GoEmotions' TSV); an encoder classifier on any BERT/RoBERTa checkpoint; test-set metrics.

import Datasets
import Foundation
import Models
import Tokenizers
import Yams

/// What `rlhf classifier train` needs besides the training hyper-parameters (which share its mapping).
public struct ClassifierJob: Equatable, Sendable {
    /// The run's name: it writes `<runs_dir>/<name>/`.
    public var name = "classifier"
    /// Where runs go.
    public var runsDirectory = "runs"
    /// Training data: records `{"text","label"}` / `{"text","labels":[…]}` (JSONL, JSON, CSV/TSV
    /// with a header; gzip allowed) or GoEmotions' headerless TSV.
    public var data = ""
    /// Held-out data in the same shapes; nil: `valid_fraction` of `data`.
    public var validData: String?
    /// Test data, scored once after training (test_metrics.json); nil: none.
    public var testData: String?
    /// Label names, one per line: the head's order, and the names GoEmotions' ids index. nil: for
    /// GoEmotions, emotions.txt beside the data; otherwise the data's labels, sorted.
    public var labelsFile: String?
    /// Record fields holding the text and the label(s).
    public var textField = "text", labelField = "label"
    /// `.auto` (multi-label when a text has several labels, or for GoEmotions), `.singleLabel`
    /// or `.multiLabel`.
    public var problemType = ClassifierProblemType.auto
    /// The starting checkpoint: a bare encoder (e.g. MiniLM) or a classifier (its head is kept when
    /// its labels are the data's, replaced otherwise).
    public var model = ""
    /// Use only the first this many training examples (nil: all).
    public var maxExamples: Int?
    /// Count and leave out malformed records instead of stopping at the first.
    public var skipBadRecords = false

    /// Defaults: no data or model yet (both are required).
    public init() {}

    /// Job and training settings from defaults, an optional YAML file and `--key value` overrides.
    public static func resolve(file: URL?, overrides: [String]) throws -> (job: ClassifierJob, training: ClassifierConfiguration, mapping: Node.Mapping) {
        let defaults = try JobConfiguration.defaults(ClassifierJob(), ClassifierConfiguration())
        let mapping = try JobConfiguration.resolve(defaults: defaults.mapping, optionalKeys: defaults.optionalKeys, file: file, overrides: overrides)
        let source = file?.path ?? "command line"
        let job = try JobConfiguration.decode(ClassifierJob.self, from: mapping, source: source)
        let training = try JobConfiguration.decode(ClassifierConfiguration.self, from: mapping, source: source)
        guard !job.data.isEmpty else { throw RunError.missingField(name: "data", source: source, expected: "labelled texts") }
        guard !job.model.isEmpty else { throw RunError.missingField(name: "model", source: source, expected: "an encoder or classifier checkpoint directory") }
        guard training.maxLength >= 3 else { throw RunError.invalidSetting(field: "max_length", source: source, problem: "is \(training.maxLength); it must be at least 3") }
        guard training.threshold > 0 && training.threshold < 1 else { throw RunError.invalidSetting(field: "threshold", source: source, problem: "must be in (0, 1), got \(training.threshold)") }
        if let maxExamples = job.maxExamples, maxExamples < 1 { throw RunError.invalidSetting(field: "max_examples", source: source, problem: "must be at least 1, got \(maxExamples)") }
        return (job, training, mapping)
    }

    /// Reads one data file: GoEmotions' TSV (with `names`) or records.
    func read(_ path: String, names: [String]?) throws -> (texts: [ClassificationText], goEmotions: Bool, skipped: Int) {
        let url = URL(fileURLWithPath: path)
        if let text = ClassificationText.goEmotionsText(url) {
            guard let names = try names ?? goEmotionsNames(beside: url) else {
                throw RunError.invalidData(path: path, problem: "GoEmotions TSV label ids need names: set labels_file (emotions.txt)")
            }
            return (try ClassificationText.parseGoEmotions(text, path: path, names: names), true, 0)
        }
        let report = try ClassificationText.readRecords(url, textField: textField, labelField: labelField, skipBadRecords: skipBadRecords)
        return (report.records, false, report.skipped.count)
    }

    /// The texts of a labelled file (records with this job's fields, or GoEmotions TSV whose ids
    /// `names` name; nil: emotions.txt beside the file).
    public func examplesForEvaluation(_ path: String, names: [String]?) throws -> [ClassificationText] {
        try read(path, names: names).texts
    }

    /// emotions.txt beside a GoEmotions file, when present.
    func goEmotionsNames(beside url: URL) throws -> [String]? {
        let names = url.deletingLastPathComponent().appendingPathComponent("emotions.txt")
        return FileManager.default.fileExists(atPath: names.path) ? try ClassificationText.readNames(names) : nil
    }

    /// Reads the data, builds (or continues) the classifier, trains, and scores the test data.
    /// `report` hears progress messages; the result carries the test metrics when there are test data.
    public func run(training: ClassifierConfiguration, mapping: Node.Mapping, resume: Bool, overrideConfig: Bool = false,
                    report: ((String) -> Void)? = nil, progress: ((TrainingProgress) throws -> Void)? = nil)
        throws -> (run: RunDirectory, resumedFrom: URL?, state: TrainerState, classifier: TextClassifier, test: ClassificationMetrics?) {
        let run = try RunDirectory(root: URL(fileURLWithPath: runsDirectory).appendingPathComponent(name))
        try run.prepareForWriting()  // the lock first: nothing is read from the run before it is ours
        let checkpoint = resume ? run.newestCheckpoint() : nil
        var names = try labelsFile.map { try ClassificationText.readNames(URL(fileURLWithPath: $0)) }
        var (texts, goEmotions, skipped) = try read(data, names: names)
        if names == nil, goEmotions { names = try goEmotionsNames(beside: URL(fileURLWithPath: data)) }
        if let maxExamples { texts = Array(texts.prefix(maxExamples)) }
        let valid = try validData.map { try read($0, names: names) }
        let test = try testData.map { try read($0, names: names) }
        let found = Set(texts.flatMap(\.labels))
        // Integer labels in numeric order (so that "10" follows "9"), others alphabetically.
        var labels = names ?? found.sorted { a, b in
            if let x = Int(a), let y = Int(b) { return x < y }
            return a < b
        }
        guard labels.count >= 2 || (problemType == .multiLabel && !labels.isEmpty) else {
            throw RunError.invalidData(path: data, problem: "a classifier needs at least 2 labels, found \(labels)")
        }
        let multi: Bool
        switch problemType {
        case .auto: multi = goEmotions || texts.contains { $0.labels.count > 1 }
        case .singleLabel: multi = false
        case .multiLabel: multi = true
        }
        let kind = multi ? "multi_label_classification" : "single_label_classification"

        let modelURL = URL(fileURLWithPath: model)
        let configuration = try EncoderConfiguration.load(from: modelURL.appendingPathComponent("config.json"))
        let encoder: any EncoderClassifier
        var reusedHead = false
        // A classifier with these labels (in any order; transformers' default problem type is
        // single-label) keeps its head, and its label order.
        if let existing = configuration.labels, Set(existing) == Set(labels), existing.count == labels.count,
           (configuration.problemType ?? "single_label_classification") == kind {
            encoder = try ModelLoader.encoderClassifier(from: modelURL)
            encoder.setTraining(true)
            labels = existing
            reusedHead = true
        } else {
            encoder = try makeEncoderClassifier(fromEncoder: modelURL, labels: labels, problemType: kind, seed: training.seed)
        }
        let classifier = try TextClassifier(model: encoder, tokenizer: try loadTokenizer(from: modelURL),
                                            maxLength: min(training.maxLength, encoder.configuration.maxTokens), path: model)
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var truncated = 0
        func examples(_ texts: [ClassificationText], file: String) throws -> [ClassifierExample] {
            try texts.enumerated().map { number, text in
                let ids = try classifier.tokenizer.encodeChecked(text.text)
                if ids.count > classifier.maxLength - 2 { truncated += 1 }
                let labelIds = try text.labels.map { label -> Int in
                    guard let id = index[label] else {
                        throw RunError.invalidData(path: file, problem: "example \(number + 1) has label '\(label)', which is not one of the \(labels.count) labels (\(labels.prefix(8).joined(separator: ", "))\(labels.count > 8 ? ", …" : ""))")
                    }
                    return id
                }
                return ClassifierExample(tokens: try classifier.encode(text.text), labels: labelIds)
            }
        }
        let trainExamples = try examples(texts, file: data)
        if !reusedHead {
            var counts = [Int](repeating: 0, count: labels.count)
            for example in trainExamples { for label in example.labels { counts[label] += 1 } }
            encoder.initializeOutputBias(counts: counts, total: trainExamples.count)
        }
        let validExamples = try valid.map { try examples($0.texts, file: validData!) }
        let testExamples = try test.map { try examples($0.texts, file: testData!) }
        report?("data: \(trainExamples.count) training texts\(validExamples.map { ", \($0.count) validation" } ?? "")\(testExamples.map { ", \($0.count) test" } ?? ""); "
                + "\(labels.count) labels, \(multi ? "multi-label (sigmoid, binary cross-entropy)" : "single-label (softmax)"); "
                + "\(truncated) texts truncated to \(classifier.maxLength) tokens" + (skipped > 0 ? "; \(skipped) bad records skipped" : ""))
        try run.recordConfiguration(mapping, resuming: checkpoint != nil, allowingChanges: overrideConfig)
        let trainer = try ClassifierTrainer(classifier: classifier, examples: trainExamples, valid: validExamples,
                                            configuration: training, run: run, dataName: data)
        let state = try trainer.train(resume: checkpoint != nil, progress: progress)
        var testMetrics: ClassificationMetrics?
        if let testExamples {
            let (metrics, details) = trainer.evaluate(testExamples, prefix: "test")
            testMetrics = details
            var object = details?.report ?? [:]
            object["loss"] = metrics["test/loss"]
            object["step"] = state.step
            object["data"] = testData
            let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try json.write(to: run.root.appendingPathComponent("test_metrics.json"), options: .atomic)
        }
        return (run, checkpoint?.url, state, classifier, testMetrics)
    }
}

extension ClassifierJob: FieldListSettings {
    public static var fields: [SettingField<ClassifierJob>] { [
        .field("name", \.name, "The run's name: it writes <runs_dir>/<name>/."),
        .field("runs_dir", \.runsDirectory, "Where runs go."),
        .field("data", \.data, "Labelled texts {text, label} / {text, labels: […]} (JSONL, JSON, CSV/TSV; gzip allowed) or GoEmotions' TSV."),
        .optional("valid_data", \.validData, "Held-out data in the same shapes; null: valid_fraction of data.", type: "text"),
        .optional("test_data", \.testData, "Test data, scored once after training (test_metrics.json); null: none.", type: "text"),
        .optional("labels_file", \.labelsFile, "Label names, one per line; null: GoEmotions' emotions.txt beside the data, or the data's labels sorted.", type: "text"),
        .field("text_field", \.textField, "The record field holding the text."),
        .field("label_field", \.labelField, "The record field holding the label(s)."),
        .choice("problem_type", \.problemType, "One label per text (softmax) or any number (sigmoid); auto: from the data."),
        .field("model", \.model, "The starting checkpoint: a bare encoder (MiniLM) or a classifier."),
        .optional("max_examples", \.maxExamples, "Use only the first this many training examples; null: all.", type: "integer"),
        .field("skip_bad_records", \.skipBadRecords, "Count and leave out malformed records instead of stopping at the first."),
    ] }

    /// `rlhf classifier train --help`'s field list, generated from the settings and their defaults.
    public static func fieldsHelp() throws -> String {
        let defaults = try JobConfiguration.defaults(ClassifierJob(), ClassifierConfiguration())
        return JobConfiguration.helpText(defaults.help, defaults: defaults.mapping)
    }
}
