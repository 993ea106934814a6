// A reward model written by swift-rlhf, scored by transformers' GPT2ForSequenceClassification
// (scripts/reference/reward_model_check.py, run once; output committed) and by RewardModel here.

import Foundation
import Models
import Testing

@Suite("Reward model parity")
struct RewardModelParityTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/reward-tiny")

    @Test("transformers' scores (gain and bias from reward_model.json applied) equal ours within 1e-4")
    func transformersScores() throws {
        let data = try Data(contentsOf: Self.fixture.appendingPathComponent("transformers_scores.json"))
        let reference = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let texts = try #require(reference["texts"] as? [String])
        let expected = try #require(reference["scores"] as? [Double])
        let model = try RewardModel.load(from: Self.fixture)
        #expect(model.head.gain != 1 && model.head.bias != 0)  // the normalization is part of what is compared
        let scores = try model.rewards(for: texts, batchSize: 2)
        #expect(scores.count == expected.count)
        for (ours, theirs) in zip(scores, expected) {
            #expect(abs(Double(ours) - theirs) < 1e-4, "\(ours) vs \(theirs)")
        }
    }
}
