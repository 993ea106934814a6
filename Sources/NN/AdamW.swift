// AdamW (Loshchilov & Hutter 2019) over named parameters, with its state for checkpoints.

import Foundation
import Kernels
import Tensors

/// Which parameters receive decoupled weight decay.
public enum WeightDecayFilter: String, Codable, Sendable {
    /// Tensors of rank ≥ 2 (matrices, embeddings), not biases or layer-norm gains (the GPT-2 /
    /// nanoGPT convention).
    case matricesOnly
    /// Every parameter.
    case all
}

/// AdamW hyper-parameters. Field names map to snake_case in config files.
public struct AdamWConfiguration: Codable, Equatable, Sendable {
    /// The base learning rate (a schedule may scale it per step).
    public var learningRate: Float
    /// Decay of the first-moment average.
    public var beta1: Float
    /// Decay of the second-moment average.
    public var beta2: Float
    /// Added to the denominator (see `epsilonPlacement`).
    public var epsilon: Float
    /// Decoupled weight decay coefficient.
    public var weightDecay: Float
    /// Which parameters decay.
    public var weightDecayFilter: WeightDecayFilter
    /// PyTorch's ε placement, or TensorFlow's (openai/lm-human-preferences).
    public var epsilonPlacement: AdamEpsilonPlacement

    enum CodingKeys: String, CodingKey {
        case learningRate = "learning_rate", beta1, beta2, epsilon = "eps", weightDecay = "weight_decay"
        case weightDecayFilter = "weight_decay_filter", epsilonPlacement = "eps_placement"
    }

    /// Defaults as torch.optim.AdamW: lr 1e-3, β (0.9, 0.999), ε 1e-8, weight decay 0.01.
    public init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0.01, weightDecayFilter: WeightDecayFilter = .matricesOnly,
        epsilonPlacement: AdamEpsilonPlacement = .pytorch
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.weightDecayFilter = weightDecayFilter
        self.epsilonPlacement = epsilonPlacement
    }
}

/// The AdamW optimizer: fused per-tensor updates, bias correction, decoupled weight decay.
public final class AdamW {
    /// The hyper-parameters (mutable between steps).
    public var configuration: AdamWConfiguration
    /// The parameters, by name, in the order given.
    public let parameters: [(name: String, tensor: Tensor)]
    /// Updates taken so far (bias correction uses step + 1 for the next one).
    public private(set) var step: Int = 0
    private let aliases: [[Tensor]]
    private var firstMoments: [TensorStorage]
    private var secondMoments: [TensorStorage]

    /// An optimizer over `parameters` (e.g. `model.namedParameters()`), with zeroed moments.
    ///
    /// Entries that share storage (tied weights, under one name or two, as one tensor object or
    /// several views) are one parameter: it is updated once, from the sum of the gradients of
    /// every tensor object that holds it.
    public init(parameters: [(name: String, tensor: Tensor)], configuration: AdamWConfiguration = AdamWConfiguration()) {
        var groups: [ObjectIdentifier: Int] = [:]
        var unique: [(name: String, tensor: Tensor)] = []
        var aliases: [[Tensor]] = []
        for entry in parameters {
            if let index = groups[ObjectIdentifier(entry.tensor.storage)] {
                let known = unique[index].tensor === entry.tensor || aliases[index].contains { $0 === entry.tensor }
                if !known { aliases[index].append(entry.tensor) }
            } else {
                groups[ObjectIdentifier(entry.tensor.storage)] = unique.count
                unique.append(entry)
                aliases.append([])
            }
        }
        self.parameters = unique
        self.aliases = aliases
        self.configuration = configuration
        firstMoments = unique.map { TensorStorage(count: $0.tensor.count) }
        secondMoments = unique.map { TensorStorage(count: $0.tensor.count) }
    }

