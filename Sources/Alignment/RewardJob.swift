// The `rlhf reward` job: a flat YAML/command-line configuration; preference pairs, labelled texts
// or best-of-N labels; a reward model on the backbone of any checkpoint; optional normalization
// before and after training.

import Datasets
import Foundation
import Models
import Tensors
import Tokenizers
import Yams

/// What `rlhf reward` needs besides the training hyper-parameters (which share its mapping).
public struct RewardJob: Equatable, Sendable {
    /// The run's name: it writes `<runs_dir>/<name>/`.
    public var name = "reward"
    /// Where runs go.
    public var runsDirectory = "runs"
    /// Pairs `{"prompt","chosen","rejected"}` / HH `{"chosen","rejected"}`, labelled `{"text","label"}`,
    /// or best-of-N `{"query","samples","best"}` (JSONL, JSON, CSV/TSV; gzip allowed).
    public var data = ""
    /// The objective, or `auto` (from the first record's keys).
    public var objective = RewardObjectiveChoice.auto
    /// Count and leave out malformed records instead of stopping at the first.
    public var skipBadRecords = false
    /// The checkpoint whose trunk the reward model starts from (an LM, or a reward model to continue).
    public var model = ""
    /// A tokenizer directory; nil: the model's own.
    public var tokenizer: String?
    /// The policy sampled for normalization; nil: `model`.
    public var normalizationPolicy: String?
    /// Prompts for normalization samples (a prompts file); nil: the data's prompts.
    public var normalizationPrompts: String?
    /// Labelled data: the fields holding the text and the label (e.g. `sample`, `sentiment`).
    public var textField = "text", labelField = "label"
    /// Characters a character tokenizer lacks: `.error` (naming the record), or `.fold` (typographic
    /// quotes to ASCII, diacritics removed, the rest dropped; counted and reported).
    public var unknownCharacters = UnknownCharacterPolicy.error

    /// Defaults: no data or model yet (both are required).
    public init() {}

    /// Job and training settings from defaults, an optional YAML file and `--key value` overrides.
    public static func resolve(file: URL?, overrides: [String]) throws -> (job: RewardJob, training: RewardConfiguration, mapping: Node.Mapping) {
        let defaults = try JobConfiguration.defaults(RewardJob(), RewardConfiguration())
        let mapping = try JobConfiguration.resolve(defaults: defaults.mapping, optionalKeys: defaults.optionalKeys, file: file, overrides: overrides)
        let source = file?.path ?? "command line"
        let job = try JobConfiguration.decode(RewardJob.self, from: mapping, source: source)
        let training = try JobConfiguration.decode(RewardConfiguration.self, from: mapping, source: source)
        guard !job.data.isEmpty else { throw RunError.missingField(name: "data", source: source, expected: "pairs, labelled texts or best-of-N labels") }
        guard !job.model.isEmpty else { throw RunError.missingField(name: "model", source: source, expected: "a checkpoint directory") }
        return (job, training, mapping)
    }

