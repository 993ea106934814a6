// Bad checkpoints are errors naming the file and the field or tensor.

import Foundation
import Models
import NN
import Tensors
import Testing
import Tokenizers

@Suite("Checkpoint errors")
struct CheckpointErrorTests {
    /// A copy of the tiny checkpoint in a fresh directory, to corrupt.
    func copyOfTiny() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: tinyGPT2.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        return directory
    }

    func editConfig(_ directory: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = directory.appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    func expectError(_ directory: URL, containing parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try GPT2LMHeadModel.load(from: directory)
            Issue.record("expected an error mentioning \(parts)", sourceLocation: sourceLocation)
        } catch {
            let text = "\(error)"
            for part in parts { #expect(text.contains(part), "\(text) should mention \(part)", sourceLocation: sourceLocation) }
        }
    }

    @Test("a missing config.json, or one that is not JSON")
    func missingConfig() throws {
        let directory = try copyOfTiny()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("config.json"))
        expectError(directory, containing: ["config.json", "no such file"])
        try Data("{ not json".utf8).write(to: directory.appendingPathComponent("config.json"))
        expectError(directory, containing: ["config.json"])
    }

    @Test("inconsistent or unsupported fields name the field", arguments: [
        ("n_head", "5", "'n_embd' (24) must be divisible by 'n_head' (5)"),
        ("activation_function", "\"swish\"", "'activation_function' is 'swish'"),
        ("n_layer", "\"two\"", "n_layer"),
        ("layer_norm_epsilon", "-1", "layer_norm_epsilon"),
        ("eos_token_id", "500", "eos_token_id"),
        ("model_type", "\"llama\"", "model_type"),
        ("scale_attn_by_inverse_layer_idx", "true", "scale_attn_by_inverse_layer_idx"),
        // Hostile sizes are refused before anything is allocated (4·n_embd would overflow and trap).
        ("n_embd", "4611686018427387904", "'n_embd' is 4611686018427387904; at most 65536"),
        ("n_layer", "1000000000", "'n_layer' is 1000000000"),
        ("vocab_size", "2147483648", "'vocab_size' is 2147483648"),
        ("n_positions", "100000000", "'n_positions'"),
        ("num_labels", "-3", "'num_labels' is -3"),
        ("n_inner", "300000", "'n_inner' is 300000"),
        ("n_embd", "65536", "parameters; at most 68719476736"),
        // Within the limits but far beyond the weights in the file: refused before the model is built.
        ("n_layer", "1000", "the config does not describe these weights"),
        ("vocab_size", "1000000", "the config does not describe these weights"),
    ])
    func badFields(field: String, json: String, message: String) throws {
        let directory = try copyOfTiny()
        defer { try? FileManager.default.removeItem(at: directory) }
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        try editConfig(directory) { $0[field] = value }
        expectError(directory, containing: ["config.json", message])
    }

    @Test("hostile sizes in an encoder's config.json are refused naming the field, before anything is allocated", arguments: [
        ("hidden_size", 4611686018427387904 as Int, "'hidden_size' is 4611686018427387904; at most 65536"),
        ("num_hidden_layers", 1_000_000_000, "'num_hidden_layers' is 1000000000"),
        ("vocab_size", 2_147_483_648, "'vocab_size' is 2147483648"),
        ("max_position_embeddings", 100_000_000, "'max_position_embeddings'"),
        ("intermediate_size", 300_000, "'intermediate_size' is 300000"),
        ("type_vocab_size", -1, "'type_vocab_size' must be a positive integer"),
        ("num_labels", -3, "'num_labels' is -3"),
        ("num_labels", 1 << 30, "'num_labels' is 1073741824"),
        ("hidden_size", 65536, "parameters; at most 68719476736"),
    ])
    func hostileEncoderSizes(field: String, value: Int, message: String) throws {
        var object: [String: Any] = ["model_type": "bert", "vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                                     "intermediate_size": 32, "max_position_embeddings": 64]
        object[field] = value
        if field == "hidden_size" { object["num_attention_heads"] = 1; object["num_hidden_layers"] = 8 }
        let error = try #require(throws: CheckpointError.self) { try EncoderConfiguration(object: object, path: "enc/config.json") }
        #expect(error.description.contains("enc/config.json") && error.description.contains(message), "\(error)")
    }

    @Test("a safetensors file missing a tensor, with a wrong shape, or with a stranger")
    func badTensors() throws {
        let directory = try copyOfTiny()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        let original = try SafeTensorsFile(contentsOf: tinyGPT2.appendingPathComponent("model.safetensors"))
        func rewrite(_ transform: (String, [Int], [Float]) -> (String, [Int], [Float])?) throws {
            var writer = SafeTensorsWriter()
            for name in original.names {
                if let (newName, shape, values) = transform(name, try original.info(name).shape, try original.floats(name)) {
                    try writer.add(newName, shape: shape, floats: values)
                }
            }
            try writer.write(to: url)
        }
        try rewrite { $0 == "transformer.h.1.ln_2.bias" ? nil : ($0, $1, $2) }
        expectError(directory, containing: ["model.safetensors", "missing tensor 'transformer.h.1.ln_2.bias'"])
        try rewrite { $0 == "transformer.wpe.weight" ? ($0, [24, 32], $2) : ($0, $1, $2) }
        expectError(directory, containing: ["model.safetensors", "transformer.wpe.weight", "[24, 32]", "[32, 24]"])
        try rewrite { name, shape, values in name == "transformer.ln_f.bias" ? ("transformer.ln_g.bias", shape, values) : (name, shape, values) }
        expectError(directory, containing: ["model.safetensors"])
        try FileManager.default.removeItem(at: url)
        expectError(directory, containing: ["model.safetensors", "no such file"])
    }

    @Test("checkpoints with the bare trunk's names, old attention buffers, or a tied lm_head load")
    func acceptedVariants() throws {
        let directory = try copyOfTiny()
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try SafeTensorsFile(contentsOf: tinyGPT2.appendingPathComponent("model.safetensors"))
        var writer = SafeTensorsWriter()
        for name in original.names {
            try writer.add(String(name.dropFirst("transformer.".count)), shape: try original.info(name).shape, floats: try original.floats(name))
        }
        try writer.add("h.0.attn.bias", shape: [1, 1, 32, 32], floats: Array(repeating: 1, count: 1024))
        try writer.add("lm_head.weight", shape: [97, 24], floats: try original.floats("transformer.wte.weight"))
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        let model = try GPT2LMHeadModel.load(from: directory)
        let reference = try GPT2LMHeadModel.load(from: tinyGPT2)
        #expect(model.transformer.wte.weight.scalars == reference.transformer.wte.weight.scalars)
    }

    @Test("a reward model whose tokenizer produces ids beyond its vocabulary is refused at load, naming vocab_size")
    func rewardTokenizerBeyondVocabulary() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-rm-vocab-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = GPT2Configuration(vocabularySize: 8, positions: 16, embeddingDimension: 8, layers: 1, heads: 2,
                                              bosTokenId: nil, eosTokenId: nil)
        let model = RewardModel(classifier: SequenceClassifier(gpt2: configuration, seed: 1),
                                tokenizer: CharacterTokenizer(corpus: "abcdefghijkl"), head: RewardHead(maxLength: 16))
        try model.save(to: directory)
        #expect(throws: CheckpointError.vocabularyMismatch(path: directory.path, idLimit: 12, vocabularySize: 8)) { try RewardModel.load(from: directory) }
    }

    @Test("a prompt longer than n_positions is an error naming the limit")
    func promptTooLong() throws {
        let model = try GPT2LMHeadModel.load(from: tinyGPT2)
        #expect(throws: GenerationError.self) { try sequenceLogProbabilities(model, tokens: Array(repeating: 3, count: 33)) }
        var generator = RandomGenerator(seed: 0)
        do {
            _ = try generate(model, prompts: [Array(repeating: 3, count: 40)], configuration: GenerationConfiguration(maxNewTokens: 1), generator: &generator)
            Issue.record("expected an error")
        } catch { #expect("\(error)".contains("40 tokens") && "\(error)".contains("n_positions 32")) }
    }
}

@Suite("Configuration round trip")
struct ConfigurationRoundTripTests {
    @Test("absent special ids stay absent through save and load (not GPT-2's 50256)")
    func nullIds() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let configuration = GPT2Configuration(vocabularySize: 12, positions: 16, embeddingDimension: 8, layers: 1, heads: 2,
                                              bosTokenId: nil, eosTokenId: nil)
        try configuration.save(to: url)
        #expect(try GPT2Configuration.load(from: url) == configuration)
        try Data("{\"model_type\": \"gpt2\"}".utf8).write(to: url)
        #expect(try GPT2Configuration.load(from: url).eosTokenId == 50256)
    }
}
