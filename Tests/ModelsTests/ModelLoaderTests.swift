// The loader picks the family from config.json — decoders (GPT-2) and encoders (BERT, RoBERTa)
// alike — and says what a family cannot load, naming the families that can.

import Foundation
import Models
import Testing

@Suite("Model loader")
struct ModelLoaderTests {
    let bert = fixtures.appendingPathComponent("bert-tiny-classifier")
    let roberta = fixtures.appendingPathComponent("roberta-tiny-classifier")

    @Test("BERT and RoBERTa classifiers load through the loader; GPT-2 is the decoder family")
    func families() throws {
        #expect(try ModelLoader.family(of: bert).modelTypes.contains("bert"))
        #expect(try ModelLoader.family(of: roberta).modelTypes.contains("roberta"))
        #expect(try ModelLoader.family(of: tinyGPT2).modelTypes == ["gpt2"])
        #expect(Set(["gpt2", "bert", "roberta"]).isSubset(of: ModelLoader.supportedModelTypes))
        #expect(try ModelLoader.encoderClassifier(from: bert).configuration.family == .bert)
        #expect(try ModelLoader.encoderClassifier(from: roberta).configuration.family == .roberta)
        let summary = try ModelLoader.configuration(of: bert)
        #expect(summary.modelType == "bert" && summary.vocabularySize > 0)
        #expect(try ModelLoader.languageModel(from: tinyGPT2).modelConfiguration.modelType == "gpt2")
    }

    @Test("asking a family for what it does not have names config.json and the families that have it")
    func refusals() throws {
        func kind(_ load: () throws -> Void) throws -> (path: String, modelTypes: [String], kind: String, families: [String]) {
            let error = try #require(throws: CheckpointError.self) { try load() }
            guard case let .missingKind(path, modelTypes, kind, families) = error else { Issue.record("\(error)"); return ("", [], "", []) }
            return (path, modelTypes, kind, families)
        }
        let causal = try kind { _ = try ModelLoader.languageModel(from: bert) }
        #expect(causal.path == bert.appendingPathComponent("config.json").path && causal.modelTypes == ["bert", "roberta"])
        #expect(causal.kind == "causal language model" && causal.families.contains("gpt2") && !causal.families.contains("bert"))
        let encoder = try kind { _ = try ModelLoader.encoderClassifier(from: tinyGPT2) }
        #expect(encoder.kind == "encoder classifier" && encoder.families == ["bert", "roberta"])  // (a test may register decoders, not encoders)
        let decoder = try kind { _ = try ModelLoader.classifier(from: roberta) }
        #expect(decoder.kind == "decoder sequence classifier" && decoder.families.contains("gpt2") && !decoder.families.contains("roberta"))
        // The text names config.json and the families that have one.
        #expect(CheckpointError.missingKind(path: "d/config.json", modelTypes: ["bert", "roberta"], kind: "causal language model", families: ["gpt2"]).description
                == "d/config.json: model_type 'bert/roberta' has no causal language model; families that have one: gpt2")
    }
}
