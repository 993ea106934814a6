// The run report: charts per metric group with runs overlaid, every SVG well-formed XML, samples
// escaped, and bad metrics files named.

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Evaluation
import Testing

@Suite("Run report")
struct RunReportTests {
    func runFolder(_ metrics: String, samples: String? = nil) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try metrics.write(to: folder.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        try samples?.write(to: folder.appendingPathComponent("samples.jsonl"), atomically: true, encoding: .utf8)
        return folder
    }

    @Test("two runs overlaid: one chart per group present, legends name run and metric, SVGs parse as XML, samples escaped")
    func report() throws {
        let a = try runFolder("""
            {"step":0,"eval/score":0.1}
            {"step":1,"objective/kl":0.5,"objective/score":0.2,"ppo/loss/total":1.5,"elapsed/fps":3}
            {"step":2,"objective/kl":1.5,"objective/score":0.4,"ppo/loss/total":1.2,"custom/thing":7}
            """, samples: #"{"step":0,"prompt":"<b>","response":"a & b","score":0.5}"#)
        let b = try runFolder(#"{"step":1,"objective/kl":0.7,"objective/score":0.1}"#)
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let runs = try [RunRecord(directory: a), RunRecord(directory: b)]
        let html = RunReport.html(runs: runs)
        let svgs = html.components(separatedBy: "<svg").dropFirst().map { "<svg" + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
        // Losses, Score, KL, and the ungrouped custom/thing; elapsed/* is not charted.
        #expect(svgs.count == 4)
        for svg in svgs { #expect(XMLParser(data: Data(svg.utf8)).parse(), "\(svg.prefix(80))") }
        #expect(html.contains("\(a.lastPathComponent): objective/kl") && html.contains("\(b.lastPathComponent): objective/kl"))
        #expect(!html.contains("elapsed/fps") && !html.contains("<script"))
        #expect(html.contains("<td>&lt;b&gt;</td><td>a &amp; b</td>"))
    }

    @Test("a chart has nice ticks, gridlines, axis labels, a tooltip per point and its markers; hostile labels stay text")
    func chartParts() throws {
        #expect(RunReport.ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(RunReport.ticks(-3, 47, count: 5) == [0, 10, 20, 30, 40])
        let svg = RunReport.chart(title: "T <x>", lines: [("gold <script>", [(0, 0.5), (5, 1.25), (10, -0.25)])],
                                  yLabel: "change & more", markers: [(step: 5, label: "peak \"here\"")])
        #expect(XMLParser(data: Data(svg.utf8)).parse())
        #expect(svg.contains("<title>gold &lt;script&gt; at step 5: 1.25</title>"))  // one tooltip per point
        #expect(svg.components(separatedBy: "<circle").count - 1 == 3)
        #expect(svg.contains(">change &amp; more</text>") && svg.contains(">step</text>"))
        #expect(svg.contains("stroke-dasharray") && svg.contains("peak &quot;here&quot;"))
        #expect(svg.components(separatedBy: "stroke=\"#e4e4e4\"").count - 1 >= 3)  // gridlines at the value ticks
        #expect(!svg.contains("<script"))
    }

    @Test("a bad metrics line is an error naming the file and line")
    func badLine() throws {
        let folder = try runFolder("{\"step\":1,\"x\":1}\nnot json\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        do { _ = try RunRecord(directory: folder); Issue.record("expected an error") } catch {
            #expect("\(error)".contains("metrics.jsonl:2"))
        }
    }
}
