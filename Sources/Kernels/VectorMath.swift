// Vectorized transcendental functions over SIMD16<Float>, for the elementwise kernels.
// exp follows Cephes' expf (range reduction by ln 2, degree-6 polynomial): about 1 ulp on
// [-87.3, 88.72]; below -87.3 the result is 0, above ln(FLT_MAX) it is +inf.

/// The SIMD width every kernel loop uses.
public typealias FloatVector = SIMD16<Float>

/// x clamped into [lower, upper] per lane, with compare-and-blend (Swift's SIMD `clamped` and
/// `pointwiseMin` are per-lane generic code).
@inlinable @inline(__always)
public func vectorClamp(_ x: FloatVector, _ lower: Float, _ upper: Float) -> FloatVector {
    var result = x.replacing(with: lower, where: x .< lower)
    result.replace(with: upper, where: result .> upper)
    return result
}

/// The lane-wise maximum of two vectors (compare-and-blend).
@inlinable @inline(__always)
public func vectorMaximum(_ a: FloatVector, _ b: FloatVector) -> FloatVector {
    a.replacing(with: b, where: b .> a)
}

/// e^x for each lane (Cephes expf polynomial; 0 below -87.3, +inf above ln(FLT_MAX) ≈ 88.7228).
@inlinable @inline(__always)
public func vectorExp(_ x: FloatVector) -> FloatVector {
    // Avoid SIMD `clamped` and Float→Int conversion: both are per-lane generic code in Swift.
    let clamped = vectorClamp(x, -87.3, 88.722_83)
    // n = round(x / ln 2) by the 1.5·2²³ trick: the sum's low mantissa bits hold n.
    let shifted = clamped * 1.44269504088896341 + 12582912.0
    let n = shifted - 12582912.0
    var r = clamped.addingProduct(n, FloatVector(repeating: -0.693359375))
    r = r.addingProduct(n, FloatVector(repeating: 2.12194440e-4))
    var p = FloatVector(repeating: 1.3981999507e-3).addingProduct(FloatVector(repeating: 1.9875691500e-4), r)
    p = FloatVector(repeating: 8.3334519073e-3).addingProduct(p, r)
    p = FloatVector(repeating: 4.1665795894e-2).addingProduct(p, r)
    p = FloatVector(repeating: 1.6666665459e-1).addingProduct(p, r)
    p = FloatVector(repeating: 5.0000001201e-1).addingProduct(p, r)
    let y = (r + 1).addingProduct(p, r * r)
    var integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000  // bits of 12582912.0
    // n reaches 128 for x in (88.38, 88.72]: scale by 2¹²⁷ and double afterwards.
    // (Integer SIMD `replace(with: scalar, where:)` is per-lane generic code; use vector operands.)
    let limit = SIMD16<Int32>(repeating: 127)
    let beyond = integer .> limit
    integer.replace(with: limit, where: beyond)
    var result = y * unsafeBitCast((integer &+ 127) &<< 23, to: FloatVector.self)
    result.replace(with: result + result, where: beyond)
    result.replace(with: 0, where: x .< -87.3)
    result.replace(with: .infinity, where: x .> 88.722_84)
    result.replace(with: x, where: x .!= x)  // NaN stays NaN
    return result
}

