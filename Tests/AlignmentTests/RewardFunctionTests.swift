// Reward functions: programmatic rewards by hand, a classifier's label probability, a learned
// reward model. (The HTTP scorer is tested in ClientsTests.)

import Foundation
import Alignment
import Models
import Tensors
import Testing
import Tokenizers

@Suite("Reward functions")
struct RewardFunctionTests {
    @Test("uppercase fraction, regex and target length, by hand")
    func programmatic() throws {
        #expect(try UppercaseFractionReward().rewards(prompts: ["", "", ""], responses: ["ABc", "123 !", "HELLO world"]) == [2.0 / 3, 0, 0.5])
        #expect(try RegexReward(pattern: "^[A-Z ]+$").rewards(prompts: ["", ""], responses: ["YES SIR", "No"]) == [1, 0])
        #expect(try TargetLengthReward(target: 4).rewards(prompts: ["", "", ""], responses: ["abcd", "ab", "abcdefgh"]) == [0, -0.5, -1])
        #expect(throws: RunError.self) { try RegexReward(pattern: "(") }
        #expect(throws: RunError.self) { try UppercaseFractionReward().rewards(prompts: ["a"], responses: []) }
    }

    @Test("a classifier's label probabilities are in [0, 1] and sum to 1 over the labels")
    func classifierLabel() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let lm = tinyModel()
        try SequenceClassifier(trunk: lm.transformer, source: lm.source, labels: 3, standardDeviation: 1, seed: 1)
            .save(to: directory, tokenizer: letters)
        let texts = ["abc", "j", "hello"].map { $0.filter { " abcdefghij".contains($0) } }
        let perLabel = try (0..<3).map { try ClassifierLabelReward(checkpoint: directory, label: $0).rewards(prompts: ["", "", ""], responses: texts) }
        for i in texts.indices {
            #expect(abs(perLabel.map { $0[i] }.reduce(0, +) - 1) < 1e-5)
            #expect(perLabel.allSatisfy { (0...1).contains($0[i]) })
        }
        #expect(perLabel[0] != perLabel[1])
        #expect(throws: RunError.self) { try ClassifierLabelReward(checkpoint: directory, label: 3) }
    }

    @Test("a learned reward model scores prompt + response, normalization applied")
    func learned() throws {
        let model = tinyRewardModel()
        model.head.gain = 2
        model.head.bias = 1
        let rewards = try LearnedReward(model: model).rewards(prompts: ["ab", "c"], responses: ["c", "de"])
        model.head.gain = 1
        model.head.bias = 0
        let raw = try model.rewards(for: ["abc", "cde"])
        #expect(zip(rewards, raw).allSatisfy { abs($0 - (2 * $1 + 1)) < 1e-6 })
    }
}
