// A self-contained HTML report of one or more runs: an inline SVG line chart per metric group
// over steps (runs overlaid, with a legend), and the samples of each evaluation step. No
// scripts, no network.

import Foundation

/// One run's metrics and samples, read from its directory.
public struct RunRecord: Sendable {
    /// The run's name (its folder name).
    public var name: String
    /// metric name → (step, value) points, in step order.
    public var series: [String: [(step: Int, value: Double)]]
    /// samples.jsonl lines: step, prompt, response, score.
    public var samples: [(step: Int, prompt: String, response: String, score: Double?)]

    /// Reads `metrics.jsonl` (required) and `samples.jsonl` (optional) of a run folder.
    /// - Throws: an error naming the file and line for a line that is not a JSON object with an integer "step".
    public init(directory: URL) throws {
        name = directory.lastPathComponent
        series = [:]
        samples = []
        let metricsURL = directory.appendingPathComponent("metrics.jsonl")
        guard let data = FileManager.default.contents(atPath: metricsURL.path) else {
            throw ReportError("\(metricsURL.path): no such file (is this a run directory?)")
        }
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let step = object["step"] as? Int else {
                throw ReportError("\(metricsURL.path):\(index + 1): expected a JSON object with an integer \"step\"")
            }
            for (key, value) in object where key != "step" {
                if let number = value as? Double, number.isFinite { series[key, default: []].append((step, number)) }
            }
        }
        let samplesURL = directory.appendingPathComponent("samples.jsonl")
        if let data = FileManager.default.contents(atPath: samplesURL.path) {
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let step = object["step"] as? Int else { continue }
                samples.append((step, object["prompt"] as? String ?? "", object["response"] as? String ?? "", object["score"] as? Double))
            }
        }
    }

    /// A run from its parts (for tests and programs).
    public init(name: String, series: [String: [(step: Int, value: Double)]], samples: [(step: Int, prompt: String, response: String, score: Double?)] = []) {
        self.name = name
        self.series = series
        self.samples = samples
    }
}

/// A report that cannot be made.
public struct ReportError: Error, CustomStringConvertible {
    /// What is wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The report's charts and page.
public enum RunReport {
    /// Metric groups charted together, in page order; metrics in no group get a chart each.
    public static let groups: [(title: String, metrics: [String])] = [
        ("Losses", ["train/loss", "valid/loss", "loss", "ppo/loss/total", "ppo/loss/policy", "ppo/loss/value"]),
        ("Score", ["objective/score", "objective/score_total", "eval/score"]),
        ("KL", ["objective/kl"]),
        ("KL coefficient", ["objective/kl_coef"]),
        ("Entropy", ["objective/entropy", "ppo/policy/entropy"]),
        ("Clip fractions", ["ppo/policy/clipfrac", "ppo/val/clipfrac"]),
        ("Value error", ["ppo/val/error", "ppo/val/var_explained"]),
        ("Rewards (preferences)", ["rewards/chosen", "rewards/rejected", "rewards/margins", "valid/rewards/margins"]),
        ("Accuracy", ["rewards/accuracies", "train/accuracy", "valid/accuracy", "valid/rewards/accuracies"]),
        ("Learning rate", ["train/learning_rate", "ppo/learning_rate"]),
    ]

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    /// "Nice" tick values covering lo…hi: about `count` of them, steps of 1, 2 or 5 × 10^k.
    public static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        // Each tick is an integer multiple of the step (no running sum: no drift like 0.6000000000000001),
        // rounded to the step's decimal places.
        let decimals = max(0, -Int(floor(log10(step))))
        let scale = pow(10, Double(decimals))
        let first = Int(ceil(lo / step - 1e-9)), last = Int(floor(hi / step + 1e-9))
        return (first...max(first, last)).map { index in (Double(index) * step * scale).rounded() / scale }.filter { $0 <= hi + step * 1e-9 }
    }

