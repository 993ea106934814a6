// The proof that nothing outside `Models` knows the family: a second, tiny model family written
// only here — one block, learned positions, no biases, no norms, an untied LM head, names under
// `model.*` — goes through generation (with and without the key/value cache), SFT, a reward model,
// PPO and DPO, and loads through `ModelLoader` once registered.

import Foundation
import Kernels
import Alignment
import Models
import NN
import Tensors
import Testing
import Tokenizers

/// The tiny family's configuration (config.json with `model_type` "tiny-test").
struct TinyConfiguration: LanguageModelConfiguration, Codable, Equatable {
    var modelType: String { "tiny-test" }
    var vocabularySize: Int
    var hiddenSize: Int
    var positions: Int
    var heads: Int
    var eosTokenId: Int?
    var labelCount: Int?
    var layers: Int { 1 }
    var bosTokenId: Int? { nil }
    var padTokenId: Int? { nil }

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "hidden_size", positions = "max_position_embeddings", heads = "num_attention_heads"
        case eosTokenId = "eos_token_id", labelCount = "num_labels"
    }
}

/// One block without biases or norms: x + proj(attention(qkv(x))), then + down(relu(up(·))).
final class TinyTrunk: TransformerTrunk {
    var embed: Embedding
    var position: Embedding
    var qkv: Linear
    var proj: Linear
    var up: Linear
    var down: Linear
    let configuration: TinyConfiguration

    init(_ configuration: TinyConfiguration, generator: inout RandomGenerator) {
        self.configuration = configuration
        let C = configuration.hiddenSize
        embed = Embedding(count: configuration.vocabularySize, dimension: C, standardDeviation: 0.1, generator: &generator)
        position = Embedding(count: configuration.positions, dimension: C, standardDeviation: 0.1, generator: &generator)
        qkv = Linear(inputs: C, outputs: 3 * C, bias: false, standardDeviation: 0.1, generator: &generator)
        proj = Linear(inputs: C, outputs: C, bias: false, standardDeviation: 0.1, generator: &generator)
        up = Linear(inputs: C, outputs: 2 * C, bias: false, standardDeviation: 0.1, generator: &generator)
        down = Linear(inputs: 2 * C, outputs: C, bias: false, standardDeviation: 0.1, generator: &generator)
    }

    var modelConfiguration: any LanguageModelConfiguration { configuration }
    var parameterPrefix: String { "model" }
    var classifierArchitecture: String { "TinyForSequenceClassification" }

    func hiddenStates(_ ids: IndexTensor, positions: IndexTensor?, mask: Tensor?, cache: KeyValueCache?) -> Tensor {
        let (B, T) = (ids.shape[0], ids.shape[1])
        let past = cache?.length ?? 0
        let positionIds = positions ?? IndexTensor(shape: [B, T], values: (0..<(B * T)).map { Int32(past + $0 % T) })
        let x = embed(ids) + position(positionIds)
        let packed = qkv(x)
        let attended = cache.map { $0.attention(packed, layer: 0, paddingMask: mask) }
            ?? causalSelfAttention(packed, heads: configuration.heads, paddingMask: mask)
        let h = x + proj(attended)
        return h + down(up(h).relu())
    }

    func makeCache(batch: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(layers: 1, batch: batch, heads: configuration.heads, headSize: configuration.hiddenSize / configuration.heads, capacity: capacity)
    }

    func saveConfiguration(to url: URL, architecture: String, labelCount: Int?) throws {
        var configuration = self.configuration
        configuration.labelCount = labelCount
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as? [String: Any] ?? [:]
        object["model_type"] = "tiny-test"
        object["architectures"] = [architecture]
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    static func configuration(in directory: URL) throws -> TinyConfiguration {
        try JSONDecoder().decode(TinyConfiguration.self, from: Data(contentsOf: directory.appendingPathComponent("config.json")))
    }
}

/// The tiny family's causal LM: `model.*` and an untied `lm_head.weight`.
final class TinyLM: CausalLanguageModel {
    let model: TinyTrunk
    var lm_head: Linear
    let source = RandomSource(seed: 1)

