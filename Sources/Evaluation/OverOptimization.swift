// The over-optimization study (Gao et al., 2022; RLHF-Shakespeare): every checkpoint of a PPO run
// measured on the same prompts — proxy reward, gold reward, KL to the initial policy, separator
// share, distinct-n — to show where the gold reward stops following the proxy it was optimised
// against.

import Alignment
import Foundation
import Models
import Tokenizers

/// Proxy and gold reward across a PPO run's checkpoints.
public struct OverOptimizationStudy: Sendable, Codable {
    /// The run's folder.
    public var run: String
    /// One measurement per checkpoint, in step order; step 0 is the initial policy.
    public var points: [PolicyMeasurement]

    /// A study of `points`.
    public init(run: String, points: [PolicyMeasurement]) {
        self.run = run
        self.points = points.sorted { ($0.step ?? 0) < ($1.step ?? 0) }
    }

    /// Measures the initial policy and every checkpoint of the PPO run at `runDirectory` (its
    /// config.yaml gives the initial model, the proxy reward, the eval prompts and the sampling
    /// settings). Checkpoints pruned by `keep_checkpoints` are missing from the study.
    /// - Parameters:
    ///   - gold: the independent judge.
    ///   - proxy: overrides the run's reward; `prompts` overrides its eval prompts.
    ///   - samplesPerPrompt: responses sampled per prompt (fixed seed, the same for every checkpoint).
    public static func run(runDirectory: URL, gold: any RewardFunction, proxy: (any RewardFunction)? = nil, prompts: [String]? = nil,
                           samplesPerPrompt: Int = 4, seed: UInt64 = 0x0BE7,
                           progress: ((PolicyMeasurement) -> Void)? = nil) throws -> OverOptimizationStudy {
        let run = try RunDirectory(root: runDirectory)
        guard FileManager.default.fileExists(atPath: run.configURL.path) else {
            throw RunError.missingFile(path: run.configURL.path, expected: "a PPO run directory has config.yaml, written by rlhf ppo")
        }
        let (job, ppo, _) = try PPOJob.resolve(file: run.configURL, overrides: [])
        let initialURL = URL(fileURLWithPath: job.model)
        let reference = try ModelLoader.autoregressiveModel(from: initialURL)
        let tokenizer = try loadTokenizer(from: initialURL)
        let sampler = try PolicySampler(configuration: ppo, tokenizer: tokenizer, modelConfiguration: reference.modelConfiguration)
        let proxyReward = try proxy ?? RewardSpecification.make(job.reward, tokenizer: tokenizer)
        let evaluation = try prompts ?? job.evalPrompts.map(job.readPrompts) ?? Array(job.readPrompts(job.prompts).prefix(job.numEvalPrompts))
        var checkpoints = run.checkpoints()
        if FileManager.default.fileExists(atPath: run.finalURL.appendingPathComponent(TrainerState.fileName).path) {
            let finalStep = try TrainerState.load(from: run.finalURL).step
            if !checkpoints.contains(where: { $0.step == finalStep }) { checkpoints.append((finalStep, run.finalURL)) }
        }
        guard !checkpoints.isEmpty else { throw RunError.runDirectory(path: run.root.path, problem: "the run has no checkpoints yet") }
        var points: [PolicyMeasurement] = []
        for (step, url) in [(0, initialURL)] + checkpoints {
            let policy = step == 0 ? reference : try ModelLoader.autoregressiveModel(from: url)
            let point = try PolicyMeasurement.measure(name: step == 0 ? "initial" : "step-\(step)", step: step, policy: policy,
                                                      reference: reference, sampler: sampler, prompts: evaluation,
                                                      samplesPerPrompt: samplesPerPrompt, proxy: proxyReward, gold: gold, seed: seed)
            progress?(point)
            points.append(point)
        }
        return OverOptimizationStudy(run: run.root.path, points: points)
    }

    /// The step with the highest gold score, and with the highest proxy score.
    public var goldPeak: PolicyMeasurement? { points.filter { $0.gold != nil }.max { $0.gold! < $1.gold! } }
    /// The checkpoint with the highest proxy score.
    public var proxyPeak: PolicyMeasurement? { points.max { $0.proxy < $1.proxy } }