    /// Applies one update from the parameters' current gradients, then leaves the gradients as
    /// they are (call `zeroGrad()`). Parameters without a gradient are skipped but still count
    /// the step. - learningRate: overrides the configured rate (a schedule's value).
    public func step(learningRate: Float? = nil) {
        step += 1
        let lr = learningRate ?? configuration.learningRate
        for (index, entry) in parameters.enumerated() {
            let gradients = ([entry.tensor] + aliases[index]).compactMap(\.grad)
            guard let first = gradients.first else { continue }
            var gradient = first
            if gradients.count > 1 {
                gradient = first.copy()
                for other in gradients.dropFirst() { accumulate(other.data, into: gradient.data, count: gradient.count) }
            }
            let decays = configuration.weightDecayFilter == .all || entry.tensor.rank >= 2
            adamWStep(parameters: entry.tensor.data, gradients: gradient.data,
                      firstMoment: firstMoments[index].pointer, secondMoment: secondMoments[index].pointer,
                      count: entry.tensor.count, learningRate: lr, beta1: configuration.beta1,
                      beta2: configuration.beta2, epsilon: configuration.epsilon,
                      weightDecay: decays ? configuration.weightDecay : 0, step: step,
                      epsilonPlacement: configuration.epsilonPlacement)
        }
    }

    /// Drops every parameter's gradient (aliases included).
    public func zeroGrad() {
        for (index, entry) in parameters.enumerated() {
            entry.tensor.grad = nil
            for alias in aliases[index] { alias.grad = nil }
        }
    }

    /// The moments as named tensors (`<name>.exp_avg`, `<name>.exp_avg_sq`, PyTorch's state
    /// names) for `optimizer.safetensors`; the step count is `step`.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        for (index, entry) in parameters.enumerated() {
            result.append((entry.name + ".exp_avg", Tensor(shape: entry.tensor.shape, storage: firstMoments[index])))
            result.append((entry.name + ".exp_avg_sq", Tensor(shape: entry.tensor.shape, storage: secondMoments[index])))
        }
        return result
    }

    /// Restores moments and step count saved by `stateTensors()`; every parameter's two moments
    /// must be present with its shape.
    public func loadState(step: Int, tensors: [String: Tensor]) throws {
        for (index, entry) in parameters.enumerated() {
            for (suffix, storage) in [(".exp_avg", firstMoments[index]), (".exp_avg_sq", secondMoments[index])] {
                guard let saved = tensors[entry.name + suffix] else {
                    throw OptimizerStateError(message: "optimizer state lacks '\(entry.name + suffix)'")
                }
                guard saved.shape == entry.tensor.shape else {
                    throw OptimizerStateError(message: "optimizer state '\(entry.name + suffix)' has shape \(saved.shape), expected \(entry.tensor.shape)")
                }
                storage.pointer.update(from: saved.data, count: saved.count)
            }
        }
        self.step = step
    }
}

/// A saved optimizer state that does not fit the parameters.
public struct OptimizerStateError: Error, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// The message.
    public var description: String { message }
}

extension AdamW {
    /// Writes the moments (`<name>.exp_avg`, `<name>.exp_avg_sq`) and the step count (metadata
    /// `step`) to `optimizer.safetensors`, atomically.
    public func saveState(to url: URL) throws {
        var writer = SafeTensorsWriter()
        writer.metadata = ["step": String(step), "optimizer": "AdamW"]
        for (name, tensor) in stateTensors() {
            try writer.add(name, shape: tensor.shape, floats: UnsafeBufferPointer(start: tensor.data, count: tensor.count))
        }
        try writer.write(to: url)
    }

    /// Restores what `saveState(to:)` wrote; errors name the file and the missing tensor.
    public func loadState(from url: URL) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        guard let text = file.metadata["step"], let savedStep = Int(text) else {
            throw SafeTensorsError(path: url.path, message: "metadata field 'step' is missing or not an integer")
        }
        var tensors: [String: Tensor] = [:]
        for name in file.names { tensors[name] = try file.tensor(name) }
        do {
            try loadState(step: savedStep, tensors: tensors)
        } catch let error as OptimizerStateError {
            throw SafeTensorsError(path: url.path, message: error.message)
        }
    }
}
