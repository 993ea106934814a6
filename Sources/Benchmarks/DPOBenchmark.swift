// `rlhf bench --only dpo_step`: seconds per DPO optimizer step at the fixed tiny shape —
// a GPT-2-vocabulary policy (4 layers, 4 heads, 256 dims), batch 8 pairs of 64 prompt + 64
// response tokens, reference log-probs cached beforehand (as in training) — random weights.

import Alignment
import Foundation
import Kernels
import Models
import NN
import Tensors

/// The DPO step benchmark.
public enum DPOBenchmark {
    /// Runs 4 steps (2 with `tiny`) and reports the median step.
    public static func run(tiny: Bool = false) throws -> BenchmarkRecord {
        let (batch, promptLength, responseLength) = tiny ? (2, 8, 8) : (8, 64, 64)
        let configuration = tiny
            ? GPT2Configuration(vocabularySize: 50257, positions: 32, embeddingDimension: 32, layers: 2, heads: 2)
            : GPT2Configuration(vocabularySize: 50257, positions: 256, embeddingDimension: 256, layers: 4, heads: 4)
        let policy = GPT2LMHeadModel(configuration, seed: 1), reference = GPT2LMHeadModel(configuration, seed: 1)
        var generator = RandomGenerator(seed: 4)
        func tokens(_ count: Int) -> [Int32] { (0..<count).map { _ in Int32(generator.nextInt(below: 50256)) } }
        let examples = (0..<(batch * 4)).map { _ in DPOExample(prompt: tokens(promptLength), chosen: tokens(responseLength), rejected: tokens(responseLength)) }
        var dpo = DPOConfiguration()
        dpo.batchSize = batch
        dpo.maxSteps = tiny ? 2 : 4
        dpo.validFraction = 0
        dpo.evalInterval = 0
        dpo.checkpointInterval = 1000
        dpo.learningRate = 1e-5
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-bench-dpo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let referenceStarted = DispatchTime.now().uptimeNanoseconds
        let trainer = try DPOTrainer(policy: policy, reference: reference, examples: examples, configuration: dpo, run: RunDirectory(root: folder))
        let referenceSeconds = Double(DispatchTime.now().uptimeNanoseconds - referenceStarted) / 1e9
        var steps: [Double] = []
        var last = DispatchTime.now().uptimeNanoseconds
        try trainer.train { _ in
            let now = DispatchTime.now().uptimeNanoseconds
            steps.append(Double(now - last) / 1e9)
            last = now
        }
        // The final step also writes two checkpoints; report the median.
        let median = steps.sorted()[steps.count / 2]
        return BenchmarkRecord(name: "dpo_step", fields: [
            ("batch", .integer(batch)), ("prompt_tokens", .integer(promptLength)), ("response_tokens", .integer(responseLength)),
            ("layers", .integer(configuration.layers)), ("embedding", .integer(configuration.embeddingDimension)),
            ("vocabulary", .integer(configuration.vocabularySize)), ("seconds_per_step", .number(median)),
            ("reference_seconds_per_pair", .number(referenceSeconds / Double(examples.count))), ("steps_measured", .integer(steps.count)),
        ])
    }
}
