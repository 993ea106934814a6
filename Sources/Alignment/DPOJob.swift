// The `rlhf dpo` job: preference pairs of any DESIGN.md shape, tokenized with the prompt's end
// kept and the responses' ends cut to fit, the policy and its frozen reference, and the run.

import Datasets
import Foundation
import Models
import Tokenizers
import Yams

/// What `rlhf dpo` needs besides the DPO hyper-parameters (which share its mapping).
public struct DPOJob: Equatable, Sendable {
    /// The run's name: it writes `<runs_dir>/<name>/`.
    public var name = "dpo"
    /// Where runs go.
    public var runsDirectory = "runs"
    /// Pairs: `{"prompt","chosen","rejected"}` or HH `{"chosen","rejected"}` (JSONL, JSON, CSV/TSV; gzip allowed).
    public var data = ""
    /// Count and leave out malformed records instead of stopping at the first.
    public var skipBadRecords = false
    /// The policy's starting checkpoint.
    public var model = ""
    /// The reference checkpoint; nil: `model` (ignored with `reference_free`).
    public var reference: String?
    /// Characters a character tokenizer lacks: `.error` (naming the pair) or `.fold` (approximated or dropped).
    public var unknownCharacters = UnknownCharacterPolicy.error
    /// The end-of-sequence token's text when neither the tokenizer nor config.json names one
    /// (a character model: e.g. "$"); it must be exactly one token.
    public var eosToken: String?

    /// Defaults: data and model are required.
    public init() {}

    /// Job and DPO settings from defaults, an optional YAML file and `--key value` overrides.
    public static func resolve(file: URL?, overrides: [String]) throws -> (job: DPOJob, training: DPOConfiguration, mapping: Node.Mapping) {
        let defaults = try JobConfiguration.defaults(DPOJob(), DPOConfiguration())
        let mapping = try JobConfiguration.resolve(defaults: defaults.mapping, optionalKeys: defaults.optionalKeys, file: file, overrides: overrides)
        let source = file?.path ?? "command line"
        let job = try JobConfiguration.decode(DPOJob.self, from: mapping, source: source)
        let training = try JobConfiguration.decode(DPOConfiguration.self, from: mapping, source: source)
        guard !job.data.isEmpty else { throw RunError.missingField(name: "data", source: source, expected: "preference pairs") }
        guard !job.model.isEmpty else { throw RunError.missingField(name: "model", source: source, expected: "a checkpoint directory") }
        return (job, training, mapping)
    }

    /// Tokenizes pairs: the prompt keeps its last `max_prompt_length` tokens; each response gets
    /// EOS and loses tokens from its end so that prompt + response ≤ `max_length`.
    /// - Returns: the examples and how many prompts and responses were cut.
    public static func examples(_ pairs: [PreferencePair], tokenizer: any Tokenizer, endOfSequence: Int32,
                                configuration: DPOConfiguration, dataName: String) throws -> (examples: [DPOExample], promptsCut: Int, responsesCut: Int) {
        var promptsCut = 0, responsesCut = 0
        var examples: [DPOExample] = []
        for (index, pair) in pairs.enumerated() {
            func encode(_ text: String) throws -> [Int32] {
                do { return try tokenizer.encodeChecked(text).map { Int32($0) } } catch {
                    throw RunError.invalidData(path: dataName, problem: "pair \(index + 1): cannot tokenize: \(error)")
                }
            }
            var prompt = try encode(pair.prompt)
            if prompt.count > configuration.maxPromptLength { prompt = Array(prompt.suffix(configuration.maxPromptLength)); promptsCut += 1 }
            guard prompt.count < configuration.maxLength else {
                throw RunError.invalidData(path: dataName, problem: "pair \(index + 1): max_prompt_length \(configuration.maxPromptLength) leaves no room in max_length \(configuration.maxLength)")
            }
            func response(_ text: String) throws -> [Int32] {
                var tokens = try encode(text) + [endOfSequence]
                if prompt.count + tokens.count > configuration.maxLength {
                    tokens = Array(tokens.prefix(configuration.maxLength - prompt.count))
                    responsesCut += 1
                }
                return tokens
            }
            if prompt.isEmpty { prompt = [endOfSequence] }
            examples.append(DPOExample(prompt: prompt, chosen: try response(pair.chosen), rejected: try response(pair.rejected)))
        }
        return (examples, promptsCut, responsesCut)
    }

