// Hyper-parameter sweeps: a grid of `key=v1,v2,…` axes over one job config, run cell by cell
// (sequentially, resumable: a finished cell is not rerun, an interrupted one resumes from its
// newest checkpoint), summarised in sweep.csv (final and best value of chosen metrics per cell)
// and one report overlaying the cells.

import Alignment
import Foundation

/// One axis of a grid: a config field and its values (kept as written, passed as `--key value`).
public struct SweepAxis: Sendable, Equatable {
    /// The field.
    public var key: String
    /// Its values.
    public var values: [String]

    /// Parses `key=v1,v2,…`.
    /// - Throws: ``ReportError`` naming the argument when there is no `=`, no key or no value.
    public init(parsing argument: String) throws {
        guard let equals = argument.firstIndex(of: "=") else {
            throw ReportError("--grid '\(argument)': expected key=v1,v2,…")
        }
        key = String(argument[..<equals]).trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: "_")
        values = argument[argument.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !key.isEmpty else { throw ReportError("--grid '\(argument)': the key is empty") }
        guard !values.isEmpty, !values.contains(where: \.isEmpty) else { throw ReportError("--grid '\(argument)': a value is empty") }
    }
}

/// One cell of a grid: a value for each axis.
public struct SweepCell: Sendable, Equatable {
    /// (key, value) in axis order.
    public var settings: [(key: String, value: String)]

    public static func == (a: SweepCell, b: SweepCell) -> Bool {
        a.settings.map(\.key) == b.settings.map(\.key) && a.settings.map(\.value) == b.settings.map(\.value)
    }

    /// The cell's run name: `key=value` joined by commas (slashes replaced).
    public var name: String {
        settings.map { "\($0.key)=\($0.value)" }.joined(separator: ",").replacingOccurrences(of: "/", with: "_")
    }

    /// The settings as `--key value` overrides.
    public var overrides: [String] { settings.flatMap { ["--\($0.key)", $0.value] } }
}

/// A metric summarised per cell, and which direction is better.
public struct SweepMetric: Sendable, Equatable {
    /// The metric's name in metrics.jsonl.
    public var name: String
    /// Whether larger is better.
    public var higherIsBetter: Bool

    /// Parses `name`, `name:max` or `name:min`. Without a suffix, names with "loss", "kl",
    /// "error" or "perplexity" are better low, others high.
    public init(parsing text: String) throws {
        var name = text, direction: Bool?
        if text.hasSuffix(":max") { name = String(text.dropLast(4)); direction = true }
        if text.hasSuffix(":min") { name = String(text.dropLast(4)); direction = false }
        guard !name.isEmpty else { throw ReportError("--metrics: an empty metric name in '\(text)'") }
        self.name = name
        higherIsBetter = direction ?? !["loss", "kl", "error", "perplexity"].contains { name.contains($0) }
    }
}

/// A grid over one job.
public struct Sweep: Sendable {
    /// The axes, in order: the last one varies fastest.
    public var axes: [SweepAxis]
    /// The metrics of sweep.csv.
    public var metrics: [SweepMetric]

    /// A sweep of `axes`, summarising `metrics`.
    /// - Throws: ``ReportError`` when no axis is given or a key repeats.
    public init(axes: [SweepAxis], metrics: [SweepMetric]) throws {
        guard !axes.isEmpty else { throw ReportError("give at least one --grid key=v1,v2,…") }
        var seen = Set<String>()
        for axis in axes where !seen.insert(axis.key).inserted { throw ReportError("--grid: the key '\(axis.key)' is given twice") }
        self.axes = axes
        self.metrics = metrics
    }

    /// Every cell (the Cartesian product), the last axis varying fastest.
    public var cells: [SweepCell] {
        axes.reduce([SweepCell(settings: [])]) { partial, axis in
            partial.flatMap { cell in axis.values.map { SweepCell(settings: cell.settings + [(axis.key, $0)]) } }
        }
    }

    /// Default metrics of a job kind.
    public static func defaultMetrics(job: String) -> [SweepMetric] {
        let names: [String]
        switch job {
        case "ppo": names = ["objective/score", "eval/score", "objective/kl"]
        case "dpo": names = ["loss", "valid/loss", "rewards/accuracies"]
        case "reward": names = ["train/loss", "valid/loss", "valid/accuracy"]
        default: names = ["train/loss", "valid/loss"]
        }
        return names.map { try! SweepMetric(parsing: $0) }
    }