    init(_ configuration: TinyConfiguration, seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        model = TinyTrunk(configuration, generator: &generator)
        lm_head = Linear(inputs: configuration.hiddenSize, outputs: configuration.vocabularySize, bias: false, standardDeviation: 0.1, generator: &generator)
    }

    var trunk: any TransformerTrunk { model }
    func logits(hidden: Tensor) -> Tensor { lm_head(hidden) }

    func save(to directory: URL, tokenizer: (any Tokenizer)?) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try model.saveConfiguration(to: directory.appendingPathComponent("config.json"), architecture: "TinyForCausalLM", labelCount: nil)
        try saveSafeTensors(to: directory.appendingPathComponent("model.safetensors"))
        try tokenizer?.save(to: directory)
    }

    static func load(from directory: URL) throws -> TinyLM {
        let model = TinyLM(try TinyTrunk.configuration(in: directory), seed: 0)
        // A value-head checkpoint carries v_head.* beside the LM's tensors: every parameter must be there.
        let report = try model.loadSafeTensors(from: directory.appendingPathComponent("model.safetensors"), strict: false)
        if let first = report.missing.first {
            throw CheckpointError.missingTensor(path: directory.appendingPathComponent("model.safetensors").path, name: first,
                                                others: report.missing.count - 1, encoderFamily: nil)
        }
        return model
    }
}

/// The family, as a package adding it would register it.
let tinyFamily = ModelFamily(
    modelTypes: ["tiny-test"], architectures: ["TinyForCausalLM", "TinyForSequenceClassification"],
    loadConfiguration: { try TinyTrunk.configuration(in: $0) },
    loadLanguageModel: { try TinyLM.load(from: $0) },
    loadClassifier: { directory in
        let configuration = try TinyTrunk.configuration(in: directory)
        var generator = RandomGenerator(seed: 0)
        let classifier = SequenceClassifier(trunk: TinyTrunk(configuration, generator: &generator), source: RandomSource(seed: 0),
                                            labels: configuration.labelCount ?? 1, standardDeviation: nil, generator: &generator)
        try classifier.loadSafeTensors(from: directory.appendingPathComponent("model.safetensors"), strict: true)
        return classifier
    })

let registerTinyFamily: Void = ModelLoader.register(tinyFamily)

/// A tiny-family LM over 12 ids (the 11 of `letters` and the end-of-sequence id 11 the SFT data uses).
func tinyFamilyModel(vocabulary: Int = 12, seed: UInt64 = 3) -> TinyLM {
    TinyLM(TinyConfiguration(vocabularySize: vocabulary, hiddenSize: 16, positions: 32, heads: 2, eosTokenId: nil), seed: seed)
}

