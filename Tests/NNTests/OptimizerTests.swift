// AdamW, schedules, clipping, accumulation: hand-computed values, and a tiny network that must
// fit its data.

import Foundation
import Kernels
import NN
import Tensors
import Testing

@Suite("Optimization")
struct OptimizerTests {
    @Test("AdamW's first steps by hand, PyTorch ε placement")
    func adamWByHand() {
        // One scalar p = 1, gradient 0.5, lr 0.1, β (0.9, 0.999), ε 1e-8, no decay.
        // Step 1: m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25 → p = 1 − 0.1·0.5/(0.5 + 1e-8) ≈ 0.9
        let p = Tensor(shape: [1], values: [1], requiresGrad: true)
        let optimizer = AdamW(parameters: [("p", p)], configuration: AdamWConfiguration(learningRate: 0.1, weightDecay: 0))
        p.grad = Tensor(shape: [1], values: [0.5])
        optimizer.step()
        #expect(abs(p.item - 0.9) < 1e-6)
        // Step 2 with gradient −0.25: m = 0.045 − 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225
        // m̂ = 0.02/0.19, v̂ = 0.00031225/0.001999 → p = 0.9 − 0.1·m̂/(√v̂ + ε)
        p.grad = Tensor(shape: [1], values: [-0.25])
        optimizer.step()
        let mHat = 0.02 / 0.19, vHat = 0.00031225 / (1 - 0.999 * 0.999)
        #expect(abs(Double(p.item) - (0.9 - 0.1 * mHat / (vHat.squareRoot() + 1e-8))) < 1e-6)
        #expect(optimizer.step == 2)
    }

    @Test("TensorFlow ε placement differs from PyTorch's exactly by where ε enters")
    func epsilonPlacement() {
        // Gradient 1e-4 and ε 1e-3 make the placement matter. Step 1: m = 1e-5, v = 1e-11.
        // PyTorch: p −= lr·(m/0.1)/(√(v/0.001) + ε) = lr·1e-4/(1e-4 + 1e-3)
        // TensorFlow: p −= lr·√0.001/0.1·m/(√v + ε) = lr·√0.001·1e-4/(√1e-11 + 1e-3)
        for (placement, expected) in [(AdamEpsilonPlacement.pytorch, 1e-4 / (1e-4 + 1e-3)),
                                      (.tensorflow, 0.001.squareRoot() * 1e-4 / (1e-11.squareRoot() + 1e-3))] {
            let p = Tensor(shape: [1], values: [0], requiresGrad: true)
            let optimizer = AdamW(parameters: [("p", p)], configuration: AdamWConfiguration(
                learningRate: 1, epsilon: 1e-3, weightDecay: 0, epsilonPlacement: placement))
            p.grad = Tensor(shape: [1], values: [1e-4])
            optimizer.step()
            #expect(abs(Double(-p.item) - expected) < 1e-5 * expected, "\(placement)")
        }
    }

    @Test("weight decay reaches matrices only, unless asked for all")
    func weightDecay() {
        for filter in [WeightDecayFilter.matricesOnly, .all] {
            let matrix = Tensor(repeating: 1, shape: [2, 2], requiresGrad: true)
            let vector = Tensor(repeating: 1, shape: [2], requiresGrad: true)
            let optimizer = AdamW(parameters: [("m", matrix), ("v", vector)], configuration: AdamWConfiguration(
                learningRate: 0.1, weightDecay: 0.5, weightDecayFilter: filter))
            matrix.grad = Tensor(zeros: [2, 2])
            vector.grad = Tensor(zeros: [2])
            optimizer.step()
            // Zero gradient: only the decay moves p, by the factor 1 − lr·wd = 0.95.
            #expect(matrix.scalars.allSatisfy { abs($0 - 0.95) < 1e-6 })
            #expect(vector.scalars.allSatisfy { abs($0 - (filter == .all ? 0.95 : 1)) < 1e-6 })
        }
    }

