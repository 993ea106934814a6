// Modules: parameter naming by reflection, layers against hand-written math, save/load.

import Foundation
import NN
import Tensors
import Testing

final class Block: Module {
    var attn: Linear
    var ln_1: LayerNorm
    var dropout: Dropout
    init(generator: inout RandomGenerator, source: RandomSource) {
        attn = Linear(inputs: 4, outputs: 12, layout: .inputsByOutputs, generator: &generator)
        ln_1 = LayerNorm(dimension: 4)
        dropout = Dropout(probability: 0.1, source: source)
    }
}

final class TinyModel: Module {
    var wte: Embedding
    var h: [Block]
    var head: Linear?
    var unused: Linear? = nil
    init(seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        let source = RandomSource(seed: seed)
        wte = Embedding(count: 10, dimension: 4, generator: &generator)
        h = (0..<2).map { _ in Block(generator: &generator, source: source) }
        head = Linear(inputs: 4, outputs: 3, bias: false, generator: &generator)
    }
}

@Suite("Modules and layers")
struct LayerTests {
    @Test("namedParameters gives dotted Hugging Face-style names in declaration order")
    func naming() {
        let model = TinyModel(seed: 1)
        let names = model.namedParameters().map(\.name)
        #expect(names == [
            "wte.weight",
            "h.0.attn.weight", "h.0.attn.bias", "h.0.ln_1.weight", "h.0.ln_1.bias",
            "h.1.attn.weight", "h.1.attn.bias", "h.1.ln_1.weight", "h.1.ln_1.bias",
            "head.weight",
        ])
        #expect(model.parameterCount == 40 + 2 * (48 + 12 + 8) + 12)
        #expect(model.parameter(named: "h.1.attn.weight")?.shape == [4, 12])
    }

    @Test("setTraining reaches every dropout; setRequiresGrad freezes every parameter")
    func modes() {
        let model = TinyModel(seed: 2)
        model.setTraining(false)
        #expect(model.h.allSatisfy { !$0.dropout.isTraining })
        let x = Tensor(repeating: 1, shape: [5, 4])
        #expect(model.h[0].dropout(x).scalars == x.scalars)
        model.setTraining(true)
        #expect(model.h.allSatisfy { $0.dropout.isTraining })
        model.setRequiresGrad(false)
        #expect(model.parameters.allSatisfy { !$0.requiresGrad })
    }

    @Test("Linear computes x·Wᵀ + b, or x·W + b in the Conv1D layout")
    func linearMath() {
        let x = Tensor(shape: [1, 2], values: [1, 2])
        let torchStyle = Linear(weight: Tensor(shape: [3, 2], values: [1, 0, 0, 1, 1, 1]), bias: Tensor(shape: [3], values: [0.5, 0, -1]))
        #expect(torchStyle(x).scalars == [1.5, 2, 2])
        let conv = Linear(weight: Tensor(shape: [2, 3], values: [1, 0, 1, 0, 1, 1]), bias: nil, layout: .inputsByOutputs)
        #expect(conv(x).scalars == [1, 2, 3])
    }

    @Test("LayerNorm normalizes to zero mean and unit variance per row")
    func layerNormMath() {
        let norm = LayerNorm(dimension: 4, epsilon: 0)
        let y = norm(Tensor(shape: [1, 4], values: [1, 2, 3, 4]))
        // mean 2.5, biased variance 1.25
        let expected: [Float] = [-1.5, -0.5, 0.5, 1.5].map { $0 / Float(1.25).squareRoot() }
        for (a, b) in zip(y.scalars, expected) { #expect(abs(a - b) < 1e-6) }
    }

    @Test("save and load round-trip by name; bad files give errors naming the tensor")
    func saveLoad() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-layer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        let source = TinyModel(seed: 3), target = TinyModel(seed: 4)
        try source.saveSafeTensors(to: url)
        let report = try target.loadSafeTensors(from: url)
        #expect(report.missing.isEmpty && report.unexpected.isEmpty && report.loaded.count == 10)
        for ((_, a), (_, b)) in zip(source.namedParameters(), target.namedParameters()) { #expect(a.scalars == b.scalars) }

        // Missing tensor: strict load fails and leaves the module untouched; lenient load reports it.
        try source.saveSafeTensors(to: url, excluding: ["head.weight"])
        let fresh = TinyModel(seed: 5)
        let before = fresh.wte.weight.scalars
        #expect(throws: SafeTensorsError.self) { try fresh.loadSafeTensors(from: url) }
        #expect(fresh.wte.weight.scalars == before)
        let lenient = try fresh.loadSafeTensors(from: url, strict: false)
        #expect(lenient.missing == ["head.weight"])

        // Wrong shape: the message names the tensor and both shapes.
        var writer = SafeTensorsWriter()
        for (name, tensor) in source.namedParameters() {
            let shape = name == "wte.weight" ? [4, 10] : tensor.shape
            try writer.add(name, shape: shape, floats: tensor.scalars)
        }
        try writer.write(to: url)
        do {
            try fresh.loadSafeTensors(from: url)
            Issue.record("a wrong shape must throw")
        } catch let error as SafeTensorsError {
            #expect(error.description.contains("wte.weight") && error.description.contains("[4, 10]") && error.description.contains("[10, 4]"))
        }
    }
}