@Suite("A second model family through every trainer")
struct SecondFamilyTests {
    @Test("generation: cached decoding equals full forward passes, and DecodingBatch equals generate token for token")
    func generation() throws {
        let model = tinyFamilyModel()
        let prompt = [1, 2, 3]
        let greedy = GenerationConfiguration(maxNewTokens: 6, sampling: SamplingConfiguration(temperature: 0))
        var generator = RandomGenerator(seed: 1)
        let generated = try generate(model, prompts: [prompt], configuration: greedy, generator: &generator)[0]
        // The same tokens by argmax over full, uncached forward passes.
        var tokens = prompt
        for _ in 0..<6 {
            let logits = withNoGrad { model(IndexTensor(shape: [1, tokens.count], values: tokens.map { Int32($0) })) }.scalars
            let V = 12, last = Array(logits[((tokens.count - 1) * V)..<(tokens.count * V)])
            tokens.append(last.indices.max { last[$0] < last[$1] }!)
        }
        #expect(generated.tokens == Array(tokens.dropFirst(prompt.count)))
        // Prompts of different lengths together (left padding: the mask and position ids matter)
        // give what each gives alone, in generate and in a two-row DecodingBatch.
        let short = [4, 5]
        var again = RandomGenerator(seed: 1)
        let alone = try generate(model, prompts: [short], configuration: greedy, generator: &again)[0]
        let together = try generate(model, prompts: [prompt, short], configuration: greedy, generator: &again)
        #expect(together[0].tokens == generated.tokens && together[1].tokens == alone.tokens)
        #expect(alone.tokens != generated.tokens, "the two prompts must differ for the check to mean anything")
        let batch = DecodingBatch(model: model, maximumBatch: 2)
        try batch.admit(id: 7, DecodingRequest(prompt: prompt, configuration: greedy))
        try batch.admit(id: 8, DecodingRequest(prompt: short, configuration: greedy))
        var finished: [Int: GeneratedSequence] = [:]
        while finished.count < 2 {
            for case let .finished(id, sequence) in batch.step() { finished[id] = sequence }
        }
        #expect(finished[7]?.tokens == generated.tokens && finished[8]?.tokens == alone.tokens)
    }

