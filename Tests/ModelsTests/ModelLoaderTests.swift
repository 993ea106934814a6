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
        #expect { _ = try ModelLoader.languageModel(from: bert) } throws: { error in
            let text = "\(error)"
            return error is CheckpointError && text.contains("config.json") && text.contains("has no causal language model") && text.contains("gpt2")
        }
        #expect { _ = try ModelLoader.encoderClassifier(from: tinyGPT2) } throws: { error in
            "\(error)".contains("has no encoder classifier; families that have one: bert, roberta")  // (a test may register decoders, not encoders)
        }
        #expect { _ = try ModelLoader.classifier(from: roberta) } throws: { error in
            "\(error)".contains("has no decoder sequence classifier; families that have one: ") && "\(error)".contains("gpt2")
        }
    }
}
