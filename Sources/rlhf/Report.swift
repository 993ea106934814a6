// `rlhf report RUN_DIR…`: one self-contained HTML page of charts and samples.

import ArgumentParser
import Evaluation
import Foundation

/// Writes a report of one or more runs.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A self-contained HTML report (inline SVG charts, runs overlaid, samples per eval step) of run directories.")

    @Argument(help: "Run directories (each with metrics.jsonl; samples.jsonl optional).") var runs: [String]
    @Option(help: "The HTML file to write (default: report.html in the first run).") var output: String?
    @Option(help: "The page title.") var title = "Run report"

    func run() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
        let records = try runs.map { try RunRecord(directory: URL(fileURLWithPath: $0)) }
        let html = RunReport.html(runs: records, title: title)
        let destination = output.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: runs[0]).appendingPathComponent("report.html")
        try Data(html.utf8).write(to: destination, options: .atomic)
        print(destination.path)
    }
}