    @Test("SFT overfits eight pairs; DPO reaches accuracy 1.0 on six pairs")
    func sftAndDPO() throws {
        let run = try temporaryRun(), dpoRun = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root); try? FileManager.default.removeItem(at: dpoRun.root) }
        var configuration = sftConfiguration(steps: 200)
        configuration.validFraction = 0
        configuration.checkpointInterval = 1000
        var last: Float = .infinity
        try SFTTrainer(model: tinyFamilyModel(), sequences: sequences(alphabetPairs), configuration: configuration, run: run).train { last = $0.loss }
        #expect(last < 0.1, "final SFT loss \(last)")
        var dpo = dpoConfiguration(steps: 60)
        dpo.batchSize = 6
        let trainer = try DPOTrainer(policy: tinyFamilyModel(), reference: tinyFamilyModel(), examples: alphabetDPOPairs, configuration: dpo, run: dpoRun)
        try trainer.train()
        #expect(withNoGrad { trainer.loss(alphabetDPOPairs) }.metrics["rewards/accuracies"] == 1.0)
    }

    @Test("a reward model on the tiny trunk learns ordered pairs, saves as TinyForSequenceClassification and reloads through ModelLoader")
    func rewardModel() throws {
        _ = registerTinyFamily
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let lm = tinyFamilyModel()
        let model = RewardModel(classifier: SequenceClassifier(trunk: lm.trunk, source: lm.source, labels: 1, seed: 7), tokenizer: letters,
                                head: RewardHead(maxLength: 16))
        let trainer = try RewardTrainer(model: model, examples: orderedPairs, objective: .pairwise, configuration: rewardConfiguration(steps: 80), run: run)
        try trainer.train()
        #expect(withNoGrad { trainer.loss(orderedPairs) }.metrics["rewards/accuracies"] == 1.0)
        let names = model.classifier.namedParameters().map(\.name)
        #expect(names.first == "model.embed.weight" && names.last == "score.weight", "\(names)")
        let reloaded = try RewardModel.load(from: run.finalURL)
        #expect(try reloaded.rewards(for: ["abc", "cba"]) == model.rewards(for: ["abc", "cba"]))
        let config = try String(contentsOf: run.finalURL.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("TinyForSequenceClassification") && config.contains("tiny-test"))
    }

    @Test("PPO with a value head on the tiny LM learns the uppercase reward; the saved policy reloads through ModelLoader")
    func ppo() throws {
        _ = registerTinyFamily
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let trainer = try PPOTrainer(policy: ValueHeadModel(model: tinyFamilyModel(vocabulary: 11)), reference: tinyFamilyModel(vocabulary: 11),
                                     tokenizer: mixedCase, reward: UppercaseFractionReward(), prompts: ["ab", "cd", "e", "Ab", "dE", "a b", "c", "d"],
                                     evalPrompts: ["ab", "E"], configuration: tinyPPOConfiguration(iterations: 16), run: run)
        try trainer.train()
        let scores = try MetricsLog.read(run.metricsURL).compactMap { $0["objective/score"] as? Double }
        #expect(scores.count == 16)
        let first: Double = scores.prefix(3).reduce(0, +) / 3, last: Double = scores.suffix(3).reduce(0, +) / 3
        #expect(last > first + 0.2, "scores \(scores)")
        let reloaded = try ModelLoader.languageModel(from: run.finalURL)
        #expect(reloaded is TinyLM)
        let saved = try ValueHeadModel.load(from: run.finalURL)
        #expect(saved.valueHead.summary.weight.scalars == trainer.policy.valueHead.summary.weight.scalars)
    }

    @Test("a two-output classifier of the tiny family is a PPO reward by classifier:DIR:1; a new pretraining model of a family that cannot start from scratch is refused")
    func jobsThroughTheLoader() throws {
        _ = registerTinyFamily
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-family-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let lm = tinyFamilyModel()
        let classifier = SequenceClassifier(trunk: lm.trunk, source: lm.source, labels: 2, seed: 5)
        try classifier.save(to: directory, tokenizer: letters)
        let reward = try RewardSpecification.make("classifier:\(directory.path):1")
        let scores = try reward.rewards(prompts: ["", ""], responses: ["abc", "cba"])
        let probabilities = withNoGrad { classifier(IndexTensor(shape: [2, 3], values: ["abc", "cba"].flatMap(encoded))).softmax() }.scalars
        #expect(zip(scores, [probabilities[1], probabilities[3]]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(scores) vs \(probabilities)")
        #expect(throws: RunError.self) { try RewardSpecification.make("classifier:\(directory.path):joy") }
        let shape = NewModelShape(vocabularySize: 12, positions: 8, hiddenSize: 8, layers: 1, heads: 2, dropout: 0, bosTokenId: nil, eosTokenId: nil)
        let error = try #require(throws: CheckpointError.self, "the tiny family has no way to start from scratch") {
            try ModelLoader.newLanguageModel(modelType: "tiny-test", shape: shape, seed: 1)
        }
        if case let .cannotCreate("tiny-test", creatable) = error {
            #expect(creatable.contains("gpt2") && !creatable.contains("tiny-test"), "\(error)")
        } else { Issue.record("\(error)") }
    }

    @Test("a config.json of an unknown family is an error naming the file and the supported model types")
    func unknownFamily() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-family-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"{"model_type": "mamba", "architectures": ["MambaForCausalLM"]}"#.utf8).write(to: directory.appendingPathComponent("config.json"))
        let error = try #require(throws: CheckpointError.self, "loaded an unknown family") { try ModelLoader.languageModel(from: directory) }
        if case let .unsupportedModelType(path, "mamba", supported) = error {
            #expect(path == directory.appendingPathComponent("config.json").path && supported.contains("gpt2"), "\(error)")
        } else { Issue.record("\(error)") }
        let shape = NewModelShape(vocabularySize: 12, positions: 8, hiddenSize: 8, layers: 1, heads: 2, dropout: 0, bosTokenId: nil, eosTokenId: nil)
        let unknown = try #require(throws: CheckpointError.self, "made a model of an unknown family") {
            try ModelLoader.newLanguageModel(modelType: "mamba", shape: shape, seed: 1)
        }
        if case let .cannotCreate("mamba", creatable) = unknown {
            #expect(creatable.contains("gpt2"), "\(unknown)")
            #expect(unknown.description == "config: field 'model_type' is 'mamba'; a new model can be one of: \(creatable.joined(separator: ", "))")
        } else { Issue.record("\(unknown)") }
        #expect(try ModelLoader.newLanguageModel(modelType: "gpt2", shape: shape, seed: 1).modelConfiguration.vocabularySize == 12)
    }
}
