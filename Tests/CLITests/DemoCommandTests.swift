// `rlhf demo --quick` end to end (the CI smoke test: the report exists, its numbers are finite, it
// renders in a browser and its SVGs parse), `rlhf overopt` on the demo's PPO run, and `rlhf sweep`
// over a tiny pretraining grid (resumable, sweep.csv, report).

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// A file of ../shared/data (or `RLHF_SHARED_DATA`).
func sharedDataFile(_ relativePath: String) -> URL {
    if let root = ProcessInfo.processInfo.environment["RLHF_SHARED_DATA"] {
        return URL(fileURLWithPath: root).appendingPathComponent(relativePath)
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data").appendingPathComponent(relativePath).standardizedFileURL
}

/// Every `<svg …>…</svg>` of a page, each parsed as XML: the parse errors.
func svgParseErrors(_ html: String) -> [String] {
    var errors: [String] = []
    var rest = html[...]
    while let start = rest.range(of: "<svg"), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
        let svg = String(rest[start.lowerBound..<end.upperBound])
        let parser = XMLParser(data: Data(svg.utf8))
        if !parser.parse() { errors.append(parser.parserError.map { "\($0)" } ?? "unknown") }
        rest = rest[end.upperBound...]
    }
    return errors
}

@Suite("rlhf demo, overopt, sweep", .serialized)
struct DemoCommandTests {
    @Test("a missing, empty, binary or tiny --corpus is an error naming the file and what the demo needs")
    func badCorpus() async throws {
        let directory = try scratchFolder("demo-bad-corpus")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(String, Data?, String)] = [("missing.txt", nil, "no such file"), ("empty.txt", Data(), "empty"),
                                                ("binary.bin", Data([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0xff, 0xfe]), "not UTF-8 text"),
                                                ("tiny.txt", Data("To be or not to be.\n".utf8), "at least 20000 bytes")]
        for (option, message) in [("--pretrain-steps=0", "--pretrain-steps must be at least 1"), ("--bpe-merges=-3", "--bpe-merges must be at least 1"),
                                  ("--kl-coefficient=-1", "--kl-coefficient must be a number ≥ 0"), ("--ppo-learning-rate=0", "--ppo-learning-rate must be a number > 0")] {
            let (status, _, err) = try await runTool(["demo", option, "--output", directory.appendingPathComponent("out").path])
            #expect(status != 0 && err.contains(message), "\(option): \(err)")
        }
        // A huge file is refused from its size, before it is read (a sparse file: no disk used).
        let huge = directory.appendingPathComponent("huge.txt")
        FileManager.default.createFile(atPath: huge.path, contents: nil)
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: 300 << 20)
        try handle.close()
        let (hugeStatus, _, hugeErr) = try await runTool(["demo", "--corpus", huge.path, "--output", directory.appendingPathComponent("out").path])
        #expect(hugeStatus != 0 && hugeErr.contains("huge.txt") && hugeErr.contains("at most 268435456"), "\(hugeErr)")
        for (name, contents, message) in cases {
            let file = directory.appendingPathComponent(name)
            if let contents { try contents.write(to: file) }
            let (status, _, err) = try await runTool(["demo", "--corpus", file.path, "--output", directory.appendingPathComponent("out").path])
            #expect(status != 0 && err.contains(name) && err.contains(message), "\(name): \(err)")
        }
    }

    @Test("rlhf-demo is the demo command without the serving stack: its own usage line, the same checks, no gRPC, TLS or HTTP client linked")
    func standaloneDemo() async throws {
        let (helpStatus, help, _) = try await runTool(["--help"], executable: "rlhf-demo")
        #expect(helpStatus == 0 && help.contains("USAGE: rlhf-demo") && help.contains("--ppo-learning-rate"), "\(help)")
        let directory = try scratchFolder("standalone-demo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let (status, _, err) = try await runTool(["--corpus", empty.path, "--output", directory.appendingPathComponent("out").path], executable: "rlhf-demo")
        #expect(status != 0 && err.contains("empty.txt") && err.contains("empty"), "\(err)")
        let (optionStatus, _, optionErr) = try await runTool(["--pretrain-steps=0"], executable: "rlhf-demo")
        #expect(optionStatus != 0 && optionErr.contains("--pretrain-steps must be at least 1"), "\(optionErr)")
        // What makes it quick to build: none of gRPC's, SwiftNIO's TLS or swift-crypto's BoringSSL modules is in it (they are in `rlhf`).
        let standalone = try Data(contentsOf: toolExecutable("rlhf-demo"), options: .alwaysMapped)
        let whole = try Data(contentsOf: toolExecutable(), options: .alwaysMapped)
        for module in ["GRPCCore", "NIOSSL", "Hummingbird", "AsyncHTTPClient", "CCryptoBoringSSL"] {
            #expect(standalone.range(of: Data(module.utf8)) == nil, "rlhf-demo links \(module)")
            #expect(whole.range(of: Data(module.utf8)) != nil, "rlhf lacks \(module)")
        }
    }

    @Test("demo --quick runs every stage and writes a finite, renderable report; overopt measures its PPO run",
          .enabled(if: FileManager.default.fileExists(atPath: sharedDataFile("shakespeare/tiny_shakespeare.txt").path)))
    func quickDemo() async throws {
        let directory = try scratchFolder("demo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("demo")
        let (status, out, err) = try await runTool(["demo", "--quick", "--corpus", sharedDataFile("shakespeare/tiny_shakespeare.txt").path, "--output", output.path])
        #expect(status == 0, "\(err)")
        for stage in ["[1/7]", "[2/7]", "[3/7]", "[4/7]", "[5/7]", "[6/7]", "[7/7]", "demo finished in", "pretrained", "ppo", "dpo"] {
            #expect(out.contains(stage), "missing \(stage) in: \(out)")
        }
        let report = try String(contentsOf: output.appendingPathComponent("report.html"), encoding: .utf8)
        for section in ["<h2>Summary</h2>", "<h2>Side by side</h2>", "<h2>Over-optimization study</h2>", "Samples: ppo"] {
            #expect(report.contains(section), "missing \(section)")
        }
        // No non-finite number anywhere: "nan"/"inf" as a word of its own (sample text may hold "senanenr").
        #expect(report.range(of: #"(?i)(?<![a-z])[-+]?(nan|inf)(?![a-z])"#, options: .regularExpression) == nil)
        #expect(svgParseErrors(report).isEmpty)
        #expect(report.components(separatedBy: "<svg").count > 10)
        // The study: every checkpoint (every 3 of 18 iterations) plus the initial policy, all finite.
        let study = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("overopt.json"))) as? [String: Any]
        let points = try #require(study?["points"] as? [[String: Any]])
        #expect(points.compactMap { $0["step"] as? Int } == [0, 3, 6, 9, 12, 15, 18])
        for point in points {
            for key in ["proxy", "gold", "kl", "separatorRatio", "distinct1", "distinct2"] {
                let value = try #require(point[key] as? Double, "\(key)")
                #expect(value.isFinite)
            }
        }
        #expect((points[0]["kl"] as? Double).map { abs($0) < 1e-3 } == true)
        // A finished demo reruns nothing: the second run only evaluates and reports.
        let (again, rerun, _) = try await runTool(["demo", "--quick", "--corpus", sharedDataFile("shakespeare/tiny_shakespeare.txt").path, "--output", output.path])
        #expect(again == 0 && rerun.contains("demo finished in"))
        #expect(rerun.components(separatedBy: "finished before, not rerun").count == 5, "\(rerun)")  // pretrain, reward, ppo, dpo
        #expect(!out.contains("finished before"))
        // rlhf overopt on the demo's PPO run with one sample per prompt.
        let studyOutput = directory.appendingPathComponent("study")
        let (code, text, error) = try await runTool(["overopt", "--run", output.appendingPathComponent("runs/ppo").path, "--gold", "lexicon",
                                               "--samples", "1", "--output", studyOutput.path])
        #expect(code == 0, "\(error)")
        #expect(text.contains("step    18"))
        let csv = try String(contentsOf: studyOutput.appendingPathComponent("overopt.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 8)
        #expect(svgParseErrors(try String(contentsOf: studyOutput.appendingPathComponent("overopt.html"), encoding: .utf8)).isEmpty)
        // Real labels instead of the simulated rater: the 268 hand-labelled snippets (labelled text),
        // reusing the pretrained stage. The reward model is then a labelled one, DPO gets happy/sad pairs.
        let labelsFile = sharedDataFile("shakespeare/handcrafted_sentiment.jsonl")
        if FileManager.default.fileExists(atPath: labelsFile.path) {
            let labelled = directory.appendingPathComponent("labelled")
            try FileManager.default.createDirectory(at: labelled.appendingPathComponent("runs"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: output.appendingPathComponent("runs/pretrain"), to: labelled.appendingPathComponent("runs/pretrain"))
            let (code, text, error) = try await runTool(["demo", "--quick", "--corpus", sharedDataFile("shakespeare/tiny_shakespeare.txt").path,
                                                   "--labels", labelsFile.path, "--output", labelled.path])
            #expect(code == 0, "\(error)")
            #expect(text.contains("268 labelled texts") && text.contains("demo finished in"), "\(text)")
            #expect(text.contains("pretrain: finished before") && !text.contains("reward: finished before"))
            let rewardConfig = try String(contentsOf: labelled.appendingPathComponent("runs/reward/config.yaml"), encoding: .utf8)
            #expect(rewardConfig.contains("objective: labelled") && rewardConfig.contains("text_field: sample"))
            let pairs = try String(contentsOf: labelled.appendingPathComponent("preferences.jsonl"), encoding: .utf8)
            #expect(pairs.split(separator: "\n").count > 100)
        }
        if chromium != nil {
            let png = try await renderInChromium(output.appendingPathComponent("report.html"), to: directory.appendingPathComponent("report.png"))
            let size = try #require(pngSize(png))
            #expect(size.width == 1200 && size.height == 900)
            #expect(png.count > 20_000, "\(png.count) bytes: the page looks blank")
        }
    }

    @Test("score --reward: any reward function over a chosen text field; --model and --reward together are an error")
    func scoreWithRewardFunction() async throws {
        let directory = try scratchFolder("score")
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("texts.jsonl")
        try #"{"sample":"I love thee","sentiment":"happy"}"# .appending("\n" + #"{"sample":"I do not love thee","sentiment":"sad"}"#)
            .write(to: input, atomically: true, encoding: .utf8)
        let (status, out, err) = try await runTool(["score", "--reward", "lexicon", "--input", input.path, "--text-field", "sample"])
        #expect(status == 0, "\(err)")
        let scores = out.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["score"] as? Double
        }
        #expect(scores.count == 2 && scores[0] == 0.5 && abs(scores[1] + 1 / 5.0.squareRoot()) < 1e-6)
        #expect(out.contains(#""sentiment":"sad""#))  // the input's fields are kept
        let (both, _, message) = try await runTool(["score", "--reward", "lexicon", "--model", directory.path, "--input", input.path])
        #expect(both != 0 && message.contains("exactly one of --model and --reward"))
    }

    @Test("overopt: a folder that is not a PPO run is an error naming config.yaml")
    func overoptErrors() async throws {
        let directory = try scratchFolder("overopt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, _, err) = try await runTool(["overopt", "--run", directory.path, "--gold", "lexicon"])
        #expect(status != 0 && err.contains("config.yaml"))
        let (bad, _, message) = try await runTool(["overopt", "--run", directory.path, "--gold", "sentiment"])
        #expect(bad != 0 && message.contains("lexicon"))
    }

    @Test("sweep: a 2-cell pretraining grid writes sweep.csv and a report; rerunning skips finished cells; bad grids are errors")
    func sweep() async throws {
        let directory = try scratchFolder("sweep")
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = directory.appendingPathComponent("tiny.txt")
        try String(repeating: "to be or not to be. ", count: 40).write(to: corpus, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("sweep.yaml")
        try """
        job: pretrain
        corpus: \(corpus.path)
        n_layer: 1
        n_head: 2
        n_embd: 16
        block_size: 8
        batch_size: 4
        max_steps: 3
        eval_interval: 3
        log_interval: 1
        """.write(to: config, atomically: true, encoding: .utf8)
        let runs = directory.appendingPathComponent("runs").path
        let arguments = ["sweep", "--config", config.path, "--grid", "learning_rate=1e-3,1e-2", "--grid", "warmup_steps=0,1",
                         "--name", "lr", "--runs-dir", runs]
        let (status, out, err) = try await runTool(arguments)
        #expect(status == 0, "\(err)")
        #expect(out.contains("cell 4/4 learning_rate=1e-2,warmup_steps=1"))
        let csv = try String(contentsOf: URL(fileURLWithPath: runs).appendingPathComponent("lr/sweep.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n")
        #expect(rows.first == "cell,learning_rate,warmup_steps,status,train/loss final,train/loss best,valid/loss final,valid/loss best")
        #expect(rows.count == 5 && rows.dropFirst().allSatisfy { $0.contains(",finished,") })
        let cellConfig = try String(contentsOf: URL(fileURLWithPath: runs).appendingPathComponent("lr/cells/learning_rate=1e-2,warmup_steps=1/config.yaml"), encoding: .utf8)
        #expect(cellConfig.contains("learning_rate: 1e-2") || cellConfig.contains("learning_rate: 0.01"))
        #expect(FileManager.default.fileExists(atPath: URL(fileURLWithPath: runs).appendingPathComponent("lr/report.html").path))
        let (again, rerun, _) = try await runTool(arguments)
        #expect(again == 0 && rerun.components(separatedBy: "not rerun").count == 5)
        let (bad, _, message) = try await runTool(["sweep", "--config", config.path, "--grid", "learning_rate", "--runs-dir", runs])
        #expect(bad != 0 && message.contains("key=v1,v2"))
        let (unknown, _, why) = try await runTool(["sweep", "--config", config.path, "--grid", "no_such_field=1,2", "--runs-dir", runs, "--name", "u"])
        #expect(unknown != 0 && why.contains("no_such_field"))
        let jobless = directory.appendingPathComponent("jobless.yaml")
        try "corpus: \(corpus.path)\n".write(to: jobless, atomically: true, encoding: .utf8)
        let (noJob, _, whyNot) = try await runTool(["sweep", "--config", jobless.path, "--grid", "max_steps=1", "--runs-dir", runs])
        #expect(noJob != 0 && whyNot.contains("job: ppo"))
    }
}
