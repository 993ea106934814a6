// T5 sequence classifiers (reward models): parity with transformers' T5ForSequenceClassification
// on a tiny random model made by scripts/reference/t5_parity.py make-classifier (logits, loss,
// gradients of the trunk and the dense/tanh/out_proj head), the `</s>` the score is read at, the
// padding mask a bidirectional encoder needs, a save/load round trip, and a reward model made from
// a T5 language model sharing its encoder and decoder.

import Foundation
import Models
import NN
import Tensors
import Testing

@Suite("T5 sequence classifiers")
struct T5ClassifierTests {
    static let folder = fixtures.appendingPathComponent("t5-classifier-tiny")

    func load() throws -> (SequenceClassifier, SafeTensorsFile, IndexTensor, Tensor, [Int]) {
        let classifier = try SequenceClassifier.load(from: Self.folder)
        let expected = try SafeTensorsFile(contentsOf: Self.folder.appendingPathComponent("expected.safetensors"))
        let ids = try indexTensor(expected, "input_ids")
        let mask = Tensor(shape: ids.shape, values: try expected.int64s("attention_mask").map(Float.init))
        let T = ids.shape[1]
        let lengths = (0..<ids.shape[0]).map { b in (0..<T).filter { mask.data[b * T + $0] != 0 }.count }
        return (classifier, expected, ids, mask, lengths)
    }