    /// Runs every unfinished cell with `runCell(cell, runs directory)`, then writes sweep.csv and
    /// report.html into `directory`. A cell that throws is recorded as failed and the others still
    /// run; the errors are returned.
    /// - Parameters:
    ///   - directory: the sweep's folder; cells are runs under `directory/cells/`.
    ///   - log: hears a line per cell.
    public func run(in directory: URL, log: (String) -> Void = { _ in },
                    runCell: (SweepCell, URL) throws -> Void) throws -> [(cell: SweepCell, error: Error)] {
        let cellsURL = directory.appendingPathComponent("cells")
        try FileManager.default.createDirectory(at: cellsURL, withIntermediateDirectories: true)
        var failures: [(cell: SweepCell, error: Error)] = []
        let all = cells
        for (index, cell) in all.enumerated() {
            let runURL = cellsURL.appendingPathComponent(cell.name)
            if RunDirectory.isFinished(at: runURL) {
                log("cell \(index + 1)/\(all.count) \(cell.name): finished before, not rerun")
                continue
            }
            log("cell \(index + 1)/\(all.count) \(cell.name)")
            do { try runCell(cell, cellsURL) } catch {
                log("cell \(cell.name) failed: \(error)")
                failures.append((cell, error))
            }
        }
        try Data(try csv(cellsDirectory: cellsURL).utf8).write(to: directory.appendingPathComponent("sweep.csv"), options: .atomic)
        let records = all.compactMap { try? RunRecord(directory: cellsURL.appendingPathComponent($0.name)) }
        if !records.isEmpty {
            let html = RunReport.html(runs: records, title: "Sweep: \(directory.lastPathComponent)", samplesPerStep: 4,
                                      preamble: table(cellsDirectory: cellsURL))
            try Data(html.utf8).write(to: directory.appendingPathComponent("report.html"), options: .atomic)
        }
        return failures
    }

    /// Per cell: status, and the final and best value of each metric.
    func rows(cellsDirectory: URL) -> [(cell: SweepCell, status: String, values: [(final: Double?, best: Double?)])] {
        cells.map { cell in
            let runURL = cellsDirectory.appendingPathComponent(cell.name)
            let record = try? RunRecord(directory: runURL)
            let status = RunDirectory.isFinished(at: runURL) ? "finished" : record == nil ? "not run" : "incomplete"
            let values = metrics.map { metric -> (final: Double?, best: Double?) in
                guard let points = record?.series[metric.name], !points.isEmpty else { return (nil, nil) }
                let values = points.map(\.value)
                return (points.last?.value, metric.higherIsBetter ? values.max() : values.min())
            }
            return (cell, status, values)
        }
    }

    /// sweep.csv: cell, one column per axis, status, then `<metric> final` and `<metric> best`.
    public func csv(cellsDirectory: URL) throws -> String {
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\n".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        func number(_ value: Double?) -> String { value.map { String(format: "%.6g", $0) } ?? "" }
        var header = ["cell"] + axes.map(\.key) + ["status"]
        for metric in metrics { header += ["\(metric.name) final", "\(metric.name) best"] }
        var text = header.map(field).joined(separator: ",") + "\n"
        for row in rows(cellsDirectory: cellsDirectory) {
            var fields = [row.cell.name] + row.cell.settings.map(\.value) + [row.status]
            for value in row.values { fields += [number(value.final), number(value.best)] }
            text += fields.map(field).joined(separator: ",") + "\n"
        }
        return text
    }

    /// The same table as HTML, the best cell of each metric in bold.
    func table(cellsDirectory: URL) -> String {
        let rows = rows(cellsDirectory: cellsDirectory)
        var html = "<h2>Cells</h2><table><tr><th>cell</th><th>status</th>"
        html += metrics.map { "<th>\(escapeHTML($0.name)) final</th><th>best</th>" }.joined() + "</tr>"
        let winners = metrics.indices.map { m -> Double? in
            let finals = rows.compactMap { $0.values[m].final }
            return metrics[m].higherIsBetter ? finals.max() : finals.min()
        }
        for row in rows {
            html += "<tr><td>\(escapeHTML(row.cell.name))</td><td>\(row.status)</td>"
            for (m, value) in row.values.enumerated() {
                let final = value.final.map { String(format: "%.4g", $0) } ?? ""
                html += value.final != nil && value.final == winners[m] ? "<td class=n><b>\(final)</b></td>" : "<td class=n>\(final)</td>"
                html += "<td class=n>\(value.best.map { String(format: "%.4g", $0) } ?? "")</td>"
            }
            html += "</tr>"
        }
        return html + "</table>\n"
    }
}
