// The reward head on an LM's trunk: lm-human-preferences' initialisation N(0, 1/(C+1)) and no
// bias (HF's `score` has none; reward_model.json's bias starts at 0), and the trunk is shared.

import Foundation
import Models
import NN
import Tensors
import Testing

@Suite("Reward head initialisation")
struct RewardHeadInitTests {
    @Test("score.weight is N(0, 1/√(C+1)) with no bias; the trunk is the LM's own tensors")
    func initialisation() {
        let configuration = GPT2Configuration(vocabularySize: 16, positions: 8, embeddingDimension: 255, layers: 1, heads: 3)
        let lm = GPT2LMHeadModel(configuration, seed: 1)
        let stds: [Double] = (0..<40).map { seed in
            let head = SequenceClassifier(trunk: lm.transformer, source: lm.source, labels: 1, seed: UInt64(seed))
            let w = head.score.weight.scalars.map(Double.init)
            return (w.reduce(0) { $0 + $1 * $1 } / Double(w.count)).squareRoot()
        }
        let pooled = (stds.reduce(0) { $0 + $1 * $1 } / Double(stds.count)).squareRoot()
        // 40 × 255 draws: the pooled std is within ~2% of 1/√256 = 0.0625.
        #expect(abs(pooled - 0.0625) < 0.0625 * 0.03, "\(pooled)")
        let head = SequenceClassifier(trunk: lm.transformer, source: lm.source, labels: 1, seed: 3)
        #expect(head.namedParameters().map(\.name).filter { $0.hasPrefix("score") } == ["score.weight"])
        #expect(head.parameter(named: "transformer.wte.weight") === lm.transformer.wte.weight)
        #expect(RewardHead(maxLength: 8).gain == 1 && RewardHead(maxLength: 8).bias == 0)
    }
}
