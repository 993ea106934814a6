// Elementwise activations: each forward beside its backward, a naive reference beside each fast one.
// Shapes: flat buffers of `count` elements. Backward kernels accumulate: dx += f'(x) · dout.

import Foundation

/// Runs `body` over contiguous chunks of `0..<count` on the shared pool (chunks of ≥ 32K elements).
@inlinable
public func parallelElements(_ count: Int, _ body: (Range<Int>) -> Void) {
    ThreadPool.shared.parallelFor(count, minimumChunk: 1 << 15, body)
}

/// √(2/π), the constant of GELU's tanh approximation.
public let geluScale: Float = 0.7978845608028654

/// GELU in Hugging Face's `gelu_new` form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
///
/// - x, out: `count` elements (may alias).
public func geluForward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int) {
    // 0.5·(1 + tanh(u)) = σ(2u), so gelu(x) = x / (1 + e^{−2u}): one exp, no tanh.
    parallelElements(count) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let v = x.vector(at: i)
            let u: FloatVector = geluScale * v.addingProduct(0.044715 * v * v, v)
            out.storeVector(v / (1 + vectorExp(-2 * u)), at: i)
            i += 16
        }
        while i < range.upperBound {
            out[i] = geluReferenceValue(x[i])
            i += 1
        }
    }
}

/// Backward of `geluForward`: dx += gelu'(x) · dout, with s = σ(2u):
/// gelu'(x) = s + 2·x·s·(1 − s)·u′, u′ = √(2/π)·(1 + 3·0.044715·x²).
public func geluBackward(
    _ x: UnsafePointer<Float>, _ dout: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int
) {
    parallelElements(count) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let v = x.vector(at: i)
            let v2: FloatVector = v * v
            let u: FloatVector = geluScale * v.addingProduct(0.044715 * v2, v)
            let s: FloatVector = 1 / (1 + vectorExp(-2 * u))
            let slope: FloatVector = geluScale * FloatVector(repeating: 1).addingProduct(v2, 3 * 0.044715)
            let local: FloatVector = s + 2 * v * s * (1 - s) * slope
            dx.storeVector(dx.vector(at: i).addingProduct(local, dout.vector(at: i)), at: i)
            i += 16
        }
        while i < range.upperBound {
            dx[i] += geluReferenceDerivative(x[i]) * dout[i]
            i += 1
        }
    }
}

/// Scalar GELU (tanh form) with libm's tanh: the reference for the vector kernel.
@inlinable
public func geluReferenceValue(_ x: Float) -> Float {
    0.5 * x * (1 + Foundation.tanh(geluScale * (x + 0.044715 * x * x * x)))
}

/// Scalar derivative of the tanh-form GELU: the reference for the vector kernel.
@inlinable
public func geluReferenceDerivative(_ x: Float) -> Float {
    let t = Foundation.tanh(geluScale * (x + 0.044715 * x * x * x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * geluScale * (1 + 3 * 0.044715 * x * x)
}

/// The unary elementwise functions with a kernel pair.
public enum UnaryFunction: Sendable {
    case relu, tanh, sigmoid, exp, log, negate, square, sqrt, abs
    /// log σ(x) = min(x, 0) − log(1 + e^{−|x|}), finite for every finite x.
    case logSigmoid
    /// Exact GELU x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (torch's `nn.GELU()`, Hugging Face's "gelu", BERT's).
    case geluErf

    /// The scalar value, the reference for the vector path.
    @inlinable
    public func value(_ x: Float) -> Float {
        switch self {
        case .relu: return x > 0 ? x : 0
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .negate: return -x
        case .square: return x * x
        case .sqrt: return x.squareRoot()
        case .abs: return Swift.abs(x)
        case .logSigmoid: return Swift.min(x, 0) - Foundation.log1p(Foundation.exp(-Swift.abs(x)))
        case .geluErf: return 0.5 * x * (1 + Foundation.erf(x * 0.70710678118654752))
        }
    }

    /// The derivative at x, given y = f(x).
    @inlinable
    public func derivative(x: Float, y: Float) -> Float {
        switch self {
        case .relu: return x > 0 ? 1 : 0
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .exp: return y
        case .log: return 1 / x
        case .negate: return -1
        case .square: return 2 * x
        case .sqrt: return 0.5 / y
        case .abs: return x > 0 ? 1 : (x < 0 ? -1 : 0)
        case .logSigmoid: return 1 / (1 + Foundation.exp(x))  // σ(−x)
        case .geluErf:  // Φ(x) + x·φ(x)
            return 0.5 * (1 + Foundation.erf(x * 0.70710678118654752)) + x * 0.3989422804014327 * Foundation.exp(-0.5 * x * x)
        }
    }

    @inlinable @inline(__always)
    func vectorValue(_ x: FloatVector) -> FloatVector? {
        switch self {
        case .relu: return x.replacing(with: 0, where: x .< 0)
        case .tanh: return vectorTanh(x)
        case .sigmoid: return vectorSigmoid(x)
        case .exp: return vectorExp(x)
        case .negate: return -x
        case .square: return x * x
        case .sqrt: return vectorSquareRoot(x)
        case .abs: return x.replacing(with: -x, where: x .< 0)
        case .geluErf: return 0.5 * x * (1 + vectorErf(x * 0.70710678118654752))
        case .log, .logSigmoid: return nil
        }
    }
}

/// y = f(x) elementwise. - x, y: `count` elements (may alias).
public func unaryForward(
    _ function: UnaryFunction, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int
) {
    parallelElements(count) { range in
        var i = range.lowerBound
        if function != .log && function != .logSigmoid {  // these have no vector form
            while i + 16 <= range.upperBound {
                y.storeVector(function.vectorValue(x.vector(at: i))!, at: i)
                i += 16
            }
        }
        while i < range.upperBound {
            y[i] = function.value(x[i])
            i += 1
        }
    }
}

/// Backward of `unaryForward`: dx += f'(x) · dy, with y = f(x) from the forward pass.
public func unaryBackward(
    _ function: UnaryFunction, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int
) {
    parallelElements(count) { range in
        for i in range {
            dx[i] += function.derivative(x: x[i], y: y[i]) * dy[i]
        }
    }
}

/// y = min(max(x, lower), upper) elementwise.
public func clampForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, lower: Float, upper: Float
) {
    parallelElements(count) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            y.storeVector(vectorClamp(x.vector(at: i), lower, upper), at: i)
            i += 16
        }
        while i < range.upperBound { y[i] = Swift.min(Swift.max(x[i], lower), upper); i += 1 }
    }
}

/// Backward of `clampForward`: dx += dy where lower ≤ x ≤ upper (torch.clamp's convention).
public func clampBackward(
    _ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    count: Int, lower: Float, upper: Float
) {
    parallelElements(count) { range in
        for i in range where x[i] >= lower && x[i] <= upper { dx[i] += dy[i] }
    }
}

/// dx += value for every element (the backward of a full sum).
public func accumulateConstant(_ value: Float, into dx: UnsafeMutablePointer<Float>, count: Int) {
    parallelElements(count) { range in
        for i in range { dx[i] += value }
    }
}
