// Parity with TRL: scripts/reference/trl_dpo_losses.py ran TRL 1.16's own `DPOTrainer._compute_loss`
// on fixed per-token log-probs (output committed in Fixtures/trl_dpo_losses.json); our losses and
// implicit rewards on the same numbers match to 1e-6.

import Alignment
import Foundation
import NN
import Tensors
import Testing

@Suite("DPO parity with TRL")
struct DPOParityTests {
    @Test("sigmoid (β 0.1, 0.5), IPO (β 0.5), sigmoid + RPO's NLL (TRL 1.16's sft, weight 0.5) and reference-free losses, rewards/chosen and rewards/rejected equal TRL's within 1e-6")
    func trlLosses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/trl_dpo_losses.json")
        let fixture = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let chosen = try #require(fixture["chosen"] as? [[Double]]), rejected = try #require(fixture["rejected"] as? [[Double]])
        let referenceChosen = try #require(fixture["ref_chosen"] as? [Double]), referenceRejected = try #require(fixture["ref_rejected"] as? [Double])
        let cases = try #require(fixture["cases"] as? [[String: Any]])
        #expect(cases.count == 5)
        for testCase in cases {
            let type = try #require(DPOLossType(rawValue: testCase["loss_type"] as? String ?? ""))
            let beta = Float(try #require(testCase["beta"] as? Double))
            // IPO works on per-token means (TRL divides the log-ratio by the completion length).
            func prepare(_ rows: [[Double]], _ references: [Double]) -> (Tensor, [Float]) {
                let sums = rows.map { Float($0.reduce(0, +)) }
                let lengths = rows.map { Float($0.count) }
                if type == .ipo {
                    return (Tensor(shape: [rows.count], values: zip(sums, lengths).map { $0 / $1 }), zip(references, lengths).map { Float($0) / $1 })
                }
                return (Tensor(shape: [rows.count], values: sums), references.map(Float.init))
            }
            let referenceFree = testCase["reference_free"] as? Bool ?? false
            let (policyChosen, refChosen) = prepare(chosen, referenceFree ? [0, 0, 0] : referenceChosen)
            let (policyRejected, refRejected) = prepare(rejected, referenceFree ? [0, 0, 0] : referenceRejected)
            let result = dpoLoss(policyChosen: policyChosen, policyRejected: policyRejected, referenceChosen: refChosen,
                                 referenceRejected: refRejected, beta: beta, type: type)
            var loss = result.loss.item
            if let alpha = testCase["rpo_alpha"] as? Double {
                // RPO: TRL 1.16's `sft` term, token-averaged over the batch's chosen tokens.
                loss += Float(alpha) * dpoNegativeLogLikelihood(chosenSums: policyChosen, chosenTokens: chosen.reduce(0) { $0 + $1.count }).item
            }
            let expected = try #require(testCase["loss"] as? Double)
            #expect(abs(Double(loss) - expected) < 1e-6, "\(type) β \(beta): \(loss) vs \(expected)")
            if type == .sigmoid, let metrics = testCase["metrics"] as? [String: Double] {
                let meanChosen = result.chosenRewards.map(Double.init).reduce(0, +) / 3
                let meanRejected = result.rejectedRewards.map(Double.init).reduce(0, +) / 3
                #expect(abs(meanChosen - metrics["rewards/chosen"]!) < 1e-6)
                #expect(abs(meanRejected - metrics["rewards/rejected"]!) < 1e-6)
            }
        }
    }
}
