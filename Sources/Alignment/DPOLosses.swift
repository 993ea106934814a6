// Direct preference optimisation losses over sequence log-probabilities (Rafailov et al. 2023),
// IPO (Azar et al. 2023) and conservative DPO (label smoothing), written as TRL's DPOTrainer
// `dpo_loss` computes them.

import Kernels
import Tensors

/// The DPO family's losses.
public enum DPOLossType: String, SettingChoice {
    /// −(1 − ε)·log σ(β·h) − ε·log σ(−β·h); ε = 0 is DPO, ε > 0 conservative DPO.
    case sigmoid
    /// (h − 1/(2β))² (IPO; TRL feeds it per-token mean log-probabilities).
    case ipo
}

/// A batch's DPO loss and the implicit rewards.
public struct DPOLossResult {
    /// Mean loss over pairs.
    public var loss: Tensor
    /// β·(log π(y_w) − log π_ref(y_w)) and the same for y_l, per pair (not differentiated).
    public var chosenRewards: [Float], rejectedRewards: [Float]
}

/// DPO, conservative DPO or IPO over a batch of pairs.
///
/// h = (log π(y_w) − log π(y_l)) − (log π_ref(y_w) − log π_ref(y_l)); reference-free training
/// passes zeros for the reference.
/// - Parameters:
///   - policyChosen: log π(y_w | x) per pair, (B), differentiable.
///   - policyRejected: log π(y_l | x), (B), differentiable.
///   - referenceChosen: log π_ref(y_w | x), (B).
///   - referenceRejected: log π_ref(y_l | x), (B).
///   - beta: β.
///   - type: sigmoid or IPO.
///   - labelSmoothing: ε in [0, 0.5) (sigmoid only).
public func dpoLoss(policyChosen: Tensor, policyRejected: Tensor, referenceChosen: [Float], referenceRejected: [Float],
                    beta: Float, type: DPOLossType = .sigmoid, labelSmoothing: Float = 0) -> DPOLossResult {
    let B = policyChosen.count
    require(policyRejected.count == B && referenceChosen.count == B && referenceRejected.count == B, "dpoLoss: batch sizes differ")
    let referenceMargin = Tensor(shape: [B], values: zip(referenceChosen, referenceRejected).map { $0 - $1 })
    let h = (policyChosen - policyRejected) - referenceMargin
    let losses: Tensor
    switch type {
    case .sigmoid:
        let positive = (h * beta).logSigmoid(), negative = (h * -beta).logSigmoid()
        losses = -(positive * (1 - labelSmoothing)) - negative * labelSmoothing
    case .ipo:
        losses = (h - 1 / (2 * beta)).squared()
    }
    let chosen = zip(policyChosen.scalars, referenceChosen).map { beta * ($0 - $1) }
    let rejected = zip(policyRejected.scalars, referenceRejected).map { beta * ($0 - $1) }
    return DPOLossResult(loss: losses.mean(), chosenRewards: chosen, rejectedRewards: rejected)
}

/// RPO's NLL term on the chosen responses (Pang et al. 2024), as TRL 1.16 computes it for
/// `loss_type: sft` (TRL 0.x's `rpo_alpha`): −log π averaged over every chosen token of the
/// batch, Σ_b Σ_t log π(y_w,t) / Σ_b |y_w| negated — not a mean of per-pair means.
/// - Parameters:
///   - chosenSums: Σ_t log π(y_w,t) per pair, (B), differentiable.
///   - chosenTokens: |y_w| summed over the batch.
public func dpoNegativeLogLikelihood(chosenSums: Tensor, chosenTokens: Int) -> Tensor {
    require(chosenTokens > 0, "dpoNegativeLogLikelihood: no chosen tokens")
    return chosenSums.sum() * (-1 / Float(chosenTokens))
}