    /// Reads the pairs, writes config.yaml, computes the reference log-probs and trains.
    public func run(training: DPOConfiguration, mapping: Node.Mapping, resume: Bool, overrideConfig: Bool = false, report: ((String) -> Void)? = nil,
                    progress: ((TrainingProgress) throws -> Void)? = nil) throws -> (run: RunDirectory, resumedFrom: URL?, state: TrainerState) {
        let run = try RunDirectory(root: URL(fileURLWithPath: runsDirectory).appendingPathComponent(name))
        try run.prepareForWriting()  // the lock first: nothing is read from the run before it is ours
        let checkpoint = resume ? run.newestCheckpoint() : nil
        let policy = try ModelLoader.autoregressiveModel(from: checkpoint?.url ?? URL(fileURLWithPath: model))
        let tokenizer = try loadTokenizer(from: URL(fileURLWithPath: model))
        let referenceModel = training.referenceFree ? nil : try ModelLoader.autoregressiveModel(from: URL(fileURLWithPath: reference ?? model))
        guard let endOfSequence = try tokenizer.endOfTextTokenId ?? policy.modelConfiguration.eosTokenId ?? endOfSequenceFromText(eosToken, tokenizer: tokenizer) else {
            throw RunError.unsuitableModel(path: model, problem: "neither the tokenizer nor config.json (eos_token_id) names an end-of-sequence token; set eos_token to a one-token text")
        }
        var read = try PreferencePair.read(URL(fileURLWithPath: data), skipBadRecords: skipBadRecords)
        for index in read.records.indices {
            for keyPath in [\PreferencePair.prompt, \PreferencePair.chosen, \PreferencePair.rejected] {
                read.records[index][keyPath: keyPath] = unknownCharacters.apply(read.records[index][keyPath: keyPath], tokenizer: tokenizer).text
            }
        }
        guard !read.records.isEmpty else { throw RunError.emptyData(path: data, problem: "no preference pairs in the file") }
        let (examples, promptsCut, responsesCut) = try Self.examples(read.records, tokenizer: tokenizer, endOfSequence: Int32(endOfSequence),
                                                                     configuration: training, dataName: data)
        report?("data: \(examples.count) pairs; \(promptsCut) prompts cut to their last \(training.maxPromptLength) tokens; "
                + "\(responsesCut) responses cut to fit max_length \(training.maxLength)" + (read.skippedCount > 0 ? "; \(read.skippedCount) bad records skipped" : ""))
        try run.recordConfiguration(mapping, resuming: checkpoint != nil, allowingChanges: overrideConfig)
        let trainer = try DPOTrainer(policy: policy, reference: referenceModel, examples: examples, configuration: training, run: run,
                                     tokenizer: tokenizer, dataName: data)
        let state = try trainer.train(resume: checkpoint != nil, progress: progress)
        return (run, checkpoint?.url, state)
    }
}

extension DPOJob: FieldListSettings {
    public static var fields: [SettingField<DPOJob>] { [
        .field("name", \.name, "The run's name: it writes <runs_dir>/<name>/."),
        .field("runs_dir", \.runsDirectory, "Where runs go."),
        .field("data", \.data, "Pairs {prompt, chosen, rejected} or HH {chosen, rejected} (JSONL, JSON, CSV/TSV; gzip allowed)."),
        .field("skip_bad_records", \.skipBadRecords, "Count and leave out malformed records instead of stopping at the first."),
        .field("model", \.model, "The policy's starting checkpoint."),
        .optional("reference", \.reference, "The reference checkpoint; null: model (ignored with reference_free).", type: "text"),
        .choice("unknown_characters", \.unknownCharacters, "Characters a character tokenizer lacks: an error naming the pair, or folded."),
        .optional("eos_token", \.eosToken, "End-of-sequence text when neither tokenizer nor config.json names one (one token).", type: "text"),
    ] }

    /// `rlhf dpo --help`'s field list, generated from the settings and their defaults.
    public static func fieldsHelp() throws -> String {
        let defaults = try JobConfiguration.defaults(DPOJob(), DPOConfiguration())
        return JobConfiguration.helpText(defaults.help, defaults: defaults.mapping)
    }
}
