// Finite-difference gradient checking: the analytic gradient of Σ f(inputs) ⊙ W (W fixed random)
// against central differences, element by element.

import Foundation
import Testing
import Tensors

/// A seeded tensor with values in [low, high).
func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    return Tensor(uniformShape: shape, low: low, high: high, generator: &generator)
}

/// Checks ∂/∂input of Σ f(inputs)·W against central differences (step `epsilon`) for every
/// element of every input (or a seeded sample of `maximumElements` per input).
/// Fails the current test with the op name, input, element, and both values on a mismatch.
func checkGradients(
    _ name: String, inputs: [Tensor], epsilon: Float = 1e-2, relativeTolerance: Double = 1e-2,
    absoluteTolerance: Double = 2e-3, maximumElements: Int = 48, sourceLocation: SourceLocation = #_sourceLocation,
    _ f: ([Tensor]) -> Tensor
) {
    for input in inputs { input.requiresGrad = true; input.grad = nil }
    let probe = withNoGrad { f(inputs) }
    let weights = randomTensor(probe.shape, seed: 7_654_321)
    let loss = (f(inputs) * weights).sum()
    loss.backward()
    let analytic = inputs.map { $0.grad?.scalars ?? [Float](repeating: 0, count: $0.count) }

    func evaluate() -> Double {
        withNoGrad {
            let out = f(inputs)
            var total = 0.0
            for i in 0..<out.count { total += Double(out.data[i]) * Double(weights.data[i]) }
            return total
        }
    }
    var generator = RandomGenerator(seed: 99)
    var failures = 0
    for (inputIndex, input) in inputs.enumerated() {
        var elements = Array(0..<input.count)
        if elements.count > maximumElements {
            generator.shuffle(&elements)
            elements = Array(elements.prefix(maximumElements))
        }
        for element in elements {
            let original = input.data[element]
            input.data[element] = original + epsilon
            let plus = evaluate()
            input.data[element] = original - epsilon
            let minus = evaluate()
            input.data[element] = original
            let numeric = (plus - minus) / (2 * Double(epsilon))
            let exact = Double(analytic[inputIndex][element])
            let allowed = absoluteTolerance + relativeTolerance * max(abs(numeric), abs(exact))
            if abs(numeric - exact) > allowed {
                failures += 1
                if failures <= 5 {
                    Issue.record("\(name): input \(inputIndex) element \(element): analytic \(exact), numeric \(numeric)",
                                 sourceLocation: sourceLocation)
                }
            }
        }
    }
    for input in inputs { input.grad = nil }
}
