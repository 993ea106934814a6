// BERT-family encoders against transformers and sentence-transformers (fixtures made by
// scripts/reference/encoder_parity.py): MiniLM's real weights, a tiny random
// BertForSequenceClassification and a tiny random RobertaForSequenceClassification.

import Foundation
import Models
import NN
import Tensors
import Testing
import Tokenizers

/// The shared-data collection (`RLHF_SHARED_DATA` or `<package>/../shared/data`).
let sharedDataDirectory: URL = {
    if let override = ProcessInfo.processInfo.environment["RLHF_SHARED_DATA"] { return URL(fileURLWithPath: override) }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data").standardizedFileURL
}()
let miniLMDirectory = sharedDataDirectory.appendingPathComponent("minilm")
let hasMiniLM = FileManager.default.fileExists(atPath: miniLMDirectory.appendingPathComponent("model.safetensors").path)

/// The largest |a − b|.
func worstAbsolute(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) } }

func readJSON(_ url: URL) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
}

func floats(_ value: Any?) -> [Float] {
    if let rows = value as? [[Double]] { return rows.flatMap { $0.map(Float.init) } }
    return (value as? [Double] ?? []).map(Float.init)
}

func integerRows(_ value: Any?) -> [[Int]] { value as? [[Int]] ?? [] }

@Suite("Encoder parity with transformers")
struct EncoderParityTests {
    @Test("MiniLM (sentence-transformers all-MiniLM-L6-v2): ids, hidden states, pooler and normalized mean-pooled embeddings to 1e-4",
          .enabled(if: hasMiniLM, "needs ../shared/data/minilm"))
    func miniLM() throws {
        let reference = try readJSON(fixtures.appendingPathComponent("minilm_reference.json"))
        let sentences = try #require(reference["sentences"] as? [String])
        let encoder = try SentenceEncoder(directory: miniLMDirectory)
        #expect(encoder.pooling == .mean && encoder.normalize && encoder.maxLength == 256)
        let expectedIds = integerRows(reference["input_ids"]), mask = integerRows(reference["attention_mask"])
        for (index, sentence) in sentences.enumerated() {
            let real = zip(expectedIds[index], mask[index]).filter { $0.1 == 1 }.map(\.0)
            #expect(try encoder.encode(sentence) == real, "ids of \(sentence)")
        }
        let embeddings = try encoder.embed(sentences)
        let worst = worstAbsolute(embeddings.flatMap { $0 }, floats(reference["embeddings"]))
        #expect(worst < 1e-4, "embeddings differ by \(worst)")
        // Token states and the pooler of sentence 0.
        let ids = try encoder.encode(sentences[0])
        let input = EncoderInput(sequences: [ids], padding: 0)
        let hidden = withNoGrad { encoder.model(input) }
        let hiddenWorst = worstAbsolute(hidden.scalars, floats(reference["last_hidden_state_0"]))
        #expect(hiddenWorst < 1e-4, "last_hidden_state differs by \(hiddenWorst)")
        let pooler = try #require(encoder.model.pooler)
        let pooled = withNoGrad { pooler(hidden) }
        #expect(worstAbsolute(pooled.scalars, floats(reference["pooler_output_0"])) < 1e-4)
        // The cosine similarities sentence-transformers reports.
        func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let expectedCosine = floats(reference["cosine"])
        let pairs = [(0, 1), (2, 3), (0, 2), (1, 3)]
        for (pair, expected) in zip(pairs, expectedCosine) {
            #expect(abs(cosine(embeddings[pair.0], embeddings[pair.1]) - expected) < 1e-4)
        }
        // Padding in a batch changes nothing: each sentence alone equals its row of the batch.
        let alone = try encoder.embed([sentences[4]])
        #expect(worstAbsolute(alone[0], embeddings[4]) < 1e-5)
    }