    @Test("optimizer state round-trips: a restored optimizer takes the same next step")
    func stateRoundTrip() throws {
        func make() -> (Tensor, AdamW) {
            let p = Tensor(shape: [3], values: [1, -2, 3], requiresGrad: true)
            return (p, AdamW(parameters: [("p", p)], configuration: AdamWConfiguration(learningRate: 0.05)))
        }
        let (p1, o1) = make()
        for step in 0..<3 { p1.grad = Tensor(shape: [3], values: [0.1, Float(step), -0.3]); o1.step() }
        let (p2, o2) = make()
        p2.assign(p1)
        try o2.loadState(step: o1.step, tensors: Dictionary(uniqueKeysWithValues: o1.stateTensors().map { ($0.name, $0.tensor.copy()) }))
        p1.grad = Tensor(shape: [3], values: [0.2, 0.2, 0.2]); o1.step()
        p2.grad = Tensor(shape: [3], values: [0.2, 0.2, 0.2]); o2.step()
        #expect(p1.scalars == p2.scalars)
        #expect(throws: OptimizerStateError.self) { try o2.loadState(step: 1, tensors: [:]) }
    }

    @Test("tied weights held by two tensor objects are one parameter updated from both gradients")
    func tiedWeights() {
        let embedding = Tensor(shape: [2], values: [1, 1], requiresGrad: true)
        let head = Tensor(shape: [2], storage: embedding.storage, requiresGrad: true)  // same storage, another object
        let optimizer = AdamW(parameters: [("wte.weight", embedding), ("lm_head.weight", head)],
                              configuration: AdamWConfiguration(learningRate: 0.1, weightDecay: 0))
        #expect(optimizer.parameters.count == 1)
        embedding.grad = Tensor(shape: [2], values: [1, 0])
        head.grad = Tensor(shape: [2], values: [0, -2])
        optimizer.step()
        // Step 1 of Adam moves each element by lr·sign(summed gradient).
        #expect(abs(embedding.scalars[0] - 0.9) < 1e-5 && abs(embedding.scalars[1] - 1.1) < 1e-5)
        optimizer.zeroGrad()
        #expect(embedding.grad == nil && head.grad == nil)
    }

    @Test("schedules by hand")
    func schedules() {
        #expect(LearningRateSchedule.constant.multiplier(step: 7) == 1)
        let linear = LearningRateSchedule.linear(warmupSteps: 10, totalSteps: 110, minimumRatio: 0)
        #expect(linear.multiplier(step: 5) == 0.5)
        #expect(linear.multiplier(step: 10) == 1)
        #expect(linear.multiplier(step: 11) == 1)  // the first update after warmup: full rate
        #expect(abs(linear.multiplier(step: 61) - 0.5) < 1e-6)
        #expect(abs(linear.multiplier(step: 110) - 0.01) < 1e-6)  // the last update is not wasted at 0
        #expect(linear.multiplier(step: 111) == 0)
        #expect(linear.multiplier(step: 500) == 0)
        #expect(LearningRateSchedule.linear(warmupSteps: 0, totalSteps: 1, minimumRatio: 0).multiplier(step: 1) == 1)
        let cosine = LearningRateSchedule.cosine(warmupSteps: 0, totalSteps: 100, minimumRatio: 0.1)
        #expect(cosine.multiplier(step: 1) == 1)
        #expect(abs(cosine.multiplier(step: 51) - 0.55) < 1e-6)  // 0.1 + 0.9·(1 + cos(π/2))/2
        #expect(abs(cosine.multiplier(step: 101) - 0.1) < 1e-6)
        let noam = LearningRateSchedule.noam(warmupSteps: 100)
        #expect(abs(noam.multiplier(step: 100) - 1) < 1e-6)
        #expect(abs(noam.multiplier(step: 50) - 0.5) < 1e-6)
        #expect(abs(noam.multiplier(step: 400) - 0.5) < 1e-6)  // √100/√400
        #expect(noam.learningRate(base: 3e-4, step: 100) == 3e-4)
    }

    @Test("global-norm clipping by hand")
    func clipping() {
        let a = Tensor(zeros: [2], requiresGrad: true), b = Tensor(zeros: [1], requiresGrad: true)
        a.grad = Tensor(shape: [2], values: [3, 0])
        b.grad = Tensor(shape: [1], values: [4])
        let norm = clipGradientNorm([a, b], maxNorm: 1)
        #expect(norm == 5)
        #expect(abs(a.grad!.scalars[0] - 0.6) < 1e-5 && abs(b.grad!.scalars[0] - 0.8) < 1e-5)
        #expect(clipGradientNorm([a, b], maxNorm: 10) < 1.0001)  // below the limit: unchanged
        #expect(abs(a.grad!.scalars[0] - 0.6) < 1e-5)
    }

