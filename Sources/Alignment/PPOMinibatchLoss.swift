// One accumulation pass of a PPO minibatch: the loss to differentiate and the parts the
// statistics are taken from.

import Tensors

/// One accumulation pass's loss (differentiable) and its parts.
struct PPOMinibatchLoss {
    /// policy + vf_coef·value (− ent_coef·entropy), a scalar.
    let total: Tensor
    /// The clipped policy and value losses with their diagnostics.
    let policy: PolicyLossResult, value: ValueLossResult
    /// The mean entropy over the pass's response tokens, a scalar.
    let entropy: Tensor
    /// Response tokens in the pass.
    let tokens: Int
}
