// The trlX-style library entry point `train(model:rewardFunction:prompts:evalPrompts:config:)`,
// and the `rlhf ppo` job over it: prompts from a file, a reward named by a spec, a preset.

import Datasets
import Foundation
import Models
import Tokenizers
import Yams

/// trlX's `trlx.train`: PPO from the checkpoint at `model` against `rewardFunction` on `prompts`.
/// - Parameters:
///   - model: an HF checkpoint of a registered family, a causal LM or an encoder-decoder (trlX's
///     seq2seq PPO) (a value head is read when present, else created on the final states).
///   - rewardFunction: scores (prompt, response) pairs.
///   - prompts: training prompts; `evalPrompts`: sampled at each evaluation into samples.jsonl.
///   - config: the PPO settings.
///   - runDirectory: where metrics, samples and checkpoints go.
///   - resume: continue from the run's newest checkpoint.
/// - Returns: the trained policy with its value head.
@discardableResult
public func train(model: URL, rewardFunction: any RewardFunction, prompts: [String], evalPrompts: [String] = [],
                  config: PPOConfiguration, runDirectory: URL, resume: Bool = false,
                  progress: ((PPOProgress) throws -> Void)? = nil) throws -> ValueHeadModel {
    let policy = try ValueHeadModel.load(from: model)
    let reference = try ModelLoader.autoregressiveModel(from: model)
    let valueModel = config.valueModel == .separate ? try ValueHeadModel.load(from: model) : nil
    let tokenizer = try loadTokenizer(from: model)
    let trainer = try PPOTrainer(policy: policy, valueModel: valueModel, reference: reference, tokenizer: tokenizer,
                                 reward: rewardFunction, prompts: prompts, evalPrompts: evalPrompts, configuration: config,
                                 run: try RunDirectory(root: runDirectory))
    try trainer.train(resume: resume, progress: progress)
    return policy
}

/// What `rlhf ppo` needs besides the PPO settings (which share its mapping).
public struct PPOJob: Equatable, Sendable {
    /// The run's name: it writes `<runs_dir>/<name>/`.
    public var name = "ppo"
    /// Where runs go.
    public var runsDirectory = "runs"
    /// The policy's starting checkpoint.
    public var model = ""
    /// Prompts: `{"prompt"}` JSONL/JSON, a `.txt` with one per line, or a CSV column (`prompt_field`).
    public var prompts = ""
    /// The field or column holding each prompt.
    public var promptField = "prompt"
    /// With K > 0: each prompt is the first K words of its line/record (the trlX notebook's way).
    public var promptWords = 0
    /// Evaluation prompts: a file like `prompts`; nil: the first `num_eval_prompts` training prompts.
    public var evalPrompts: String?
    /// Eval prompts taken from the training prompts when `eval_prompts` is not given.
    public var numEvalPrompts = 8
    /// The reward (see ``RewardSpecification``).
    public var reward = ""
    /// The settings the file and the overrides start from.
    public var preset = PPOPreset.none

    /// Defaults: model, prompts and reward are required.
    public init() {}

    /// Job and PPO settings: the preset's defaults, then the file, then overrides.
    public static func resolve(file: URL?, overrides: [String]) throws -> (job: PPOJob, ppo: PPOConfiguration, mapping: Node.Mapping) {
        func mapping(preset: PPOConfiguration) throws -> Node.Mapping {
            let defaults = try JobConfiguration.defaults(PPOJob(), preset)
            return try JobConfiguration.resolve(defaults: defaults.mapping, optionalKeys: defaults.optionalKeys, file: file, overrides: overrides)
        }
        let source = file?.path ?? "command line"
        var resolved = try mapping(preset: PPOConfiguration())
        let first = try JobConfiguration.decode(PPOJob.self, from: resolved, source: source)
        if first.preset != .none { resolved = try mapping(preset: first.preset.configuration) }
        let job = try JobConfiguration.decode(PPOJob.self, from: resolved, source: source)
        let ppo = try JobConfiguration.decode(PPOConfiguration.self, from: resolved, source: source)
        for (field, value) in [("model", job.model), ("prompts", job.prompts), ("reward", job.reward)] where value.isEmpty {
            throw RunError.missingField(name: field, source: source, expected: nil)
        }
        try ppo.validate()
        return (job, ppo, resolved)
    }

    /// Reads prompts from `path` (first `prompt_words` words of each when K > 0).
    public func readPrompts(_ path: String) throws -> [String] {
        let url = URL(fileURLWithPath: path)
        var prompts = try PromptSet.read(url, field: promptField).records
        if promptWords > 0 {
            prompts = prompts.map { $0.split(whereSeparator: \.isWhitespace).prefix(promptWords).joined(separator: " ") }
        }
        prompts = prompts.filter { !$0.isEmpty }
        guard !prompts.isEmpty else { throw RunError.emptyData(path: path, problem: "no prompts in the file") }
        return prompts
    }

    /// Writes config.yaml and runs PPO.
    public func run(ppo: PPOConfiguration, mapping: Node.Mapping, resume: Bool, overrideConfig: Bool = false,
                    progress: ((PPOProgress) throws -> Void)? = nil) throws -> RunDirectory {
        let runDirectory = URL(fileURLWithPath: runsDirectory).appendingPathComponent(name)
        let run = try RunDirectory(root: runDirectory)
        try run.prepareForWriting()  // the lock first: nothing is read from the run before it is ours
        try run.recordConfiguration(mapping, resuming: resume && run.newestCheckpoint() != nil, allowingChanges: overrideConfig)
        let trainPrompts = try readPrompts(prompts)
        let evaluation = try evalPrompts.map(readPrompts) ?? Array(trainPrompts.prefix(numEvalPrompts))
        let tokenizer = try loadTokenizer(from: URL(fileURLWithPath: model))
        let rewardFunction = try RewardSpecification.make(reward, tokenizer: tokenizer)
        try train(model: URL(fileURLWithPath: model), rewardFunction: rewardFunction, prompts: trainPrompts, evalPrompts: evaluation,
                  config: ppo, runDirectory: runDirectory, resume: resume && run.newestCheckpoint() != nil, progress: progress)
        return run
    }
}

extension PPOJob: FieldListSettings {
    public static var fields: [SettingField<PPOJob>] { [
        .field("name", \.name, "The run's name: it writes <runs_dir>/<name>/."),
        .field("runs_dir", \.runsDirectory, "Where runs go."),
        .field("model", \.model, "The policy's starting checkpoint."),
        .field("prompts", \.prompts, "Prompts: {prompt} JSONL/JSON, a .txt with one per line, or a CSV column."),
        .field("prompt_field", \.promptField, "The field or column holding each prompt."),
        .field("prompt_words", \.promptWords, "With K > 0: each prompt is the first K words of its line (the trlX notebook's way)."),
        .optional("eval_prompts", \.evalPrompts, "Evaluation prompts, a file like prompts; null: the first num_eval_prompts training prompts.", type: "text"),
        .field("num_eval_prompts", \.numEvalPrompts, "Eval prompts taken from the training prompts when eval_prompts is null."),
        .field("reward", \.reward, "model:DIR | uppercase | lexicon | regex:PATTERN | length:N | classifier:DIR:LABEL | http(s)://URL."),
        .choice("preset", \.preset, "Settings the file and the overrides start from."),
    ] }

    /// `rlhf ppo --help`'s field list, generated from the settings and their defaults.
    public static func fieldsHelp() throws -> String {
        let defaults = try JobConfiguration.defaults(PPOJob(), PPOConfiguration())
        return JobConfiguration.helpText(defaults.help, defaults: defaults.mapping)
    }
}
