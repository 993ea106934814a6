// Training helpers: learning-rate schedules, global-norm gradient clipping, gradient accumulation.

import Foundation
import Kernels
import Tensors

/// A learning-rate schedule: the multiplier of the base rate at each update.
/// Steps are 1-based: step 1 is the first update.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    /// The base rate throughout.
    case constant
    /// Linear warmup over `warmupSteps` (update s gets s/warmup, so the first update is not
    /// wasted at rate 0), then linear decay: update s > warmup gets 1 − (s − 1 − warmup) /
    /// (totalSteps − warmup) (towards `minimumRatio`), so the first update after warmup runs at
    /// the full rate and the last one, `totalSteps`, at 1/(totalSteps − warmup) — not at 0. As
    /// Hugging Face's `get_linear_schedule_with_warmup` after warmup and lm-human-preferences'
    /// `frac = 1 − (update − 1)/num_updates`; a one-step run trains at the full rate.
    case linear(warmupSteps: Int, totalSteps: Int, minimumRatio: Float)
    /// Linear warmup, then half a cosine over the same progress as `linear`, down to
    /// `minimumRatio`·base (nanoGPT's schedule, whose iteration it is our update it + 1).
    case cosine(warmupSteps: Int, totalSteps: Int, minimumRatio: Float)
    /// Noam (Vaswani et al. 2017): linear warmup, then ∝ 1/√step; scaled so that the peak, at
    /// `warmupSteps`, equals the base rate: multiplier = √warmup · min(step^−½, step · warmup^−3/2).
    case noam(warmupSteps: Int)

    /// The multiplier of the base rate for update `step` (1-based).
    public func multiplier(step: Int) -> Float {
        let s = Double(max(step, 1))
        switch self {
        case .constant:
            return 1
        case let .linear(warmup, total, minimum):
            if step <= warmup { return Float(s / Double(max(warmup, 1))) }
            let progress = min(1, (s - 1 - Double(warmup)) / Double(max(total - warmup, 1)))
            return Float(1 - progress * (1 - Double(minimum)))
        case let .cosine(warmup, total, minimum):
            if step <= warmup { return Float(s / Double(max(warmup, 1))) }
            let progress = min(1, (s - 1 - Double(warmup)) / Double(max(total - warmup, 1)))
            let cosine = 0.5 * (1 + Foundation.cos(Double.pi * progress))
            return Float(Double(minimum) + (1 - Double(minimum)) * cosine)
        case let .noam(warmup):
            let w = Double(max(warmup, 1))
            return Float(w.squareRoot() * min(1 / s.squareRoot(), s * Foundation.pow(w, -1.5)))
        }
    }

    /// The learning rate for update `step`: base · multiplier.
    public func learningRate(base: Float, step: Int) -> Float { base * multiplier(step: step) }
}

/// Scales the gradients of `parameters` so their global L2 norm is at most `maxNorm`
/// (torch.nn.utils.clip_grad_norm_: factor maxNorm / (norm + 1e-6) when below 1).
/// - Returns: the norm before clipping. Parameters without a gradient are ignored.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var seen = Set<ObjectIdentifier>()
    let gradients = parameters.compactMap(\.grad).filter { seen.insert(ObjectIdentifier($0)).inserted }
    var total = 0.0
    for gradient in gradients {
        var sum = FloatVector()
        var i = 0
        let data = gradient.data
        while i + 16 <= gradient.count { let v = data.vector(at: i); sum = sum.addingProduct(v, v); i += 16 }
        var partial = Double(sum.sum())
        while i < gradient.count { partial += Double(data[i]) * Double(data[i]); i += 1 }
        total += partial
    }
    let norm = Float(total.squareRoot())
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 {
        for gradient in gradients { affineForward(gradient.data, gradient.data, count: gradient.count, scale: factor, shift: 0) }
    }
    return norm
}

/// Gradient accumulation: runs `microBatches` forward/backward passes, each loss scaled by
/// 1/microBatches, so the summed gradients equal those of one pass over the whole batch (when the
/// loss is a mean over equal-sized micro-batches).
///
/// - Parameter loss: the loss of micro-batch i (a scalar that requires gradients).
/// - Returns: the mean of the micro-batch losses.
@discardableResult
public func accumulateGradients(microBatches: Int, _ loss: (Int) throws -> Tensor) rethrows -> Float {
    require(microBatches >= 1, "accumulateGradients: need at least one micro-batch, got \(microBatches)")
    var total: Float = 0
    for index in 0..<microBatches {
        let value = try loss(index)
        total += value.item
        (value * (1 / Float(microBatches))).backward()
    }
    return total / Float(microBatches)
}