    /// One paragraph: how proxy and gold moved, where gold peaked, what happened after.
    public var summary: String {
        guard let first = points.first, let last = points.last else { return "No checkpoints." }
        var text = String(format: "From step %d to step %d the proxy reward went %.3f → %.3f", first.step ?? 0, last.step ?? 0, first.proxy, last.proxy)
        if let g0 = first.gold, let g1 = last.gold, let peak = goldPeak, let peakGold = peak.gold {
            text += String(format: " and the gold reward %.3f → %.3f (KL %.2f → %.2f nats).", g0, g1, first.kl, last.kl)
            // A drop smaller than two standard errors of the means is noise, not over-optimization.
            let noise = 2 * ((peak.goldStandardError ?? 0) * (peak.goldStandardError ?? 0) + (last.goldStandardError ?? 0) * (last.goldStandardError ?? 0)).squareRoot()
            if peak.step != last.step && peakGold - g1 > noise {
                text += String(format: " Gold peaked at step %d (%.3f, KL %.2f, proxy %.3f) and fell by %.3f (more than twice its standard error) while the proxy %@",
                               peak.step ?? 0, peakGold, peak.kl, peak.proxy, peakGold - g1,
                               last.proxy > peak.proxy ? "kept rising: the policy over-optimised the proxy." : "did not rise further either.")
            } else if g1 - g0 > 2 * (last.goldStandardError ?? 0) {
                text += " Gold rose with the proxy and had not turned down at the last checkpoint: no over-optimization within this run."
            } else {
                text += " Gold did not move beyond its noise: the proxy's gains did not carry over to the gold scorer."
            }
        } else {
            text += String(format: " (KL %.2f → %.2f nats).", first.kl, last.kl)
        }
        text += String(format: " Separator share %.3f → %.3f, distinct-2 %.3f → %.3f.", first.separatorRatio, last.separatorRatio, first.distinct2, last.distinct2)
        return text
    }

    /// CSV: step, proxy, gold, kl, separator_ratio, distinct_1, distinct_2, mean_length.
    public var csv: String {
        var text = "step,proxy,gold,kl,separator_ratio,distinct_1,distinct_2,mean_length\n"
        for point in points {
            let gold = point.gold.map { String(format: "%.6g", $0) } ?? ""
            text += String(format: "%d,%.6g,%@,%.6g,%.6g,%.6g,%.6g,%.4g\n", point.step ?? 0, point.proxy, gold, point.kl,
                           point.separatorRatio, point.distinct1, point.distinct2, point.meanLength)
        }
        return text
    }

