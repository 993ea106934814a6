// The affine layer: torch.nn.Linear, or Hugging Face Conv1D's transposed weight layout.

import Kernels
import Tensors

/// y = x·Wᵀ + b (torch.nn.Linear), or y = x·W + b with Hugging Face `Conv1D`'s (in, out) layout.
public final class Linear: Module {
    /// (out, in) for `.outputsByInputs`, (in, out) for `.inputsByOutputs`.
    public var weight: Tensor
    /// (out), or nil.
    public var bias: Tensor?
    /// How `weight` is stored.
    public let layout: LinearWeightLayout

    /// A layer with weight and bias drawn from U(−1/√in, 1/√in) (torch.nn.Linear's default), or,
    /// when `standardDeviation` is given, weight from N(0, std²) and a zero bias (GPT-2's init).
    public init(
        inputs: Int, outputs: Int, bias: Bool = true, layout: LinearWeightLayout = .outputsByInputs,
        standardDeviation: Float? = nil, generator: inout RandomGenerator
    ) {
        let shape = layout == .outputsByInputs ? [outputs, inputs] : [inputs, outputs]
        self.layout = layout
        if let standardDeviation {
            weight = Tensor(normalShape: shape, standardDeviation: standardDeviation, generator: &generator, requiresGrad: true)
            self.bias = bias ? Tensor(zeros: [outputs], requiresGrad: true) : nil
        } else {
            let bound = 1 / Float(inputs).squareRoot()
            weight = Tensor(uniformShape: shape, low: -bound, high: bound, generator: &generator, requiresGrad: true)
            self.bias = bias ? Tensor(uniformShape: [outputs], low: -bound, high: bound, generator: &generator, requiresGrad: true) : nil
        }
    }

    /// Wraps existing tensors (their shapes are checked).
    public init(weight: Tensor, bias: Tensor?, layout: LinearWeightLayout = .outputsByInputs) {
        require(weight.rank == 2, "Linear: weight must be rank 2, got \(weight.shape)")
        let outputs = layout == .outputsByInputs ? weight.shape[0] : weight.shape[1]
        if let bias { require(bias.shape == [outputs], "Linear: bias \(bias.shape), expected [\(outputs)]") }
        self.weight = weight
        self.bias = bias
        self.layout = layout
    }

    /// Applies the layer. - x: (…, in). Returns (…, out).
    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias, layout: layout) }
}