    @Test("gradient accumulation over micro-batches equals one full batch")
    func accumulation() {
        var generator = RandomGenerator(seed: 9)
        let layer = Linear(inputs: 3, outputs: 4, generator: &generator)
        let x = Tensor(uniformShape: [8, 3], low: -1, high: 1, generator: &generator)
        let targets = IndexTensor(shape: [8], values: [0, 1, 2, 3, 3, 2, 1, 0] as [Int32])
        crossEntropy(layer(x), targets: targets).backward()
        let full = layer.parameters.map { $0.grad!.scalars }
        layer.zeroGrad()
        let loss = accumulateGradients(microBatches: 4) { i in
            let rows = (2 * i)..<(2 * i + 2)
            let micro = IndexTensor(shape: [2], values: Array(targets.values[rows]))
            return crossEntropy(layer(x.slice(axis: 0, rows)), targets: micro)
        }
        #expect(loss > 0)
        for (f, parameter) in zip(full, layer.parameters) {
            for (a, b) in zip(f, parameter.grad!.scalars) { #expect(abs(a - b) < 1e-6) }
        }
    }

    @Test("a two-layer network with AdamW, clipping and a cosine schedule fits XOR")
    func overfitXOR() {
        var generator = RandomGenerator(seed: 2024)
        let first = Linear(inputs: 2, outputs: 16, generator: &generator)
        let second = Linear(inputs: 16, outputs: 2, generator: &generator)
        let x = Tensor(shape: [4, 2], values: [0, 0, 0, 1, 1, 0, 1, 1])
        let y = IndexTensor(shape: [4], values: [0, 1, 1, 0] as [Int32])
        let parameters = [("first.weight", first.weight), ("first.bias", first.bias!),
                          ("second.weight", second.weight), ("second.bias", second.bias!)]
        let optimizer = AdamW(parameters: parameters, configuration: AdamWConfiguration(learningRate: 0.05, weightDecay: 0))
        let schedule = LearningRateSchedule.cosine(warmupSteps: 10, totalSteps: 300, minimumRatio: 0.1)
        var loss: Float = .infinity
        for step in 1...300 {
            let value = crossEntropy(second(first(x).gelu()), targets: y)
            loss = value.item
            value.backward()
            clipGradientNorm(optimizer.parameters.map(\.tensor), maxNorm: 1)
            optimizer.step(learningRate: schedule.learningRate(base: 0.05, step: step))
            optimizer.zeroGrad()
        }
        #expect(loss < 0.01)
        let predictions = withNoGrad { second(first(x).gelu()) }
        for row in 0..<4 { #expect((predictions[row, 1] > predictions[row, 0]) == (y.values[row] == 1)) }
    }
}

@Suite("Reproducibility")
struct ReproducibilityTests {
    /// Trains a network big enough to use both threads (GEMMs over 2¹⁸ multiply-adds, elementwise
    /// ops over 32K elements, dropout) and returns the final parameters' bit patterns.
    func train(seed: UInt64) -> [UInt32] {
        var generator = RandomGenerator(seed: seed)
        let source = RandomSource(seed: seed)
        // 64 × 1152 = 73,728 elements: two 32K-element chunks for the elementwise kernels.
        let first = Linear(inputs: 96, outputs: 1152, generator: &generator)
        let norm = LayerNorm(dimension: 1152)
        let drop = Dropout(probability: 0.1, source: source)
        let second = Linear(inputs: 1152, outputs: 40, generator: &generator)
        let x = Tensor(normalShape: [64, 96], generator: &generator)
        let y = IndexTensor(shape: [64], values: (0..<64).map { Int32(($0 * 13) % 40) })
        var parameters: [(name: String, tensor: Tensor)] = []
        for (prefix, module) in [("first", first as Module), ("norm", norm), ("second", second)] {
            parameters += module.namedParameters().map { (prefix + "." + $0.name, $0.tensor) }
        }
        let optimizer = AdamW(parameters: parameters, configuration: AdamWConfiguration(learningRate: 1e-3))
        for _ in 0..<5 {
            crossEntropy(second(drop(norm(first(x).gelu()))), targets: y).backward()
            clipGradientNorm(parameters.map(\.tensor), maxNorm: 1)
            optimizer.step()
            optimizer.zeroGrad()
        }
        return parameters.flatMap { $0.tensor.scalars.map(\.bitPattern) }
    }

    @Test("the same seed gives bit-identical parameters; another seed does not")
    func bitForBit() {
        let a = train(seed: 17)
        #expect(a == train(seed: 17))
        #expect(a != train(seed: 18))
    }
}
