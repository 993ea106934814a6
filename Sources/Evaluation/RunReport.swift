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

    /// An SVG line chart of `lines` (label, points) with axes, min/max labels and a legend.
    public static func chart(title: String, lines: [(label: String, points: [(step: Int, value: Double)])],
                             width: Double = 640, height: Double = 260) -> String {
        let drawn = lines.filter { !$0.points.isEmpty }
        let steps = drawn.flatMap { $0.points.map { Double($0.step) } }, values = drawn.flatMap { $0.points.map(\.value) }
        var (x0, x1) = (steps.min() ?? 0, steps.max() ?? 1), (y0, y1) = (values.min() ?? 0, values.max() ?? 1)
        if x1 == x0 { x1 = x0 + 1 }
        if y1 == y0 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
        let (left, right, top, bottom) = (56.0, 12.0, 24.0, 28.0)
        let legendHeight = 16.0 * Double(drawn.count)
        let plotHeight = height - top - bottom
        func x(_ step: Double) -> Double { left + (step - x0) / (x1 - x0) * (width - left - right) }
        func y(_ value: Double) -> Double { top + (1 - (value - y0) / (y1 - y0)) * plotHeight }
        func number(_ value: Double) -> String { abs(value) >= 1e4 || (abs(value) < 1e-3 && value != 0) ? String(format: "%.3g", value) : String(format: "%.4g", value) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height + legendHeight))\" viewBox=\"0 0 \(Int(width)) \(Int(height + legendHeight))\" font-family=\"sans-serif\" font-size=\"11\">"
        svg += "<title>\(escapeHTML(title))</title><rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        svg += "<text x=\"\(Int(left))\" y=\"15\" font-size=\"13\" font-weight=\"bold\">\(escapeHTML(title))</text>"
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"#888\"/>"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - right)\" y2=\"\(top + plotHeight)\" stroke=\"#888\"/>"
        svg += "<text x=\"\(left - 4)\" y=\"\(top + 4)\" text-anchor=\"end\">\(number(y1))</text>"
        svg += "<text x=\"\(left - 4)\" y=\"\(top + plotHeight)\" text-anchor=\"end\">\(number(y0))</text>"
        svg += "<text x=\"\(left)\" y=\"\(top + plotHeight + 14)\">\(Int(x0))</text>"
        svg += "<text x=\"\(width - right)\" y=\"\(top + plotHeight + 14)\" text-anchor=\"end\">step \(Int(x1))</text>"
        for (index, line) in drawn.enumerated() {
            let color = palette[index % palette.count]
            let points = line.points.map { String(format: "%.1f,%.1f", x(Double($0.step)), y($0.value)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points)\"/>"
            if line.points.count == 1, let only = line.points.first {
                svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%@\"/>", x(Double(only.step)), y(only.value), color)
            }
            let legendY = height + 12 + 16 * Double(index)
            svg += "<rect x=\"\(left)\" y=\"\(legendY - 8)\" width=\"12\" height=\"3\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(left + 18)\" y=\"\(legendY)\">\(escapeHTML(line.label))</text>"
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