    /// The standard deviation of `values` (1 when there are fewer than two or no spread, so that dividing by it is safe).
    static func spread(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 1 }
        let mean = values.reduce(0, +) / Double(values.count)
        let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        return deviation > 0 ? deviation : 1
    }

    /// SVG charts over checkpoint steps: proxy and gold on one scale — each one's change from
    /// step 0 in units of its spread over step 0's samples, so that both start at 0 and move in
    /// comparable units — with the gold peak marked; then KL, separator share, distinct-n.
    public var charts: [String] {
        func line(_ label: String, _ value: (PolicyMeasurement) -> Double?) -> (label: String, points: [(step: Int, value: Double)]) {
            (label, points.compactMap { point in value(point).map { (point.step ?? 0, $0) } })
        }
        let first = points.first
        let proxySpread = Self.spread(first?.samples.map(\.proxy) ?? [])
        let goldSpread = Self.spread(first?.samples.compactMap(\.gold) ?? [])
        let peakMarker = goldPeak.map { [(step: $0.step ?? 0, label: "gold peak")] } ?? []
        return [
            RunReport.chart(title: "Proxy and gold reward: change from step 0, in step-0 standard deviations", lines: [
                line("proxy (the reward model PPO optimised)", { ($0.proxy - (first?.proxy ?? 0)) / proxySpread }),
                line("gold (the stand-in for human raters)", { point in point.gold.flatMap { g in first?.gold.map { (g - $0) / goldSpread } } }),
            ], yLabel: "change (σ of step 0)", markers: peakMarker),
            RunReport.chart(title: "KL to the initial policy", lines: [line("KL", { $0.kl })], yLabel: "nats per response", markers: peakMarker),
            RunReport.chart(title: "Separator-token share (\\n, space, comma, period)", lines: [line("separator ratio", { $0.separatorRatio })],
                            yLabel: "share of tokens", markers: peakMarker),
            RunReport.chart(title: "Diversity (distinct-n of generated tokens)", lines: [line("distinct-1", { $0.distinct1 }), line("distinct-2", { $0.distinct2 })],
                            yLabel: "distinct n-grams / n-grams", markers: peakMarker),
        ]
    }

    /// An HTML section: summary, charts, the table, and each checkpoint's first samples.
    public func htmlSection(samplesPerPoint: Int = 4) -> String {
        var html = "<h2>Over-optimization study</h2><p>\(escapeHTML(summary))</p>\n"
        html += charts.map { "<figure>\($0)</figure>" }.joined(separator: "\n")
        html += "<table><tr><th>step</th><th>proxy</th><th>gold</th><th>KL</th><th>separators</th><th>distinct-1</th><th>distinct-2</th><th>length</th></tr>"
        for point in points {
            html += String(format: "<tr><td class=n>%d</td><td class=n>%.4f</td><td class=n>%@</td><td class=n>%.3f</td><td class=n>%.3f</td><td class=n>%.3f</td><td class=n>%.3f</td><td class=n>%.1f</td></tr>",
                           point.step ?? 0, point.proxy, point.gold.map { String(format: "%.4f", $0) } ?? "", point.kl, point.separatorRatio,
                           point.distinct1, point.distinct2, point.meanLength)
        }
        html += "</table>\n"
        // Samples where gold peaked and at the end, side by side.
        if let peak = goldPeak, let last = points.last, peak.step != last.step {
            html += "<h3>Where gold peaked and at the end</h3><table><tr><th>prompt</th>"
            for point in [peak, last] {
                html += String(format: "<th>step %d (gold %@, proxy %.3f, separators %.3f, distinct-2 %.3f)</th>", point.step ?? 0,
                               point.gold.map { String(format: "%.3f", $0) } ?? "", point.proxy, point.separatorRatio, point.distinct2)
            }
            html += "</tr>"
            for index in 0..<min(peak.samples.count, last.samples.count, samplesPerPoint * 2) {
                html += "<tr><td>\(escapeHTML(peak.samples[index].prompt))</td>"
                for sample in [peak.samples[index], last.samples[index]] {
                    html += "<td>\(escapeHTML(sample.response))<br><small>" + String(format: "proxy %.3f · gold %@", sample.proxy, sample.gold.map { String(format: "%.3f", $0) } ?? "") + "</small></td>"
                }
                html += "</tr>"
            }
            html += "</table>\n"
        }
        html += "<h3>Samples per checkpoint</h3><table><tr><th>step</th><th>prompt</th><th>response</th><th>proxy</th><th>gold</th></tr>"
        for point in points {
            for sample in point.samples.prefix(samplesPerPoint) {
                html += "<tr><td class=n>\(point.step ?? 0)</td><td>\(escapeHTML(sample.prompt))</td><td>\(escapeHTML(sample.response))</td>"
                html += String(format: "<td class=n>%.3f</td><td class=n>%@</td></tr>", sample.proxy, sample.gold.map { String(format: "%.3f", $0) } ?? "")
            }
        }
        return html + "</table>\n"
    }

    /// Writes overopt.csv, overopt.json and overopt.html (a self-contained page) into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(csv.utf8).write(to: directory.appendingPathComponent("overopt.csv"), options: .atomic)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: directory.appendingPathComponent("overopt.json"), options: .atomic)
        let page = RunReport.page(title: "Over-optimization: \(URL(fileURLWithPath: run).lastPathComponent)", body: htmlSection())
        try Data(page.utf8).write(to: directory.appendingPathComponent("overopt.html"), options: .atomic)
    }
}
