// The `rlhf pretrain` job: a flat YAML/command-line configuration, the tokenizer and model it
// describes, and the run.

import Foundation
import Models
import Tensors
import Tokenizers
import Yams

/// What `rlhf pretrain` needs besides the training hyper-parameters (which share its mapping).
public struct PretrainJob: Equatable, Sendable {
    /// The run's name: it writes `<runs_dir>/<name>/`.
    public var name = "pretrain"
    /// Where runs go.
    public var runsDirectory = "runs"
    /// A text file (the whole file is the corpus).
    public var corpus = ""
    /// "character", "bpe" (trained on the corpus with `bpe_merges` merges), or a tokenizer directory.
    public var tokenizer = "character"
    /// Merges for a trained byte-level BPE.
    public var bpeMerges = 500
    /// A checkpoint directory to start from instead of random weights.
    public var initFrom: String?
    /// The family of a new model (`model_type`: "gpt2", or "t5" for an encoder-decoder pretrained
    /// by span corruption; ignored with `init_from`).
    public var modelType = "gpt2"
    /// Blocks, heads and width of a new model (ignored with `init_from`).
    public var layers = 6, heads = 6, embeddingDimension = 384
    /// Dropout of a new model (residual, embedding and attention).
    public var dropout: Float = 0.2

    /// Defaults: nanoGPT's Shakespeare-char model with a character tokenizer.
    public init() {}

    /// Job and training settings from defaults, an optional YAML file and `--key value` overrides.
    public static func resolve(file: URL?, overrides: [String]) throws -> (job: PretrainJob, training: PretrainConfiguration, mapping: Node.Mapping) {
        let defaults = try JobConfiguration.defaults(PretrainJob(), PretrainConfiguration())
        let mapping = try JobConfiguration.resolve(defaults: defaults.mapping, optionalKeys: defaults.optionalKeys, file: file, overrides: overrides)
        let source = file?.path ?? "command line"
        let job = try JobConfiguration.decode(PretrainJob.self, from: mapping, source: source)
        let training = try JobConfiguration.decode(PretrainConfiguration.self, from: mapping, source: source)
        guard !job.corpus.isEmpty else { throw RunError.missingField(name: "corpus", source: source, expected: "a text file") }
        return (job, training, mapping)
    }