    @Test("tiny BertForSequenceClassification (multi-label): tokenizer ids, logits, sigmoid probabilities and a sentence pair")
    func bertClassifier() throws {
        let directory = fixtures.appendingPathComponent("bert-tiny-classifier")
        let expected = try readJSON(directory.appendingPathComponent("expected.json"))
        let classifier = try TextClassifier.load(from: directory)
        #expect(classifier.model is BertForSequenceClassification)
        #expect(classifier.labels == ["joy", "anger", "fear", "neutral"] && classifier.model.configuration.isMultiLabel)
        let texts = try #require(expected["texts"] as? [String])
        let ids = integerRows(expected["input_ids"]), mask = integerRows(expected["attention_mask"])
        for (index, text) in texts.enumerated() {
            #expect(try classifier.encode(text) == zip(ids[index], mask[index]).filter { $0.1 == 1 }.map(\.0), "ids of \(text)")
        }
        let logits = withNoGrad { classifier.model(classifier.input(try! texts.map(classifier.encode))) }
        #expect(worstAbsolute(logits.scalars, floats(expected["logits"])) < 1e-4)
        let probabilities = try classifier.probabilities(texts)
        #expect(worstAbsolute(probabilities.flatMap { $0 }, floats(expected["probabilities"])) < 1e-5)
        // A pair: token types 1 on the second segment.
        let pair = try #require(expected["pair"] as? [String: Any])
        let pairIds = try #require(pair["input_ids"] as? [Int]), pairTypes = try #require(pair["token_type_ids"] as? [Int])
        let pairInput = EncoderInput(sequences: [pairIds], padding: 0, tokenTypes: [pairTypes])
        let pairLogits = withNoGrad { classifier.model(pairInput) }
        #expect(worstAbsolute(pairLogits.scalars, floats(pair["logits"])) < 1e-4)
        let withoutTypes = withNoGrad { classifier.model(EncoderInput(sequences: [pairIds], padding: 0)) }
        #expect(worstAbsolute(withoutTypes.scalars, floats(pair["logits"])) > 1e-3, "token types must matter")
    }

    @Test("tiny RobertaForSequenceClassification: byte-level BPE ids with <s> </s>, offset position ids, logits")
    func robertaClassifier() throws {
        let directory = fixtures.appendingPathComponent("roberta-tiny-classifier")
        let expected = try readJSON(directory.appendingPathComponent("expected.json"))
        let classifier = try TextClassifier.load(from: directory)
        let model = try #require(classifier.model as? RobertaForSequenceClassification)
        #expect(classifier.labels == ["sad", "neutral", "happy"] && !model.configuration.isMultiLabel)
        let texts = try #require(expected["texts"] as? [String])
        let ids = integerRows(expected["input_ids"]), mask = integerRows(expected["attention_mask"])
        let sequences = try texts.map(classifier.encode)
        for (index, sequence) in sequences.enumerated() {
            #expect(sequence == zip(ids[index], mask[index]).filter { $0.1 == 1 }.map(\.0), "ids of \(texts[index])")
        }
        let input = classifier.input(sequences)
        #expect(model.roberta.embeddings.positionIds(input.ids).values.map(Int.init) == integerRows(expected["position_ids"]).flatMap { $0 })
        let logits = withNoGrad { model(input) }
        #expect(worstAbsolute(logits.scalars, floats(expected["logits"])) < 1e-4)
    }