    @Test("logits and loss match transformers' T5ForSequenceClassification to 1e-4, read at each row's </s> of a padded batch")
    func forward() throws {
        let (classifier, expected, ids, mask, lengths) = try load()
        #expect(classifier.trunk is T5ClassifierTrunk && classifier.dense != nil && classifier.score.bias != nil)
        #expect(classifier.namedParameters().suffix(4).map(\.name) == ["classification_head.dense.weight", "classification_head.dense.bias",
                                                                         "classification_head.out_proj.weight", "classification_head.out_proj.bias"])
        let reference = try expected.floats("logits")
        let withMask = withNoGrad { classifier(ids, mask: mask) }.scalars
        let fromLengths = withNoGrad { classifier.outputs(ids, lengths: lengths) }.scalars
        let deviation = worstRelative(fromLengths, reference)
        #expect(worstRelative(withMask, reference) < 1e-4)
        #expect(deviation < 1e-4)
        // Without the padding mask row 1's encoder would read its padding: other scores.
        let unmasked = withNoGrad { classifier(ids) }.scalars  // reads the last column, padding included
        #expect(abs(unmasked[2] - reference[2]) > 1e-3)
        let labels = IndexTensor(shape: [2], values: try expected.int64s("labels").map { Int32($0) })
        let loss = crossEntropy(classifier.outputs(ids, lengths: lengths), targets: labels)
        #expect(abs(loss.item - (try expected.floats("loss"))[0]) < 1e-5)
        print("T5 parity classifier: logits \(deviation) (worst relative), loss |Δ| \(abs(loss.item - (try expected.floats("loss"))[0]))")
    }

    @Test("gradients of the loss match transformers to 1e-4 (shared embedding, both stacks, dense and out_proj with biases)")
    func gradients() throws {
        let (classifier, expected, ids, _, lengths) = try load()
        let labels = IndexTensor(shape: [2], values: try expected.int64s("labels").map { Int32($0) })
        crossEntropy(classifier.outputs(ids, lengths: lengths), targets: labels).backward()
        let (checked, worstRatio) = try expectGradientsMatch(classifier, expected)
        print("T5 parity classifier: \(checked) gradients, worst |Δ| / largest |g| \(worstRatio)")
        #expect(checked == 9)
    }

    @Test("inputs end with </s> once, within the limit; a decoder's classifier keeps the text's last tokens")
    func inputs() throws {
        let (classifier, _, _, _, _) = try load()
        #expect(classifier.input([5, 6, 7], limit: 8) == [5, 6, 7, 1])
        #expect(classifier.input([5, 6, 7, 1], limit: 8) == [5, 6, 7, 1])
        #expect(classifier.input([5, 6, 7, 8], limit: 3) == [7, 8, 1])
        #expect(classifier.input([], limit: 3) == [1])
        let gpt2 = SequenceClassifier(trunk: GPT2LMHeadModel(GPT2Configuration(vocabularySize: 12, positions: 8, embeddingDimension: 8, layers: 1, heads: 2)).transformer,
                                      source: RandomSource(seed: 1), labels: 1, seed: 1)
        #expect(gpt2.input([5, 6, 7], limit: 2) == [6, 7] && gpt2.dense == nil)
    }

    @Test("a saved classifier reloads with the same scores and transformers' names; a T5 LM gives a reward model its encoder and decoder")
    func roundTripAndFromLanguageModel() throws {
        let (classifier, _, ids, _, lengths) = try load()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t5-classifier-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try classifier.save(to: directory.appendingPathComponent("saved"))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("saved/config.json"))) as? [String: Any]
        #expect(config?["architectures"] as? [String] == ["T5ForSequenceClassification"] && config?["num_labels"] as? Int == 2)
        let names = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("saved/model.safetensors")).names
        #expect(names.contains("transformer.shared.weight") && names.contains("classification_head.out_proj.bias") && !names.contains { $0.hasPrefix("lm_head") })
        let reloaded = try SequenceClassifier.load(from: directory.appendingPathComponent("saved"))
        let before = withNoGrad { classifier.outputs(ids, lengths: lengths) }.scalars
        #expect(withNoGrad { reloaded.outputs(ids, lengths: lengths) }.scalars == before)

        // A T5 LM checkpoint: the reward model's trunk is its encoder and decoder (the same tensors).
        let lm = try T5ForConditionalGeneration.load(from: fixtures.appendingPathComponent("flan-t5-tiny"))
        try lm.save(to: directory.appendingPathComponent("lm"), tokenizer: nil)
        #expect(try ModelLoader.classifierEndOfSequence(of: directory.appendingPathComponent("lm")) == 1)
        let (trunk, source) = try ModelLoader.classifierTrunk(from: directory.appendingPathComponent("lm"))
        let reward = SequenceClassifier(trunk: trunk, source: source, labels: 1, seed: 3)
        let loaded = try #require(trunk as? T5ClassifierTrunk)
        #expect(loaded.shared.weight.scalars == lm.shared.weight.scalars)
        #expect(reward.namedParameters().count == lm.namedParameters().count - 1 + 4, "the LM's tensors but lm_head, plus the head's four")
        // Saved and reloaded, the Flan-T5 reward model keeps its config's untied embeddings.
        try reward.save(to: directory.appendingPathComponent("reward"))
        let rewardConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("reward/config.json"))) as? [String: Any]
        #expect(rewardConfig?["tie_word_embeddings"] as? Bool == false && rewardConfig?["num_labels"] as? Int == 1)
        let reloadedReward = try SequenceClassifier.load(from: directory.appendingPathComponent("reward"))
        #expect((reloadedReward.trunk as? T5ClassifierTrunk)?.configuration.tieWordEmbeddings == false)
        // A language-model checkpoint is not a classifier.
        #expect(throws: CheckpointError.self) { try SequenceClassifier.load(from: directory.appendingPathComponent("lm")) }
        // A language model whose config.json carries num_labels still saves as a language model.
        let lmConfig = directory.appendingPathComponent("lm/config.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: lmConfig)) as? [String: Any])
        object["num_labels"] = 3
        try JSONSerialization.data(withJSONObject: object).write(to: lmConfig)
        let labelled = try T5ForConditionalGeneration.load(from: directory.appendingPathComponent("lm"))
        #expect(labelled.configuration.labelCount == nil && labelled.configuration.jsonObject["architectures"] as? [String] == ["T5ForConditionalGeneration"])
    }
}
