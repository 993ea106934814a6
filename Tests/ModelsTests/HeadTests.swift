// The value head (TRL names) and the sequence-classification head (HF names, read at the last
// non-padding token).

import Foundation
import Models
import NN
import Tensors
import Testing

@Suite("Heads")
struct HeadTests {
    @Test("the value head has TRL's names and shapes, gives (B, T) values, and round-trips through a checkpoint")
    func valueHead() throws {
        let model = try GPT2LMHeadModel.load(from: tinyGPT2)
        let wrapped = ValueHeadModel(model: model)
        // A fresh head is all zeros (lm-human-preferences' init): every value is exactly 0.
        #expect(wrapped.valueHead.summary.weight.scalars.allSatisfy { $0 == 0 } && wrapped.valueHead.summary.bias!.scalars == [0])
        #expect(withNoGrad { wrapped(IndexTensor(shape: [1, 3], values: [4, 5, 6] as [Int32])).values }.scalars == [0, 0, 0])
        // Non-zero weights, so that the round trip below proves something.
        for i in 0..<24 { wrapped.valueHead.summary.weight.data[i] = Float(i % 7) * 0.1 - 0.3 }
        wrapped.valueHead.summary.bias!.data[0] = 0.25
        let names = wrapped.namedParameters().map(\.name)
        #expect(names.suffix(2) == ["v_head.summary.weight", "v_head.summary.bias"])
        #expect(wrapped.valueHead.summary.weight.shape == [1, 24] && wrapped.valueHead.summary.bias?.shape == [1])
        let ids = IndexTensor(shape: [2, 5], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as [Int32])
        let (logits, values) = wrapped(ids)
        #expect(logits.shape == [2, 5, 97] && values.shape == [2, 5])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-vhead-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try wrapped.save(to: directory)
        let reloaded = try ValueHeadModel.load(from: directory)
        #expect(reloaded.valueHead.summary.weight.scalars == wrapped.valueHead.summary.weight.scalars)
        #expect(withNoGrad { reloaded(ids).values }.scalars == withNoGrad { wrapped(ids).values }.scalars)
        // A plain LM checkpoint loads with the value-head tensors ignored.
        #expect(try GPT2LMHeadModel.load(from: directory).parameterCount == model.parameterCount)
    }

    @Test("the classifier reads the last non-padding token, whatever the padding side")
    func classifier() throws {
        let configuration = try GPT2Configuration.load(from: tinyGPT2.appendingPathComponent("config.json"))
        let classifier = SequenceClassifier(gpt2: configuration, labels: 1, seed: 4)
        classifier.setTraining(false)
        #expect(classifier.namedParameters().last?.name == "score.weight")
        #expect(classifier.score.weight.shape == [1, 24] && classifier.score.bias == nil)
        let alone = withNoGrad { classifier(IndexTensor(shape: [1, 4], values: [5, 6, 7, 8] as [Int32])) }.item
        let right = IndexTensor(shape: [1, 6], values: [5, 6, 7, 8, 0, 0] as [Int32])
        let rightScore = withNoGrad { classifier(right, mask: Tensor(shape: [1, 6], values: [1, 1, 1, 1, 0, 0])) }.item
        let left = IndexTensor(shape: [1, 6], values: [0, 0, 5, 6, 7, 8] as [Int32])
        let leftScore = withNoGrad {
            classifier(left, positions: positionIds(mask: [[0, 0, 1, 1, 1, 1]]), mask: Tensor(shape: [1, 6], values: [0, 0, 1, 1, 1, 1]))
        }.item
        #expect(abs(rightScore - alone) < 1e-5 && abs(leftScore - alone) < 1e-5)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-cls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try classifier.save(to: directory)
        let reloaded = try SequenceClassifier.load(from: directory)
        #expect(withNoGrad { reloaded(IndexTensor(shape: [1, 4], values: [5, 6, 7, 8] as [Int32])) }.item == alone)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as? [String: Any]
        #expect(config?["num_labels"] as? Int == 1 && (config?["architectures"] as? [String]) == ["GPT2ForSequenceClassification"])
    }
}