    @Test("a saved classifier loads back with the same logits, names and config (transformers layout)")
    func saveAndLoad() throws {
        let directory = fixtures.appendingPathComponent("roberta-tiny-classifier")
        let classifier = try TextClassifier.load(from: directory)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("encoder-save-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try classifier.model.save(to: scratch, tokenizer: classifier.tokenizer)
        let reloaded = try TextClassifier.load(from: scratch)
        let texts = ["O Romeo!", "Hi"]
        #expect(try reloaded.probabilities(texts) == classifier.probabilities(texts))
        let original = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        let saved = try SafeTensorsFile(contentsOf: scratch.appendingPathComponent("model.safetensors"))
        #expect(Set(saved.names) == Set(original.names.filter { !$0.hasSuffix("position_ids") }))
        let config = try readJSON(scratch.appendingPathComponent("config.json"))
        #expect(config["architectures"] as? [String] == ["RobertaForSequenceClassification"] && config["model_type"] as? String == "roberta")
    }

    @Test("old checkpoints load: LayerNorm gamma/beta names, trunk names without the roberta. prefix, a pooler the RoBERTa head does not use")
    func checkpointVariants() throws {
        let directory = fixtures.appendingPathComponent("roberta-tiny-classifier")
        let original = try TextClassifier.load(from: directory)
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("encoder-variants-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name != "model.safetensors" {
            try FileManager.default.copyItem(at: directory.appendingPathComponent(name), to: scratch.appendingPathComponent(name))
        }
        var writer = SafeTensorsWriter()
        for name in file.names where !name.hasSuffix("position_ids") {
            var renamed = name.replacingOccurrences(of: "LayerNorm.weight", with: "LayerNorm.gamma")
                .replacingOccurrences(of: "LayerNorm.bias", with: "LayerNorm.beta")
            if renamed.hasPrefix("roberta.encoder.") { renamed = String(renamed.dropFirst("roberta.".count)) }
            try writer.add(renamed, shape: try file.info(name).shape, floats: try file.floats(name))
        }
        try writer.add("roberta.pooler.dense.weight", shape: [32, 32], floats: [Float](repeating: 0.5, count: 32 * 32))
        try writer.add("roberta.pooler.dense.bias", shape: [32], floats: [Float](repeating: 0.5, count: 32))
        try writer.write(to: scratch.appendingPathComponent("model.safetensors"))
        let variant = try TextClassifier.load(from: scratch)
        let texts = ["O Romeo, Romeo!", "The café is closed."]
        #expect(try variant.probabilities(texts) == original.probabilities(texts))
        // Something that matches nothing is still an error.
        try writer.add("roberta.encoder.layer.0.extra.weight", shape: [2], floats: [1, 2])
        try writer.write(to: scratch.appendingPathComponent("model.safetensors"))
        let error = try #require(throws: CheckpointError.self) { _ = try TextClassifier.load(from: scratch) }
        #expect(error == .unexpectedTensor(path: scratch.appendingPathComponent("model.safetensors").path, name: "roberta.encoder.layer.0.extra.weight", others: 0))
    }

    @Test("a bare encoder gets a new head; bad checkpoints are errors naming the file and field",
          .enabled(if: hasMiniLM, "needs ../shared/data/minilm"))
    func newHeadAndErrors() throws {
        let model = try makeEncoderClassifier(fromEncoder: miniLMDirectory, labels: ["a", "b", "c"], problemType: "single_label_classification", seed: 1)
        let bert = try #require(model as? BertForSequenceClassification)
        #expect(bert.classifier.weight.shape == [3, 384] && bert.isTrainingAnywhere)
        let file = try SafeTensorsFile(contentsOf: miniLMDirectory.appendingPathComponent("model.safetensors"))
        #expect(bert.bert.encoder.layer[5].output.dense.weight.scalars == (try file.floats("encoder.layer.5.output.dense.weight")))
        #expect(throws: CheckpointError.notAClassifier(path: miniLMDirectory.appendingPathComponent("config.json").path)) {
            try loadEncoderClassifier(from: miniLMDirectory)  // no labels: a bare encoder
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("encoder-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let config = scratch.appendingPathComponent("config.json")
        try Data(#"{"model_type": "bert", "hidden_size": 30, "num_attention_heads": 4}"#.utf8).write(to: config)
        #expect(throws: CheckpointError.invalidField(path: config.path, field: "hidden_size", problem: "(30) must be divisible by 'num_attention_heads' (4)")) {
            try EncoderConfiguration.load(from: config)
        }
        try Data(#"{"model_type": "t5"}"#.utf8).write(to: config)
        #expect(throws: CheckpointError.unsupportedModelType(path: config.path, modelType: "t5", supported: ["bert", "roberta"])) {
            try EncoderConfiguration.load(from: config)
        }
        try Data(#"{"model_type": "bert", "hidden_act": "swish"}"#.utf8).write(to: config)
        #expect(throws: CheckpointError.unsupportedValue(path: config.path, field: "hidden_act", value: "swish", supported: EncoderConfiguration.supportedActivations)) {
            try EncoderConfiguration.load(from: config)
        }
        try Data(#"{"model_type": "bert", "id2label": {"0": "a", "00": "b"}}"#.utf8).write(to: config)
        let labelError = try #require(throws: CheckpointError.self) { try EncoderConfiguration.load(from: config) }
        if case .invalidField(config.path, "id2label", _) = labelError {} else { Issue.record("\(labelError)") }
    }

    @Test("inputs longer than max_length keep their beginning between the markers (HF truncation=True)")
    func truncation() throws {
        let classifier = try TextClassifier.load(from: fixtures.appendingPathComponent("bert-tiny-classifier"), maxLength: 5)
        let text = "the people are noble and the king is dead"
        let full = classifier.tokenizer.encode(text)
        #expect(full.count > 3)
        let cls = try #require(classifier.tokenizer.specialTokens["[CLS]"]), sep = try #require(classifier.tokenizer.specialTokens["[SEP]"])
        #expect(try classifier.encode(text) == [cls] + full.prefix(3) + [sep])
        let tooLong = try #require(throws: CheckpointError.self) { try TextClassifier.load(from: fixtures.appendingPathComponent("bert-tiny-classifier"), maxLength: 65) }
        if case .invalidMaxLength(_, 65, _) = tooLong {} else { Issue.record("\(tooLong)") }
        // RoBERTa's table (66 positions, padding id 1) fits 64 tokens: the longest input reaches position 65.
        let roberta = try TextClassifier.load(from: fixtures.appendingPathComponent("roberta-tiny-classifier"))
        #expect(roberta.maxLength == 64)
        let long = try roberta.encode(String(repeating: "O Romeo, wherefore art thou? ", count: 20))
        #expect(long.count == 64)
        let logits = withNoGrad { roberta.model(roberta.input([long])) }
        let finite = logits.scalars.allSatisfy { $0.isFinite }
        #expect(finite)
    }
}