    /// Builds the tokenizer and model, writes config.yaml, and trains (resuming when asked and a
    /// checkpoint exists). Returns the run directory, the checkpoint resumed from (nil for a
    /// fresh start), and the final state.
    public func run(training: PretrainConfiguration, mapping: Node.Mapping, resume: Bool, overrideConfig: Bool = false,
                    progress: ((TrainingProgress) throws -> Void)? = nil) throws -> (run: RunDirectory, resumedFrom: URL?, state: TrainerState) {
        let corpusURL = URL(fileURLWithPath: corpus)
        guard let data = FileManager.default.contents(atPath: corpusURL.path) else {
            throw RunError.unreadableFile(path: corpus, what: "corpus file")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard !text.isEmpty else { throw RunError.emptyData(path: corpus, problem: "the corpus is empty") }
        let run = try RunDirectory(root: URL(fileURLWithPath: runsDirectory).appendingPathComponent(name))
        try run.prepareForWriting()  // the lock first: nothing is read from the run before it is ours
        let checkpoint = resume ? run.newestCheckpoint() : nil
        try run.recordConfiguration(mapping, resuming: checkpoint != nil, allowingChanges: overrideConfig)
        let tokenizer: any Tokenizer
        let model: any AutoregressiveModel
        if let checkpoint {
            tokenizer = try loadTokenizer(from: checkpoint.url)
            model = try ModelLoader.autoregressiveModel(from: checkpoint.url)
        } else {
            switch self.tokenizer {
            case "character": tokenizer = CharacterTokenizer(corpus: text)
            case "bpe":
                // A new model's family may need its own special tokens (T5: <pad>, </s>, sentinels).
                let specials = initFrom == nil ? ModelLoader.newModelSpecialTokens(modelType: modelType) : []
                tokenizer = BytePairTrainer.train(corpus: text, mergeCount: bpeMerges, specialTokens: specials.isEmpty ? ["<|endoftext|>"] : specials)
            default: tokenizer = try loadTokenizer(from: URL(fileURLWithPath: self.tokenizer))
            }
            if let initFrom {
                model = try ModelLoader.autoregressiveModel(from: URL(fileURLWithPath: initFrom))
            } else {
                let end = tokenizer.specialTokens["</s>"] ?? tokenizer.endOfTextTokenId
                let shape = NewModelShape(vocabularySize: tokenizer.vocabularySize, positions: training.blockSize, hiddenSize: embeddingDimension,
                                          layers: layers, heads: heads, dropout: dropout,
                                          bosTokenId: tokenizer.endOfTextTokenId, eosTokenId: end, padTokenId: tokenizer.specialTokens["<pad>"])
                model = try ModelLoader.newModel(modelType: modelType, shape: shape, seed: training.seed)
            }
        }
        let tokens: [Int32]
        do { tokens = try tokenizer.encodeChecked(text).map { Int32($0) } } catch {
            throw RunError.invalidData(path: corpus, problem: "the tokenizer cannot encode the corpus: \(error)")
        }
        let state: TrainerState
        if let causal = model as? any CausalLanguageModel {
            let trainer = try PretrainTrainer(model: causal, tokens: tokens, configuration: training, run: run,
                                              tokenizer: tokenizer, corpusName: corpus)
            state = try trainer.train(resume: checkpoint != nil, progress: progress)
        } else if let seq2seq = model as? any EncoderDecoderLanguageModel {
            // An encoder-decoder learns by T5's span corruption, its sentinels the tokenizer's <extra_id_N>.
            var sentinels: [Int32] = []
            while let id = tokenizer.specialTokens["<extra_id_\(sentinels.count)>"] { sentinels.append(Int32(id)) }
            guard !sentinels.isEmpty else {
                throw RunError.unsuitableModel(path: self.tokenizer, problem: "span corruption for an encoder-decoder needs sentinel tokens <extra_id_0>, <extra_id_1>, … in the tokenizer; this one has none (train one with tokenizer: bpe and model_type: t5)")
            }
            guard let end = seq2seq.modelConfiguration.eosTokenId else {
                throw RunError.unsuitableModel(path: initFrom ?? "config", problem: "span corruption needs the model's eos_token_id (</s>)")
            }
            let corruption = SpanCorruption(noiseDensity: training.noiseDensity, meanNoiseSpanLength: training.meanNoiseSpanLength,
                                            sentinels: sentinels, endOfSequence: Int32(end))
            let trainer = try SpanCorruptionTrainer(model: seq2seq, tokens: tokens, corruption: corruption, configuration: training, run: run,
                                                    tokenizer: tokenizer, corpusName: corpus)
            state = try trainer.train(resume: checkpoint != nil, progress: progress)
        } else {
            throw RunError.unsuitableModel(path: initFrom ?? modelType, problem: "the model is neither a causal nor an encoder-decoder language model")
        }
        return (run, checkpoint?.url, state)
    }
}

extension PretrainJob: FieldListSettings {
    public static var fields: [SettingField<PretrainJob>] { [
        .field("name", \.name, "The run's name: it writes <runs_dir>/<name>/."),
        .field("runs_dir", \.runsDirectory, "Where runs go."),
        .field("corpus", \.corpus, "A text file (the whole file is the corpus)."),
        .field("tokenizer", \.tokenizer, "character, bpe (trained on the corpus with bpe_merges merges), or a tokenizer directory."),
        .field("bpe_merges", \.bpeMerges, "Merges for a trained byte-level BPE."),
        .optional("init_from", \.initFrom, "A checkpoint directory to start from instead of random weights.", type: "text"),
        .field("model_type", \.modelType, "The family of a new model (config.json's model_type: gpt2, or t5 — an encoder-decoder, pretrained by span corruption; ignored with init_from)."),
        .field("n_layer", \.layers, "Blocks of a new model."),
        .field("n_head", \.heads, "Attention heads of a new model."),
        .field("n_embd", \.embeddingDimension, "Width of a new model."),
        .field("dropout", \.dropout, "Dropout of a new model (residual, embedding and attention)."),
    ] }

    /// `rlhf pretrain --help`'s field list, generated from the settings and their defaults.
    public static func fieldsHelp() throws -> String {
        let defaults = try JobConfiguration.defaults(PretrainJob(), PretrainConfiguration())
        return JobConfiguration.helpText(defaults.help, defaults: defaults.mapping)
    }
}
