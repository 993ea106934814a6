// The `rlhf sft` job: a flat YAML/command-line configuration, the data file in any SFT record
// shape, the model and tokenizer it names, and the run.

import Datasets
import Foundation
import Models
import Tensors
import Tokenizers
import Yams

/// What `rlhf sft` needs besides the training hyper-parameters (which share its mapping).
public struct SFTJob: Equatable, Sendable {
    /// The run's name: it writes `<runs_dir>/<name>/`.
    public var name = "sft"
    /// Where runs go.
    public var runsDirectory = "runs"
    /// The SFT file: JSONL, JSON array or CSV/TSV (gzip allowed), any shape of DESIGN.md.
    public var data = ""
    /// The record shape (promptCompletion, messages, anthropicHH, alpaca); nil: detected from the first record.
    public var shape: SFTRecordShape?
    /// Count and leave out malformed records instead of stopping at the first.
    public var skipBadRecords = false
    /// The checkpoint directory to fine-tune.
    public var model = ""
    /// A tokenizer directory; nil: the model's own.
    public var tokenizer: String?
    /// Characters a character tokenizer lacks: `.error` (naming the line) or `.fold` (approximated or dropped).
    public var unknownCharacters = UnknownCharacterPolicy.error
    /// The end-of-sequence token's text when neither the tokenizer nor config.json names one
    /// (a character model: e.g. "$"); it must be exactly one token.
    public var eosToken: String?

    /// Defaults: no data or model yet (both are required).
    public init() {}

    /// Job and training settings from defaults, an optional YAML file and `--key value` overrides.
    public static func resolve(file: URL?, overrides: [String]) throws -> (job: SFTJob, training: SFTConfiguration, mapping: Node.Mapping) {
        let defaults = try JobConfiguration.defaults(SFTJob(), SFTConfiguration())
        let mapping = try JobConfiguration.resolve(defaults: defaults.mapping, optionalKeys: defaults.optionalKeys, file: file, overrides: overrides)
        let source = file?.path ?? "command line"
        let job = try JobConfiguration.decode(SFTJob.self, from: mapping, source: source)
        let training = try JobConfiguration.decode(SFTConfiguration.self, from: mapping, source: source)
        guard !job.data.isEmpty else { throw RunError.missingField(name: "data", source: source, expected: "an SFT file") }
        guard !job.model.isEmpty else { throw RunError.missingField(name: "model", source: source, expected: "a checkpoint directory") }
        return (job, training, mapping)
    }

    /// Reads and tokenizes the data, writes config.yaml, and trains (resuming when asked and a
    /// checkpoint exists). `prepared` hears how the examples fared before training starts.
    public func run(training: SFTConfiguration, mapping: Node.Mapping, resume: Bool, overrideConfig: Bool = false,
                    prepared: ((SFTPreparationReport) -> Void)? = nil,
                    progress: ((TrainingProgress) throws -> Void)? = nil) throws -> (run: RunDirectory, resumedFrom: URL?, state: TrainerState) {
        let run = try RunDirectory(root: URL(fileURLWithPath: runsDirectory).appendingPathComponent(name))
        try run.prepareForWriting()  // the lock first: nothing is read from the run before it is ours
        let checkpoint = resume ? run.newestCheckpoint() : nil
        let modelURL = checkpoint?.url ?? URL(fileURLWithPath: model)
        let model = try ModelLoader.autoregressiveModel(from: modelURL)
        let tokenizer = try loadTokenizer(from: checkpoint?.url ?? URL(fileURLWithPath: self.tokenizer ?? self.model))
        guard let endOfSequence = try tokenizer.endOfTextTokenId ?? model.modelConfiguration.eosTokenId ?? endOfSequenceFromText(eosToken, tokenizer: tokenizer) else {
            throw RunError.unsuitableModel(path: modelURL.path, problem: "neither the tokenizer nor config.json (eos_token_id) names an end-of-sequence token; set eos_token to a one-token text")
        }
        guard training.maxLength >= 2, training.maxLength <= model.modelConfiguration.positions + 1 else {
            throw RunError.invalidSetting(field: "max_length", source: "config", problem: "is \(training.maxLength); it must be in 2...\(model.modelConfiguration.positions + 1) (n_positions + 1)")
        }
        var read = try SFTExample.readLocated(URL(fileURLWithPath: data), shape: shape, skipBadRecords: skipBadRecords)
        for index in read.records.indices {
            read.records[index].example.prompt = unknownCharacters.apply(read.records[index].example.prompt, tokenizer: tokenizer).text
            read.records[index].example.response = unknownCharacters.apply(read.records[index].example.response, tokenizer: tokenizer).text
        }
        guard !read.records.isEmpty else { throw RunError.emptyData(path: data, problem: "no SFT records in the file") }
        var (sequences, report) = try SFTSequenceBuilder.build(read.records, tokenizer: tokenizer, endOfSequence: Int32(endOfSequence),
                                                               maxLength: training.maxLength, policy: training.longResponses)
        report.badRecordsSkipped = read.skippedCount
        prepared?(report)
        try run.recordConfiguration(mapping, resuming: checkpoint != nil, allowingChanges: overrideConfig)
        let trainer = try SFTTrainer(model: model, sequences: sequences, configuration: training, run: run, tokenizer: tokenizer, dataName: data)
        sequences = []
        let state = try trainer.train(resume: checkpoint != nil, progress: progress)
        return (run, checkpoint?.url, state)
    }
}

extension SFTRecordShape: SettingChoice {}

extension SFTJob: FieldListSettings {
    public static var fields: [SettingField<SFTJob>] { [
        .field("name", \.name, "The run's name: it writes <runs_dir>/<name>/."),
        .field("runs_dir", \.runsDirectory, "Where runs go."),
        .field("data", \.data, "The SFT file: JSONL, JSON array or CSV/TSV (gzip allowed), in any record shape."),
        .optionalChoice("shape", \.shape, "The record shape; null: detected from the first record."),
        .field("skip_bad_records", \.skipBadRecords, "Count and leave out malformed records instead of stopping at the first."),
        .field("model", \.model, "The checkpoint directory to fine-tune."),
        .optional("tokenizer", \.tokenizer, "A tokenizer directory; null: the model's own.", type: "text"),
        .choice("unknown_characters", \.unknownCharacters, "Characters a character tokenizer lacks: an error naming the line, or folded."),
        .optional("eos_token", \.eosToken, "End-of-sequence text when neither tokenizer nor config.json names one (one token, e.g. \"$\").", type: "text"),
    ] }

    /// `rlhf sft --help`'s field list, generated from the settings and their defaults.
    public static func fieldsHelp() throws -> String {
        let defaults = try JobConfiguration.defaults(SFTJob(), SFTConfiguration())
        return JobConfiguration.helpText(defaults.help, defaults: defaults.mapping)
    }
}