    /// An SVG line chart over steps: a title, axes with labels, nice ticks and gridlines, one
    /// line per series with a dot per point whose tooltip (`<title>`) gives the series, step and
    /// value, a legend, and optional vertical markers (e.g. the step where gold peaked).
    /// Every text is escaped; no scripts.
    public static func chart(title: String, lines: [(label: String, points: [(step: Int, value: Double)])],
                             width: Double = 720, height: Double = 300, xLabel: String = "step", yLabel: String = "",
                             markers: [(step: Int, label: String)] = []) -> String {
        let drawn = lines.filter { !$0.points.isEmpty }
        let steps = drawn.flatMap { $0.points.map { Double($0.step) } }, values = drawn.flatMap { $0.points.map(\.value) }.filter(\.isFinite)
        var (x0, x1) = (steps.min() ?? 0, steps.max() ?? 1), (y0, y1) = (values.min() ?? 0, values.max() ?? 1)
        if x1 == x0 { x1 = x0 + 1 }
        if y1 == y0 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
        let pad = (y1 - y0) * 0.05
        (y0, y1) = (y0 - pad, y1 + pad)
        let (left, right, top, bottom) = (72.0, 16.0, 30.0, 42.0)
        let legendHeight = 18.0 * Double(drawn.count)
        let plotHeight = height - top - bottom, plotWidth = width - left - right
        func x(_ step: Double) -> Double { left + (step - x0) / (x1 - x0) * plotWidth }
        func y(_ value: Double) -> Double { top + (1 - (value - y0) / (y1 - y0)) * plotHeight }
        func number(_ value: Double) -> String { abs(value) >= 1e4 || (abs(value) < 1e-3 && value != 0) ? String(format: "%.3g", value) : String(format: "%.4g", value) }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height + legendHeight))\" viewBox=\"0 0 \(Int(width)) \(Int(height + legendHeight))\" font-family=\"sans-serif\" font-size=\"12\">"
        svg += "<title>\(escapeHTML(title))</title><rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        svg += "<text x=\"\(Int(left))\" y=\"18\" font-size=\"14\" font-weight=\"bold\">\(escapeHTML(title))</text>"
        // Gridlines and ticks.
        for tick in ticks(y0, y1) {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(tick)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(tick)))\" stroke=\"#e4e4e4\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y(tick) + 4))\" text-anchor=\"end\" fill=\"#444\">\(number(tick))</text>"
        }
        for tick in ticks(x0, x1, count: 6) where tick == tick.rounded() {
            svg += "<line x1=\"\(f(x(tick)))\" y1=\"\(f(top))\" x2=\"\(f(x(tick)))\" y2=\"\(f(top + plotHeight))\" stroke=\"#f0f0f0\"/>"
            svg += "<text x=\"\(f(x(tick)))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\" fill=\"#444\">\(Int(tick))</text>"
        }
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"#666\"/>"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - right)\" y2=\"\(top + plotHeight)\" stroke=\"#666\"/>"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 34))\" text-anchor=\"middle\">\(escapeHTML(xLabel))</text>"
        if !yLabel.isEmpty {
            svg += "<text transform=\"translate(16 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeHTML(yLabel))</text>"
        }
        for marker in markers {
            let mx = x(Double(marker.step))
            svg += "<line x1=\"\(f(mx))\" y1=\"\(f(top))\" x2=\"\(f(mx))\" y2=\"\(f(top + plotHeight))\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>"
            svg += "<text x=\"\(f(mx + 4))\" y=\"\(f(top + 12))\" fill=\"#c00\">\(escapeHTML(marker.label))</text>"
        }
        for (index, line) in drawn.enumerated() {
            let color = palette[index % palette.count]
            let finite = line.points.filter { $0.value.isFinite }
            let points = finite.map { String(format: "%.1f,%.1f", x(Double($0.step)), y($0.value)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>"
            // A dot per point when there are few enough to tell apart; each carries its value as a tooltip.
            let radius = finite.count <= 60 ? 3.0 : 1.5
            for point in finite {
                svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%@\">", x(Double(point.step)), y(point.value), radius, color)
                svg += "<title>\(escapeHTML(line.label)) at \(escapeHTML(xLabel)) \(point.step): \(number(point.value))</title></circle>"
            }
            let legendY = height + 14 + 18 * Double(index)
            svg += "<rect x=\"\(left)\" y=\"\(legendY - 9)\" width=\"14\" height=\"4\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(left + 20)\" y=\"\(legendY)\">\(escapeHTML(line.label))</text>"
        }
        return svg + "</svg>"
    }

    /// The page: `preamble` (HTML placed first, e.g. a summary), one chart per metric group present
    /// in any run (runs overlaid; labels "run: metric" when there are several runs), then each
    /// run's samples by step.
    public static func html(runs: [RunRecord], title: String = "Run report", samplesPerStep: Int = 8, preamble: String = "") -> String {
        var sections = ""
        let all = Set(runs.flatMap { $0.series.keys })
        let grouped = Set(groups.flatMap(\.metrics))
        let ungrouped = all.subtracting(grouped).sorted().filter { !$0.hasPrefix("elapsed/") }
        for (groupTitle, metrics) in groups + ungrouped.map { ($0, [$0]) } {
            var lines: [(label: String, points: [(step: Int, value: Double)])] = []
            for run in runs {
                for metric in metrics {
                    guard let points = run.series[metric] else { continue }
                    lines.append((runs.count > 1 ? "\(run.name): \(metric)" : metric, points))
                }
            }
            guard !lines.isEmpty else { continue }
            // Lines of very different scales would flatten each other: chart them one by one.
            // Only lines that vary count: a single point or a constant flattens nothing.
            let spans = lines.compactMap { line -> Double? in
                let values = line.points.map(\.value)
                let span = (values.max() ?? 0) - (values.min() ?? 0)
                return span > 0 ? span : nil
            }
            if spans.count > 1, let widest = spans.max(), let narrowest = spans.min(), widest / narrowest > 20 {
                for line in lines { sections += "<figure>\(chart(title: "\(groupTitle): \(line.label)", lines: [line]))</figure>\n" }
            } else {
                sections += "<figure>\(chart(title: groupTitle, lines: lines))</figure>\n"
            }
        }
        for run in runs where !run.samples.isEmpty {
            sections += "<h2>Samples: \(escapeHTML(run.name))</h2>\n"
            for step in Array(Set(run.samples.map(\.step))).sorted() {
                sections += "<h3>step \(step)</h3><table><tr><th>prompt</th><th>response</th><th>score</th></tr>"
                for sample in run.samples.filter({ $0.step == step }).prefix(samplesPerStep) {
                    sections += "<tr><td>\(escapeHTML(sample.prompt))</td><td>\(escapeHTML(sample.response))</td><td class=n>\(sample.score.map { String(format: "%.4f", $0) } ?? "")</td></tr>"
                }
                sections += "</table>\n"
            }
        }
        return page(title: title, body: "<p>Runs: \(runs.map { escapeHTML($0.name) }.joined(separator: ", "))</p>\n" + preamble + sections)
    }

    /// A self-contained page (inline style, no scripts) around `body`, with `title` as its heading.
    /// - Parameter style: CSS added after the base style (a page's own rules).
    public static func page(title: String, body: String, style: String = "") -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escapeHTML(title))</title>
        <style>body{font-family:system-ui,sans-serif;margin:2em}figure{display:inline-block;margin:0 1em 1em 0}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.3em;vertical-align:top;white-space:pre-wrap;max-width:40em}.n{text-align:right}\(style)</style>
        </head><body><h1>\(escapeHTML(title))</h1>
        \(body)</body></html>

        """
    }
}
