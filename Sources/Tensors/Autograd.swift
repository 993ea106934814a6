// The reverse-mode tape: each op's result keeps a `GradFunction` (its inputs and a backward

import Kernels
// closure); `backward()` visits the graph in reverse topological order.

/// Whether ops record themselves for differentiation (per task; on by default).
public enum GradMode {
    /// True unless inside `withNoGrad`.
    @TaskLocal public static var isEnabled: Bool = true
}

/// Runs `body` without recording ops: results have no gradient function and need no memory for
/// saved activations (sampling, evaluation, reference models).
public func withNoGrad<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

/// The link from a result to its inputs: `backward(output, outputGradient)` adds the gradient of
/// each input that requires one into `input.grad`.
final class GradFunction {
    let inputs: [Tensor]
    let backward: (Tensor, Tensor) -> Void

    init(inputs: [Tensor], backward: @escaping (Tensor, Tensor) -> Void) {
        self.inputs = inputs
        self.backward = backward
    }
}

extension Tensor {
    /// Makes `output` differentiable with respect to `inputs` when recording is on and some input
    /// requires a gradient. The closure receives (output, ∂L/∂output) and accumulates into the
    /// inputs' `grad`; it must not capture `output` itself.
    @discardableResult
    public static func record(
        _ output: Tensor, inputs: [Tensor], backward: @escaping (_ output: Tensor, _ gradient: Tensor) -> Void
    ) -> Tensor {
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            for input in inputs where input.graphReleased {
                requireFailed("a tensor of shape \(input.shape) is used after backward() freed the graph that made it; "
                              + "call backward(retainGraph: true) to keep it, or use .detached() to stop gradients there",
                              file: #fileID, line: #line)
            }
            output.requiresGrad = true
            output.gradFunction = GradFunction(inputs: inputs, backward: backward)
        }
        return output
    }

    /// True when this tensor was made by a recorded op (it is not a leaf).
    public var hasGradFunction: Bool { gradFunction != nil }

    /// Back-propagates from this tensor: seeds ∂L/∂self with `gradient` (ones for a scalar when
    /// nil), then runs every recorded backward closure in reverse topological order, adding into
    /// the `grad` of each leaf that requires gradients.
    ///
    /// Gradients of intermediate results are dropped as they are consumed; the graph is freed too
    /// unless `retainGraph` is true.
    public func backward(gradient: Tensor? = nil, retainGraph: Bool = false) {
        require(!graphReleased, "backward: the graph behind this tensor was already freed by an earlier backward(); pass retainGraph: true to the first call to run backward twice")
        require(requiresGrad, "backward: the tensor does not require gradients (was it made under withNoGrad, or from inputs without requiresGrad?)")
        if let gradient {
            require(gradient.shape == shape, "backward: gradient shape \(gradient.shape) differs from tensor shape \(shape)")
            accumulate(gradient.storage.pointer, into: gradientStorage(), count: count)
        } else {
            require(count == 1, "backward: a tensor of shape \(shape) needs an explicit gradient")
            gradientStorage()[0] += 1
        }
        // Iterative depth-first search for a topological order.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            if !visited.insert(ObjectIdentifier(tensor)).inserted { continue }
            stack.append((tensor, true))
            for input in tensor.gradFunction?.inputs ?? [] where input.requiresGrad && input.gradFunction != nil {
                if !visited.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
            }
        }
        for tensor in order.reversed() {
            guard let function = tensor.gradFunction else { continue }
            if let gradient = tensor.grad { function.backward(tensor, gradient) }
            // Intermediate gradients are never kept (as PyTorch): a second backward through a
            // retained graph starts from zero, not from the last pass's values.
            tensor.grad = nil
            if !retainGraph {
                tensor.gradFunction = nil
                tensor.graphReleased = true
            }
        }
    }
}
