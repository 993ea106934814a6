// `rlhf bench`: kernel speed as JSON lines, against rooflines measured in the same run.

import Alignment
import ArgumentParser
import Benchmarks
import Foundation
import Kernels
import Models
import Tokenizers

/// Measures sgemm, copy bandwidth and each kernel at GPT-2-small shapes.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernel speed (JSON lines) against the sgemm and memory-copy rooflines of this run.",
        discussion: "Benchmarks: \(Bench.allNames.joined(separator: ", ")). Kernel shapes: B=4, T=256, C=768, NH=12, V=50257; AdamW over 124M parameters. Generation: 64-token prompts, 128 new tokens, temperature 1, random weights."
    )

    @Option(name: .long, help: "Run only these benchmarks (comma-separated names, or repeat the option).")
    var only: [String] = []

    @Flag(name: .long, help: "Tiny shapes: a smoke test of the benchmark code, not a measurement.")
    var tiny = false

    @Option(name: .long, help: "Timed repetitions per measurement (the median is reported).")
    var repetitions: Int?

    @Option(name: .long, help: "Tokenizer directory for the tokenizer benchmark (default ../shared/data/gpt2 when present).")
    var tokenizer: String?

    @Option(name: .long, help: "Text file for the tokenizer benchmark (default ../shared/data/shakespeare/complete_works.txt when present).")
    var corpus: String?

    func validate() throws {
        for name in selected ?? [] where !Self.allNames.contains(name) {
            throw ValidationError("unknown benchmark '\(name)'; expected one of: \(Self.allNames.joined(separator: ", "))")
        }
        if let repetitions, repetitions < 1 { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
    }

    static var allNames: [String] { KernelBenchmarks.names + ModelBenchmarks.names + Seq2SeqBenchmarks.names + ["ppo_iteration", "dpo_step", "tokenizer"] }

    var selected: Set<String>? {
        let names = only.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        return names.isEmpty ? nil : Set(names)
    }

    func run() throws {
        var shapes = tiny ? BenchmarkShapes.tiny : BenchmarkShapes()
        if let repetitions { shapes.repetitions = repetitions }
        let emit = { (record: BenchmarkRecord) in
            print(record.jsonLine)
            fflush(nil)
        }
        let chosen = selected
        if chosen == nil || !chosen!.isDisjoint(with: KernelBenchmarks.names) {
            KernelBenchmarks.run(shapes: shapes, only: chosen, emit: emit)
        }
        ModelBenchmarks.run(only: chosen, tiny: tiny, emit: emit)
        ModelBenchmarks.runTraining(only: chosen, tiny: tiny, emit: emit)
        ModelBenchmarks.runEncoderTraining(only: chosen, tiny: tiny, emit: emit)
        ModelBenchmarks.runServing(only: chosen, tiny: tiny, emit: emit)
        Seq2SeqBenchmarks.run(only: chosen, tiny: tiny, emit: emit)
        Seq2SeqBenchmarks.runTraining(only: chosen, tiny: tiny, emit: emit)
        if chosen == nil || chosen!.contains("ppo_iteration") { emit(ppoRecord()) }
        if chosen == nil || chosen!.contains("dpo_step") {
            do { emit(try DPOBenchmark.run(tiny: tiny)) } catch { emit(BenchmarkRecord(name: "dpo_step", fields: [("error", .text("\(error)"))])) }
        }
        if chosen == nil || chosen!.contains("tokenizer") { emit(tokenizerRecord()) }
    }

    /// Seconds per PPO iteration at the fixed tiny shape (needs the GPT-2 tokenizer).
    func ppoRecord() -> BenchmarkRecord {
        let tokenizerPath = tokenizer ?? "../shared/data/gpt2"
        guard let loaded = try? loadTokenizer(from: URL(fileURLWithPath: tokenizerPath)) else {
            return BenchmarkRecord(name: "ppo_iteration", fields: [("skipped", .text("needs the GPT-2 tokenizer: --tokenizer DIR (tried \(tokenizerPath))"))])
        }
        do { return try PPOBenchmark.run(tokenizer: loaded, tiny: tiny) } catch {
            return BenchmarkRecord(name: "ppo_iteration", fields: [("error", .text("\(error)"))])
        }
    }

    /// Single-threaded encoding speed of a tokenizer over a corpus (GPT-2 on Shakespeare by default).
    func tokenizerRecord() -> BenchmarkRecord {
        let tokenizerPath = tokenizer ?? "../shared/data/gpt2"
        let corpusPath = corpus ?? "../shared/data/shakespeare/complete_works.txt"
        guard let loaded = try? loadTokenizer(from: URL(fileURLWithPath: tokenizerPath)),
              let data = FileManager.default.contents(atPath: corpusPath) else {
            return BenchmarkRecord(name: "tokenizer", fields: [
                ("skipped", .text("needs --tokenizer DIR and --corpus FILE (tried \(tokenizerPath) and \(corpusPath))")),
            ])
        }
        var text = String(decoding: data, as: UTF8.self)
        if tiny { text = String(text.prefix(20_000)) }
        var count = 0
        let start = DispatchTime.now().uptimeNanoseconds
        count = loaded.encode(text).count
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let bytes = text.utf8.count
        return BenchmarkRecord(name: "tokenizer", fields: [
            ("corpus", .text(corpusPath)), ("bytes", .integer(bytes)), ("tokens", .integer(count)),
            ("seconds", .number(seconds)), ("megabytes_per_second", .number(Double(bytes) / seconds / 1e6)),
            ("threads", .integer(1)), ("cache", .text("cold (a freshly loaded tokenizer)")),
        ])
    }
}
