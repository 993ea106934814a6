// Parity with Hugging Face transformers on a tiny random GPT-2 (fixture made by
// scripts/reference/gpt2_parity.py): logits, loss, gradients; and the other direction.

import Foundation
import Models
import NN
import Tensors
import Testing

/// The fixtures folder of this test target.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
let tinyGPT2 = fixtures.appendingPathComponent("gpt2-tiny")

/// Reads an integer tensor of the expected file as an IndexTensor.
func indexTensor(_ file: SafeTensorsFile, _ name: String) throws -> IndexTensor {
    IndexTensor(shape: try file.info(name).shape, values: try file.int64s(name).map { Int32($0) })
}

/// The largest |a − b| / max(1, |b|).
func worstRelative(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1) / max(1, abs($1.1))) }
}

/// Checks every `grad.<name>` tensor of a parity fixture against the gradient of the module's
/// parameter `<name>`: worst |Δ| ≤ 1e-4 · max(largest |g|, 1e-2). Returns how many were checked and
/// the worst |Δ| / largest |g| (the figure the notes quote).
func expectGradientsMatch(_ module: Module, _ expected: SafeTensorsFile,
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> (checked: Int, worst: Float) {
    var checked = 0, worstRatio: Float = 0
    for entry in expected.names where entry.hasPrefix("grad.") {
        let parameter = try #require(module.parameter(named: String(entry.dropFirst(5))), "no parameter for \(entry)", sourceLocation: sourceLocation)
        let reference = try expected.floats(entry)
        let gradient = try #require(parameter.grad, "no gradient for \(entry)", sourceLocation: sourceLocation).scalars
        let scale = reference.map(abs).max() ?? 1
        let worst = zip(gradient, reference).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-4 * max(scale, 1e-2), "\(entry): worst |Δ| \(worst), largest |g| \(scale)", sourceLocation: sourceLocation)
        worstRatio = max(worstRatio, worst / max(scale, 1e-2))
        checked += 1
    }
    return (checked, worstRatio)
}

@Suite("GPT-2 parity with transformers")
struct ParityTests {
    let expected: SafeTensorsFile
    let ids: IndexTensor, mask: Tensor, positions: IndexTensor, labels: IndexTensor

    init() throws {
        expected = try SafeTensorsFile(contentsOf: tinyGPT2.appendingPathComponent("expected.safetensors"))
        ids = try indexTensor(expected, "input_ids")
        positions = try indexTensor(expected, "position_ids")
        labels = try indexTensor(expected, "labels")
        let maskValues = try expected.int64s("attention_mask").map(Float.init)
        mask = Tensor(shape: ids.shape, values: maskValues)
    }

    /// Logits at real (unpadded) positions only: HF and we differ only where nothing is attended.
    func realPositions(_ logits: Tensor) -> [Float] {
        let V = logits.shape[2]
        return (0..<(ids.count)).filter { mask.data[$0] != 0 }.flatMap { Array(logits.scalars[($0 * V)..<(($0 + 1) * V)]) }
    }

    @Test("logits and loss match transformers to 1e-4")
    func logitsAndLoss() throws {
        let model = try GPT2LMHeadModel.load(from: tinyGPT2)
        model.setTraining(false)
        let logits = model(ids, positions: positions, mask: mask)
        let reference = try expected.tensor("logits")
        #expect(logits.shape == reference.shape)
        #expect(worstRelative(realPositions(logits), realPositions(reference)) < 1e-4)
        let loss = model.loss(logits: logits, labels: labels)
        #expect(abs(loss.item - (try expected.floats("loss"))[0]) < 1e-4)
    }

