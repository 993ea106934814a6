// Elementwise arithmetic with broadcasting over leading dimensions, scalar ops, unary functions.
// Broadcasting: the shapes must be equal, or one must be a suffix of the other (a bias of shape
// (C) added to (B, T, C); a (T, C) position table added to (B, T, C)).

import Kernels

/// The result shape of a broadcasting binary op, or a precondition failure naming both shapes.
func broadcastShape(_ a: [Int], _ b: [Int], _ name: String) -> [Int] {
    if a == b { return a }
    let (long, short) = a.count >= b.count ? (a, b) : (b, a)
    require(Array(long.suffix(short.count)) == short,
                 "\(name): shapes \(a) and \(b) do not broadcast (the smaller must be a suffix of the larger)")
    return long
}

func binary(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor, _ name: String) -> Tensor {
    let shape = broadcastShape(a.shape, b.shape, name)
    let out = Tensor(zeros: shape)
    if out.count == 0 { return out }
    binaryForward(operation, a.data, aCount: a.count, b.data, bCount: b.count, out.data)
    return Tensor.record(out, inputs: [a, b]) { _, gradient in
        binaryBackward(operation, a.data, aCount: a.count, b.data, bCount: b.count, dout: gradient.data,
                       da: a.requiresGrad ? a.gradientStorage() : nil,
                       db: b.requiresGrad ? b.gradientStorage() : nil)
    }
}

extension Tensor {
    /// Elementwise a + b (broadcasting over leading dimensions).
    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(.add, a, b, "add") }
    /// Elementwise a − b (broadcasting over leading dimensions).
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(.subtract, a, b, "subtract") }
    /// Elementwise a · b (broadcasting over leading dimensions).
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(.multiply, a, b, "multiply") }
    /// Elementwise a / b (broadcasting over leading dimensions).
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(.divide, a, b, "divide") }

    /// x · scale + shift elementwise.
    public func affine(scale: Float, shift: Float = 0) -> Tensor {
        let out = Tensor(zeros: shape)
        affineForward(data, out.data, count: count, scale: scale, shift: shift)
        return Tensor.record(out, inputs: [self]) { [self] _, gradient in
            accumulate(gradient.data, into: gradientStorage(), count: count, scale: scale)
        }
    }

    /// x · s.
    public static func * (x: Tensor, s: Float) -> Tensor { x.affine(scale: s) }
    /// s · x.
    public static func * (s: Float, x: Tensor) -> Tensor { x.affine(scale: s) }
    /// x / s.
    public static func / (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1 / s) }
    /// x + s.
    public static func + (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1, shift: s) }
    /// x − s.
    public static func - (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1, shift: -s) }
    /// s − x.
    public static func - (s: Float, x: Tensor) -> Tensor { x.affine(scale: -1, shift: s) }
    /// −x.
    public static prefix func - (x: Tensor) -> Tensor { x.affine(scale: -1) }

    /// Adds a bias of shape (C) to every row of a (…, C) tensor.
    public func addingBias(_ bias: Tensor) -> Tensor {
        require(bias.rank == 1 && bias.count == shape.last, "addingBias: bias of shape \(bias.shape) for a tensor of shape \(shape), expected (\(shape.last ?? 0))")
        return self + bias
    }

    func unary(_ function: UnaryFunction) -> Tensor {
        let out = Tensor(zeros: shape)
        unaryForward(function, data, out.data, count: count)
        return Tensor.record(out, inputs: [self]) { [self] output, gradient in
            unaryBackward(function, x: data, y: output.data, dy: gradient.data, dx: gradientStorage(), count: count)
        }
    }

    /// max(x, 0).
    public func relu() -> Tensor { unary(.relu) }
    /// tanh(x).
    public func tanh() -> Tensor { unary(.tanh) }
    /// 1 / (1 + e^{−x}).
    public func sigmoid() -> Tensor { unary(.sigmoid) }
    /// e^x.
    public func exp() -> Tensor { unary(.exp) }
    /// The natural logarithm.
    public func log() -> Tensor { unary(.log) }
    /// x².
    public func squared() -> Tensor { unary(.square) }
    /// √x.
    public func sqrt() -> Tensor { unary(.sqrt) }
    /// |x|.
    public func abs() -> Tensor { unary(.abs) }
    /// log σ(x), computed stably (no overflow for large |x|); −logσ(x) is the softplus of −x.
    public func logSigmoid() -> Tensor { unary(.logSigmoid) }

    /// Exact GELU, 0.5·x·(1 + erf(x/√2)): Hugging Face's "gelu" (BERT, RoBERTa).
    public func geluErf() -> Tensor { unary(.geluErf) }

    /// GELU in Hugging Face's `gelu_new` (tanh approximation) form.
    public func gelu() -> Tensor {
        let out = Tensor(zeros: shape)
        geluForward(data, out.data, count: count)
        return Tensor.record(out, inputs: [self]) { [self] _, gradient in
            geluBackward(data, gradient.data, gradientStorage(), count: count)
        }
    }

    /// Clamps each element into [minimum, maximum]; the gradient passes where
    /// minimum ≤ x ≤ maximum (as torch.clamp).
    public func clamped(min lower: Float = -.infinity, max upper: Float = .infinity) -> Tensor {
        require(lower <= upper, "clamped: min \(lower) is above max \(upper)")
        let out = Tensor(zeros: shape)
        clampForward(data, out.data, count: count, lower: lower, upper: upper)
        return Tensor.record(out, inputs: [self]) { [self] _, gradient in
            clampBackward(data, dy: gradient.data, dx: gradientStorage(), count: count, lower: lower, upper: upper)
        }
    }
}

/// Elementwise minimum (broadcasting); on ties the gradient goes to `a`.
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor { binary(.minimum, a, b, "minimum") }

/// Elementwise maximum (broadcasting); on ties the gradient goes to `a`.
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor { binary(.maximum, a, b, "maximum") }
