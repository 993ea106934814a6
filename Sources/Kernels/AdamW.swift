// Fused AdamW update over one parameter buffer (Loshchilov & Hutter, "Decoupled Weight Decay
// Regularization"; bias correction as Kingma & Ba). One pass reads p, g, m, v and writes p, m, v.

/// Where ε enters the denominator of the Adam update.
public enum AdamEpsilonPlacement: String, Codable, Sendable, CaseIterable {
    /// PyTorch: p −= lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε).
    case pytorch
    /// TensorFlow's `tf.train.AdamOptimizer` (used by openai/lm-human-preferences):
    /// p −= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε), i.e. ε is not bias-corrected.
    case tensorflow
}

/// One AdamW step over `count` elements, in place.
///
/// - Parameters:
///   - parameters, gradients, firstMoment, secondMoment: `count` elements each.
///   - step: the 1-based step number t used for bias correction.
///   - weightDecay: decoupled decay, p ← p · (1 − lr·weightDecay) before the Adam update.
public func adamWStep(
    parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
    firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, count: Int,
    learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, step: Int,
    epsilonPlacement: AdamEpsilonPlacement = .pytorch
) {
    require(step >= 1, "AdamW: step numbers start at 1, got \(step)")
    let correction1 = 1 - Float(Double(beta1).pow(step))
    let correction2 = 1 - Float(Double(beta2).pow(step))
    let stepSize: Float, vScale: Float
    switch epsilonPlacement {
    case .pytorch:
        stepSize = lr / correction1
        vScale = 1 / correction2.squareRoot()
    case .tensorflow:
        stepSize = lr * correction2.squareRoot() / correction1
        vScale = 1
    }
    let decay = 1 - lr * weightDecay
    let oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2
    ThreadPool.shared.parallelFor(count, minimumChunk: 1 << 16) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let gradient = g.vector(at: i)
            let first = (m.vector(at: i) * beta1).addingProduct(gradient, oneMinusBeta1)
            let second = (v.vector(at: i) * beta2).addingProduct(gradient * gradient, oneMinusBeta2)
            let update = first / (vectorSquareRoot(second) * vScale + epsilon)
            p.storeVector((p.vector(at: i) * decay).addingProduct(update, -stepSize), at: i)
            m.storeVector(first, at: i)
            v.storeVector(second, at: i)
            i += 16
        }
        while i < range.upperBound {
            let gradient = g[i]
            m[i] = beta1 * m[i] + oneMinusBeta1 * gradient
            v[i] = beta2 * v[i] + oneMinusBeta2 * gradient * gradient
            p[i] = p[i] * decay - stepSize * m[i] / (v[i].squareRoot() * vScale + epsilon)
            i += 1
        }
    }
}

/// Naive AdamW in Double, written as PyTorch's documentation states it: the reference for
/// `adamWStep`.
public func adamWReference(
    parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
    firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, count: Int,
    learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, step: Int,
    epsilonPlacement: AdamEpsilonPlacement = .pytorch
) {
    let b1 = Double(beta1), b2 = Double(beta2), rate = Double(lr), eps = Double(epsilon)
    for i in 0..<count {
        var theta = Double(p[i]) * (1 - rate * Double(weightDecay))
        let first = b1 * Double(m[i]) + (1 - b1) * Double(g[i])
        let second = b2 * Double(v[i]) + (1 - b2) * Double(g[i]) * Double(g[i])
        let c1 = 1 - b1.pow(step), c2 = 1 - b2.pow(step)
        switch epsilonPlacement {
        case .pytorch: theta -= rate * (first / c1) / ((second / c2).squareRoot() + eps)
        case .tensorflow: theta -= rate * c2.squareRoot() / c1 * first / (second.squareRoot() + eps)
        }
        p[i] = Float(theta)
        m[i] = Float(first)
        v[i] = Float(second)
    }
}

extension Double {
    /// self raised to a non-negative integer power.
    @usableFromInline
    func pow(_ exponent: Int) -> Double {
        var result = 1.0, base = self, e = exponent
        while e > 0 {
            if e & 1 == 1 { result *= base }
            base *= base
            e >>= 1
        }
        return result
    }
}
