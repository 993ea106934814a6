// Hugging Face checkpoint directories: config.json, model.safetensors, generation_config.json and
// tokenizer files, read and written with HF's parameter names.

import Foundation
import NN
import Tensors
import Tokenizers

/// Buffers older GPT-2 checkpoints carry that are not parameters (HF recomputes them).
func isIgnorableBuffer(_ name: String) -> Bool {
    name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
}

/// Fills `module` from a safetensors file by name. A parameter named `transformer.x` is also
/// found as `x` (checkpoints saved from the bare trunk). Every parameter must be present with
/// its shape; file tensors that match nothing are an error unless `ignore` accepts them.
func loadParameters(
    _ module: Module, from url: URL, prefix: String = "transformer.", ignore: (String) -> Bool
) throws {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw CheckpointError.missingFile(path: url.path, needed: "a checkpoint directory needs model.safetensors; pickle .bin files are never loaded")
    }
    let file = try SafeTensorsFile(contentsOf: url)
    let available = Set(file.names)
    var used = Set<String>()
    let report = try module.loadSafeTensors(from: file, strict: false) { name in
        let candidates = [name] + (name.hasPrefix(prefix) ? [String(name.dropFirst(prefix.count))] : [])
        let found = candidates.first { available.contains($0) } ?? name
        used.insert(found)
        return found
    }
    if let missing = report.missing.first {
        throw CheckpointError.missingTensor(path: url.path, name: missing, others: report.missing.count - 1, encoderFamily: nil)
    }
    let unexpected = file.names.filter { !used.contains($0) && !isIgnorableBuffer($0) && !ignore($0) }
    if let first = unexpected.first {
        throw CheckpointError.unexpectedTensor(path: url.path, name: first, others: unexpected.count - 1)
    }
}

extension GPT2LMHeadModel {
    /// Loads a Hugging Face GPT-2 checkpoint directory (config.json + model.safetensors), in
    /// evaluation mode as `from_pretrained` returns it (call `setTraining(true)` to train).
    /// Tensors of a value head (`v_head.*`) or a score head (`score.*`) are ignored.
    public static func load(from directory: URL) throws -> GPT2LMHeadModel {
        let configuration = try GPT2Configuration.load(from: directory.appendingPathComponent("config.json"))
        try checkWeights(directory.appendingPathComponent("model.safetensors"), holdMostOf: configuration.parameterCount)
        let model = GPT2LMHeadModel(configuration)
        try loadParameters(model, from: directory.appendingPathComponent("model.safetensors")) { name in
            name.hasPrefix("v_head.") || name.hasPrefix("score.") || (configuration.tieWordEmbeddings && name == "lm_head.weight")
        }
        model.setTraining(false)
        return model
    }

    /// Writes a checkpoint directory Hugging Face loads with `GPT2LMHeadModel.from_pretrained`:
    /// config.json, model.safetensors (tied lm_head omitted, as HF does), generation_config.json,
    /// and the tokenizer's files when given.
    public func save(to directory: URL, tokenizer: (any Tokenizer)? = nil) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try configuration.save(to: directory.appendingPathComponent("config.json"))
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
        try writeGenerationConfiguration(configuration, to: directory)
        try tokenizer?.save(to: directory)
    }
}

extension SequenceClassifier {
    /// A GPT-2 classifier (HF `GPT2ForSequenceClassification`) with a new trunk over `labels`
    /// outputs; the score weight is N(0, std²), std defaulting to 1/√(C + 1).
    public convenience init(gpt2 configuration: GPT2Configuration, labels: Int = 1, standardDeviation: Float? = nil, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        let source = RandomSource(seed: seed ^ 0x5EED)
        let trunk = GPT2Model(configuration, generator: &generator, source: source)
        self.init(trunk: trunk, source: source, labels: labels, standardDeviation: standardDeviation, generator: &generator)
    }

    /// Loads an HF `GPT2ForSequenceClassification` checkpoint (transformer.* and score.weight).
    static func loadGPT2(from directory: URL) throws -> SequenceClassifier {
        let configuration = try GPT2Configuration.load(from: directory.appendingPathComponent("config.json"))
        try checkWeights(directory.appendingPathComponent("model.safetensors"), holdMostOf: configuration.parameterCount)
        let model = SequenceClassifier(gpt2: configuration, labels: configuration.labelCount ?? 1)
        try loadParameters(model, from: directory.appendingPathComponent("model.safetensors")) { name in
            name == "lm_head.weight" || name.hasPrefix("v_head.")
        }
        model.setTraining(false)
        return model
    }
}

/// Writes generation_config.json with the BOS/EOS (and pad) ids.
func writeGenerationConfiguration(_ configuration: any LanguageModelConfiguration, to directory: URL) throws {
    var object: [String: Any] = [:]
    if let bos = configuration.bosTokenId { object["bos_token_id"] = bos }
    if let eos = configuration.eosTokenId { object["eos_token_id"] = eos }
    if let pad = configuration.padTokenId { object["pad_token_id"] = pad }
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: directory.appendingPathComponent("generation_config.json"), options: .atomic)
}

/// Checks, before a model is built (and its memory allocated), that the safetensors file at `url`
/// holds at least half of the `parameters` its config.json implies: a config that asks for far
/// more weights than the file has does not describe it, and would only cost memory. A missing
/// file is left to the loader's own message.
/// - Throws: ``CheckpointError`` naming the file and both counts.
public func checkWeights(_ url: URL, holdMostOf parameters: Int) throws {
    guard FileManager.default.fileExists(atPath: url.path) else { return }
    let file = try SafeTensorsFile(contentsOf: url)
    var held = 0
    for name in file.names { held += try file.info(name).elementCount }
    if held < parameters / 2 {
        throw CheckpointError.weightsMismatch(path: url.path, parameters: parameters, held: held)
    }
}