/// √x for each lane, within 1 ulp: Newton's iteration on 1/√x from the bit-level estimate,
/// then one correction of the root. Subnormal inputs are scaled by 2²⁴ first; x < 0 gives NaN,
/// ±0 and +inf give themselves. (Swift lowers SIMD `squareRoot()` to one libm call per lane.)
@inlinable @inline(__always)
public func vectorSquareRoot(_ x: FloatVector) -> FloatVector {
    let smallestNormal = FloatVector(repeating: .leastNormalMagnitude)
    let tiny = x .< smallestNormal
    let scaled = x.replacing(with: x * 16_777_216, where: tiny)
    let bits = unsafeBitCast(scaled, to: SIMD16<Int32>.self)
    var y = unsafeBitCast(SIMD16<Int32>(repeating: 0x5F37_5A86) &- (bits &>> 1), to: FloatVector.self)
    let half = 0.5 * scaled
    y = y * (1.5 - half * y * y)
    y = y * (1.5 - half * y * y)
    y = y * (1.5 - half * y * y)
    var root = scaled * y
    root = root.addingProduct(0.5 * y, scaled - root * root)
    root.replace(with: root * (1.0 / 4096), where: tiny)
    root.replace(with: x, where: x .== FloatVector() .| x .== FloatVector(repeating: .infinity) .| x .!= x)
    root.replace(with: FloatVector(repeating: .nan), where: x .< FloatVector())
    return root
}

/// tanh(x) for each lane: Cephes' tanhf — an odd polynomial for |x| < 0.625 (full relative
/// accuracy near 0), else sign(x)·(1 − 2/(e^{2|x|} + 1)).
@inlinable @inline(__always)
public func vectorTanh(_ x: FloatVector) -> FloatVector {
    let negative = x .< FloatVector()
    let magnitude = x.replacing(with: -x, where: negative)
    let e = vectorExp(vectorClamp(2 * magnitude, 0, 40))
    var large = 1 - 2 / (e + 1)
    large.replace(with: -large, where: negative)
    let z = x * x
    var p = FloatVector(repeating: 2.06390887954e-2).addingProduct(FloatVector(repeating: -5.70498872745e-3), z)
    p = FloatVector(repeating: -5.37397155531e-2).addingProduct(p, z)
    p = FloatVector(repeating: 1.33314422036e-1).addingProduct(p, z)
    p = FloatVector(repeating: -3.33332819422e-1).addingProduct(p, z)
    let small = x.addingProduct(p * z, x)
    return large.replacing(with: small, where: magnitude .< FloatVector(repeating: 0.625))
}

/// erf(x) for each lane: Abramowitz & Stegun 7.1.26, absolute error below 1.5·10⁻⁷ (libm's erff
/// is the scalar reference).
@inlinable @inline(__always)
public func vectorErf(_ x: FloatVector) -> FloatVector {
    let negative = x .< FloatVector()
    let z = x.replacing(with: -x, where: negative)
    let t = 1 / FloatVector(repeating: 1).addingProduct(z, 0.3275911)
    var p = FloatVector(repeating: -1.453152027).addingProduct(t, 1.061405429)
    p = FloatVector(repeating: 1.421413741).addingProduct(p, t)
    p = FloatVector(repeating: -0.284496736).addingProduct(p, t)
    p = FloatVector(repeating: 0.254829592).addingProduct(p, t)
    let magnitude = 1 - p * t * vectorExp(-z * z)
    return magnitude.replacing(with: -magnitude, where: negative)
}

/// The logistic sigmoid 1/(1 + e^{−x}) for each lane, stable for large |x|.
@inlinable @inline(__always)
public func vectorSigmoid(_ x: FloatVector) -> FloatVector {
    let clamped = vectorClamp(x, -80, 80)
    return 1 / (1 + vectorExp(-clamped))
}

extension UnsafePointer where Pointee == Float {
    /// Loads 16 floats starting at element `offset` (no alignment needed).
    @inlinable @inline(__always)
    public func vector(at offset: Int) -> FloatVector {
        UnsafeRawPointer(self + offset).loadUnaligned(as: FloatVector.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Loads 16 floats starting at element `offset` (no alignment needed).
    @inlinable @inline(__always)
    public func vector(at offset: Int) -> FloatVector {
        UnsafeRawPointer(self + offset).loadUnaligned(as: FloatVector.self)
    }

    /// Stores 16 floats starting at element `offset` (no alignment needed).
    @inlinable @inline(__always)
    public func storeVector(_ value: FloatVector, at offset: Int) {
        UnsafeMutableRawPointer(self + offset).storeBytes(of: value, as: FloatVector.self)
    }
}