    /// The data as tokenized examples, the objective, and texts usable as normalization prompts.
    /// With `endOfSequence` (a T5 classifier's `</s>`: ``ModelLoader/classifierEndOfSequence(of:)``)
    /// every text's tokens end with it, as ``SequenceClassifier/input(_:limit:)`` builds them.
    public func examples(tokenizer: any Tokenizer, configuration: RewardConfiguration, endOfSequence: Int? = nil) throws
        -> (examples: [RewardExample], objective: RewardObjective, labels: [String]?, prompts: [String], truncated: Int, folded: Int, skipped: Int) {
        let url = URL(fileURLWithPath: data)
        let objective: RewardObjective
        if let named = self.objective.objective {
            objective = named
        } else {
            let raw = try RecordFile.read(url, skipBadRecords: skipBadRecords)
            guard let first = raw.records.first else { throw RunError.emptyData(path: data, problem: "no records in the file") }
            if first.has("samples") && first.has("best") { objective = .bestOfN }
            else if first.has("chosen") && first.has("rejected") { objective = .pairwise }
            else if first.has(labelField) { objective = .labelled }
            else {
                throw first.error("cannot tell the reward data's kind from keys \(RawRecord.describe(keys: first.keys)); expected "
                    + #"{"prompt","chosen","rejected"} or {"chosen","rejected"} (pairs), {"text","label"} (labelled; see text_field, label_field), {"query","samples","best"} (best-of-N), or set objective"#)
            }
        }
        var truncated = 0, folded = 0
        func foldIfAsked(_ text: String) -> String {
            unknownCharacters.apply(text, tokenizer: tokenizer).text
        }
        func encode(_ text: String, record: Int) throws -> [Int32] {
            var text = text
            let result = unknownCharacters.apply(text, tokenizer: tokenizer)
            text = result.text
            if result.changed { folded += 1 }
            let ids: [Int]
            do { ids = try tokenizer.encodeChecked(text) } catch {
                throw RunError.invalidData(path: data, problem: "record \(record): cannot tokenize: \(error) (set unknown_characters: fold to approximate or drop such characters)")
            }
            let body = endOfSequence != nil && ids.last == endOfSequence ? ids.count - 1 : ids.count
            if body + (endOfSequence == nil ? 0 : 1) > configuration.maxLength { truncated += 1 }
            let kept = SequenceClassifier.input(ids, limit: configuration.maxLength, endOfSequence: endOfSequence)
            return kept.isEmpty ? [Int32(tokenizer.endOfTextTokenId ?? 0)] : kept
        }
        switch objective {
        case .pairwise:
            let read = try PreferencePair.read(url, skipBadRecords: skipBadRecords)
            let examples = try read.records.enumerated().map { index, pair in
                RewardExample.pair(chosen: try encode(pair.prompt + pair.chosen, record: index + 1), rejected: try encode(pair.prompt + pair.rejected, record: index + 1))
            }
            return (examples, objective, nil, read.records.map { foldIfAsked($0.prompt) }, truncated, folded, read.skippedCount)
        case .labelled:
            let read = try LabelledText.read(url, textField: textField, labelField: labelField, skipBadRecords: skipBadRecords)
            let labels = LabelledText.labels(in: read.records)
            guard labels.count >= 2 else { throw RunError.invalidData(path: data, problem: "labelled data needs at least 2 labels, found \(labels)") }
            if let map = configuration.labelRewards {
                try LabelRewardMap(map).validate(read.records)
            }
            let ordered = labelOrder(labels, rewards: configuration.labelRewards)
            let index = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
            let examples = try read.records.enumerated().map { index_, record in
                RewardExample.labelled(tokens: try encode(record.text, record: index_ + 1), label: index[record.label]!)
            }
            let prompts = examples.map { example -> String in
                guard case let .labelled(tokens, _) = example else { return "" }
                // The text's own tokens: not the </s> a T5 classifier's inputs end with.
                let text = endOfSequence != nil && tokens.last == Int32(endOfSequence!) ? tokens.dropLast() : tokens[...]
                return tokenizer.decode(text.prefix(configuration.normalizationPromptLength).map(Int.init))
            }
            return (examples, objective, ordered, prompts, truncated, folded, read.skippedCount)
        case .bestOfN:
            let read = try BestOfN.read(url, skipBadRecords: skipBadRecords)
            guard let N = read.records.first?.samples.count, read.records.allSatisfy({ $0.samples.count == N }) else {
                throw RunError.invalidData(path: data, problem: "every best-of-N record must have the same number of samples")
            }
            let examples = try read.records.enumerated().map { index, record in
                RewardExample.bestOf(samples: try record.samples.map { try encode(record.query + $0, record: index + 1) }, best: record.best)
            }
            return (examples, objective, nil, read.records.map { foldIfAsked($0.query) }, truncated, folded, read.skippedCount)
        }
    }

    /// Labels in head order: binary puts the lower-reward label first (index 1 is positive);
    /// without a map, sorted names.
    func labelOrder(_ labels: [String], rewards: [String: Float]?) -> [String] {
        guard let rewards else { return labels }
        return labels.sorted { (rewards[$0] ?? 0, $0) < (rewards[$1] ?? 0, $1) }
    }

    /// Reads the data, builds the reward model, normalizes and trains as configured. `report`
    /// hears progress messages (data counts, normalization results).
    public func run(training: RewardConfiguration, mapping: Node.Mapping, resume: Bool, overrideConfig: Bool = false,
                    report: ((String) -> Void)? = nil,
                    progress: ((TrainingProgress) throws -> Void)? = nil) throws -> (run: RunDirectory, resumedFrom: URL?, state: TrainerState, model: RewardModel) {
        let run = try RunDirectory(root: URL(fileURLWithPath: runsDirectory).appendingPathComponent(name))
        try run.prepareForWriting()  // the lock first: nothing is read from the run before it is ours
        let checkpoint = resume ? run.newestCheckpoint() : nil
        let modelURL = URL(fileURLWithPath: model)
        let tokenizer = try loadTokenizer(from: URL(fileURLWithPath: self.tokenizer ?? model))
        let data = try examples(tokenizer: tokenizer, configuration: training,
                                endOfSequence: try ModelLoader.classifierEndOfSequence(of: checkpoint?.url ?? modelURL))
        report?("data: \(data.examples.count) \(data.objective.rawValue) examples; \(data.truncated) texts truncated to their last \(training.maxLength) tokens"
                + (data.folded > 0 ? "; \(data.folded) texts had unknown characters folded or dropped" : "")
                + (data.skipped > 0 ? "; \(data.skipped) bad records skipped" : ""))
        let reward: RewardModel
        if let checkpoint {
            reward = try RewardModel.load(from: checkpoint.url)
        } else {
            reward = try makeRewardModel(from: modelURL, tokenizer: tokenizer, labels: data.labels, configuration: training)
        }
        try run.recordConfiguration(mapping, resuming: checkpoint != nil, allowingChanges: overrideConfig)
        let times = training.normalize
        func normalize(_ when: String) throws {
            let policyURL = URL(fileURLWithPath: normalizationPolicy ?? model)
            let policy = try ModelLoader.autoregressiveModel(from: policyURL)
            let policyTokenizer = try loadTokenizer(from: policyURL)
            let prompts = try normalizationPrompts.map { try PromptSet.read(URL(fileURLWithPath: $0)).records } ?? data.prompts
            let sampling = training.normalizationSampling
            let (mean, std) = try RewardNormalizer.fit(reward, policy: policy, policyTokenizer: policyTokenizer, prompts: prompts,
                                                       samples: training.normalizationSamples, sampling: sampling, seed: training.seed)
            report?(String(format: "normalization %@ training: %d samples (%d tokens, temperature %.2f, %@), raw mean %.4f std %.4f → gain %.4f bias %.4f",
                           when, training.normalizationSamples, sampling.maxNewTokens, Double(sampling.temperature),
                           sampling.stopAtEndOfSequence ? "stopping at EOS" : "fixed length", mean, std, reward.head.gain, reward.head.bias))
        }
        if times.before && checkpoint == nil { try normalize("before") }
        let trainer = try RewardTrainer(model: reward, examples: data.examples, objective: data.objective, configuration: training,
                                        run: run, dataName: self.data)
        let state = try trainer.train(resume: checkpoint != nil, progress: progress)
        if times.after {
            try normalize("after")
            try reward.saveHead(in: run.finalURL)
            report?("the normalized head is in \(run.finalURL.path); checkpoints/step-N keep the head they were trained with")
        }
        return (run, checkpoint?.url, state, reward)
    }

    /// A reward model on the trunk of the checkpoint at `url`: an existing reward model is
    /// continued; a causal LM gets a new head (scalar, or K outputs for K > 2 labels).
    func makeRewardModel(from url: URL, tokenizer: any Tokenizer, labels: [String]?, configuration: RewardConfiguration) throws -> RewardModel {
        let positions = try ModelLoader.configuration(of: url).positions
        guard configuration.maxLength >= 1, configuration.maxLength <= positions else {
            throw RunError.invalidSetting(field: "max_length", source: "config", problem: "is \(configuration.maxLength); it must be in 1...\(positions) (n_positions)")
        }
        let outputs = (labels?.count ?? 0) > 2 ? labels!.count : 1
        let labelRewards: [Float]? = outputs > 1 ? labels!.enumerated().map { index, label in
            configuration.labelRewards?[label] ?? (index == labels!.count - 1 ? 1 : 0)
        } : nil
        let head = RewardHead(maxLength: configuration.maxLength, labels: labels, labelRewards: labelRewards)
        if FileManager.default.fileExists(atPath: url.appendingPathComponent(RewardHead.fileName).path) {
            let existing = try RewardModel.load(from: url)
            guard existing.classifier.score.weight.shape[0] == outputs else {
                throw RunError.unsuitableModel(path: url.path, problem: "this reward model has \(existing.classifier.score.weight.shape[0]) outputs; the data needs \(outputs)")
            }
            existing.head.maxLength = configuration.maxLength
            existing.classifier.setTraining(true)
            return RewardModel(classifier: existing.classifier, tokenizer: tokenizer, head: existing.head)
        }
        let (trunk, source) = try ModelLoader.classifierTrunk(from: url)
        let classifier = SequenceClassifier(trunk: trunk, source: source, labels: outputs, seed: configuration.seed)
        return RewardModel(classifier: classifier, tokenizer: tokenizer, head: head)
    }
}

/// The id of `text` when it is exactly one token of `tokenizer` (nil for nil text).
func endOfSequenceFromText(_ text: String?, tokenizer: any Tokenizer) throws -> Int? {
    guard let text else { return nil }
    let ids = try tokenizer.encodeChecked(text)
    guard ids.count == 1 else { throw RunError.invalidSetting(field: "eos_token", source: "config", problem: "'\(text)' is \(ids.count) tokens; it must be exactly one") }
    return ids[0]
}

extension RewardJob: FieldListSettings {
    public static var fields: [SettingField<RewardJob>] { [
        .field("name", \.name, "The run's name: it writes <runs_dir>/<name>/."),
        .field("runs_dir", \.runsDirectory, "Where runs go."),
        .field("data", \.data, "Pairs, labelled texts {text, label} or best-of-N {query, samples, best} (JSONL, JSON, CSV/TSV; gzip allowed)."),
        .choice("objective", \.objective, "The training objective; auto: from the first record's keys."),
        .field("skip_bad_records", \.skipBadRecords, "Count and leave out malformed records instead of stopping at the first."),
        .field("model", \.model, "The checkpoint whose trunk the reward model starts from (an LM, or a reward model to continue)."),
        .optional("tokenizer", \.tokenizer, "A tokenizer directory; null: the model's own.", type: "text"),
        .optional("normalization_policy", \.normalizationPolicy, "The policy sampled for normalization; null: model.", type: "text"),
        .optional("normalization_prompts", \.normalizationPrompts, "A prompts file for normalization samples; null: the data's prompts.", type: "text"),
        .field("text_field", \.textField, "Labelled data: the field holding the text."),
        .field("label_field", \.labelField, "Labelled data: the field holding the label."),
        .choice("unknown_characters", \.unknownCharacters, "Characters a character tokenizer lacks: an error naming the record, or folded."),
    ] }

    /// `rlhf reward --help`'s field list, generated from the settings and their defaults.
    public static func fieldsHelp() throws -> String {
        let defaults = try JobConfiguration.defaults(RewardJob(), RewardConfiguration())
        return JobConfiguration.helpText(defaults.help, defaults: defaults.mapping)
    }
}