    @Test("gradients of the loss match transformers to 1e-4")
    func gradients() throws {
        let model = try GPT2LMHeadModel.load(from: tinyGPT2)
        model.setTraining(false)
        model.loss(logits: model(ids, positions: positions, mask: mask), labels: labels).backward()
        for name in expected.names where name.hasPrefix("grad.") {
            let parameter = try #require(model.parameter(named: String(name.dropFirst(5))), "no parameter for \(name)")
            let reference = try expected.floats(name)
            let gradient = try #require(parameter.grad, "no gradient for \(name)").scalars
            let scale = reference.map(abs).max() ?? 1
            let worst = zip(gradient, reference).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * max(scale, 1e-2), "\(name): worst |Δ| \(worst), largest |g| \(scale)")
        }
    }

    @Test("dropouts (embedding, attention, residual) act in training mode only, and repeat with the seed")
    func dropoutModes() throws {
        let model = try GPT2LMHeadModel.load(from: tinyGPT2)
        let evaluation = withNoGrad { model(ids, positions: positions, mask: mask) }.scalars
        model.setTraining(true)
        model.source.generator = RandomGenerator(seed: 5)
        let first = withNoGrad { model(ids, positions: positions, mask: mask) }.scalars
        model.source.generator = RandomGenerator(seed: 5)
        let again = withNoGrad { model(ids, positions: positions, mask: mask) }.scalars
        #expect(first != evaluation && first == again)
        let attentionOnly = GPT2Configuration(vocabularySize: 50, positions: 16, embeddingDimension: 8, layers: 1, heads: 2,
                                              residualDropout: 0, embeddingDropout: 0, attentionDropout: 0.5)
        let small = GPT2LMHeadModel(attentionOnly, seed: 3)
        let tokens = IndexTensor(shape: [1, 6], values: [1, 2, 3, 4, 5, 6] as [Int32])
        let train = withNoGrad { small(tokens) }.scalars
        small.setTraining(false)
        #expect(train != withNoGrad { small(tokens) }.scalars)
    }

    @Test("padding changes nothing: a row alone equals the same row inside a left-padded batch")
    func paddingInvariance() throws {
        let model = try GPT2LMHeadModel.load(from: tinyGPT2)
        model.setTraining(false)
        let batch = model(ids, positions: positions, mask: mask)
        let T = ids.shape[1], V = batch.shape[2]
        let alone = Array(ids.values[(T + 3)..<(2 * T)])
        let single = model(IndexTensor(shape: [1, T - 3], values: alone))
        let fromBatch = Array(batch.scalars[((T + 3) * V)..<(2 * T * V)])
        #expect(worstRelative(single.scalars, fromBatch) < 1e-5)
    }

    @Test("a checkpoint saved by Swift loads back identically; transformers' check of it is recorded")
    func savedCheckpoint() throws {
        let model = try GPT2LMHeadModel.load(from: tinyGPT2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-gpt2-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try model.save(to: directory)
        let reloaded = try GPT2LMHeadModel.load(from: directory)
        for ((name, a), (_, b)) in zip(model.namedParameters(), reloaded.namedParameters()) {
            #expect(a.scalars == b.scalars, "\(name)")
        }
        let names = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors")).names
        #expect(names.contains("transformer.h.0.attn.c_attn.weight") && !names.contains("lm_head.weight"))
        // Written by `gpt2_parity.py check-swift` from a checkpoint this suite saved (see below).
        let check = try Data(contentsOf: tinyGPT2.appendingPathComponent("swift_checkpoint_check.json"))
        let result = try #require(try JSONSerialization.jsonObject(with: check) as? [String: Any])
        #expect(result["passed"] as? Bool == true)
        #expect((result["max_abs_logit_difference"] as? Double ?? 1) < 1e-4)
    }

    /// With RLHF_WRITE_PARITY_DIR set, saves a Swift-trained checkpoint and its logits there, for
    /// `python3 scripts/reference/gpt2_parity.py check-swift DIR`.
    @Test("write a checkpoint for the Python check", .enabled(if: ProcessInfo.processInfo.environment["RLHF_WRITE_PARITY_DIR"] != nil))
    func savedCheckpointForPython() throws {
        let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["RLHF_WRITE_PARITY_DIR"]!)
        let model = try GPT2LMHeadModel.load(from: tinyGPT2)
        model.setTraining(false)
        // One AdamW step, so the weights are Swift's own and not a copy of the HF file.
        let optimizer = AdamW(parameters: model.namedParameters(), configuration: AdamWConfiguration(learningRate: 1e-2))
        model.loss(logits: model(ids, positions: positions, mask: mask), labels: labels).backward()
        optimizer.step()
        try model.save(to: directory)
        let logits = withNoGrad { model(ids, positions: positions, mask: mask) }
        var writer = SafeTensorsWriter()
        try writer.add("logits", shape: logits.shape, floats: logits.scalars)
        try writer.add("input_ids", shape: ids.shape, int64s: ids.values.map(Int64.init))
        try writer.add("attention_mask", shape: ids.shape, int64s: mask.scalars.map { Int64($0) })
        try writer.add("position_ids", shape: ids.shape, int64s: positions.values.map(Int64.init))
        try writer.write(to: directory.appendingPathComponent("swift_logits.safetensors"))
    }
}
