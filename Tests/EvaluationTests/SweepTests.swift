// Sweeps: grid parsing and errors, the cell product, resumability (finished cells are not rerun),
// failures recorded, and sweep.csv's final and best values by hand.

import Evaluation
import Foundation
import Testing

@Suite("Sweep")
struct SweepTests {
    @Test("axes parse; malformed ones are errors naming the argument")
    func axes() throws {
        let axis = try SweepAxis(parsing: "init-kl-coef=0.02, 0.1,0.4")
        #expect(axis.key == "init_kl_coef" && axis.values == ["0.02", "0.1", "0.4"])
        for bad in ["beta", "=1,2", "beta=", "beta=1,,2"] {
            do { _ = try SweepAxis(parsing: bad); Issue.record("'\(bad)' parsed") } catch { #expect("\(error)".contains(bad)) }
        }
        #expect(throws: ReportError.self) { try Sweep(axes: [], metrics: []) }
        #expect(throws: ReportError.self) { try Sweep(axes: [try SweepAxis(parsing: "a=1"), try SweepAxis(parsing: "a=2")], metrics: []) }
    }

    @Test("cells are the product, the last axis fastest; names and overrides")
    func cells() throws {
        let sweep = try Sweep(axes: [try SweepAxis(parsing: "beta=0.1,0.2"), try SweepAxis(parsing: "learning_rate=1e-5,1e-4,1e-3")], metrics: [])
        let cells = sweep.cells
        #expect(cells.count == 6)
        #expect(cells.map(\.name) == ["beta=0.1,learning_rate=1e-5", "beta=0.1,learning_rate=1e-4", "beta=0.1,learning_rate=1e-3",
                                      "beta=0.2,learning_rate=1e-5", "beta=0.2,learning_rate=1e-4", "beta=0.2,learning_rate=1e-3"])
        #expect(cells[4].overrides == ["--beta", "0.2", "--learning_rate", "1e-4"])
    }

    @Test("metric directions: loss, kl and error lower; others higher; :min/:max override")
    func metrics() throws {
        #expect(try !SweepMetric(parsing: "valid/loss").higherIsBetter)
        #expect(try !SweepMetric(parsing: "objective/kl").higherIsBetter)
        #expect(try SweepMetric(parsing: "objective/score").higherIsBetter)
        #expect(try !SweepMetric(parsing: "objective/score:min").higherIsBetter)
        #expect(try SweepMetric(parsing: "objective/kl:max").name == "objective/kl")
    }

    @Test("a finished cell is not rerun, a failing cell is recorded and the rest run; sweep.csv by hand")
    func runAndResume() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let sweep = try Sweep(axes: [try SweepAxis(parsing: "lr=1,2,3")],
                              metrics: [try SweepMetric(parsing: "objective/score"), try SweepMetric(parsing: "loss")])
        struct Boom: Error {}
        var ran: [String] = []
        // A fake job: writes metrics whose values depend on lr, and final/ — except for lr=3, which fails.
        func fakeJob(_ cell: SweepCell, _ cells: URL) throws {
            ran.append(cell.name)
            let lr = Double(cell.settings[0].value)!
            let run = cells.appendingPathComponent(cell.name)
            try FileManager.default.createDirectory(at: run.appendingPathComponent("final"), withIntermediateDirectories: true)
            let lines = [#"{"step":1,"objective/score":\#(lr),"loss":\#(10 / lr)}"#, #"{"step":2,"objective/score":\#(lr / 2),"loss":\#(5 / lr)}"#]
            try lines.joined(separator: "\n").write(to: run.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
            if lr == 3 { throw Boom() }
            try "{}".write(to: run.appendingPathComponent("final/trainer_state.json"), atomically: true, encoding: .utf8)
        }
        let failures = try sweep.run(in: directory, runCell: fakeJob)
        #expect(ran == ["lr=1", "lr=2", "lr=3"])
        #expect(failures.map(\.cell.name) == ["lr=3"])
        let csv = try String(contentsOf: directory.appendingPathComponent("sweep.csv"), encoding: .utf8)
        #expect(csv == """
        cell,lr,status,objective/score final,objective/score best,loss final,loss best
        lr=1,1,finished,0.5,1,5,5
        lr=2,2,finished,1,2,2.5,2.5
        lr=3,3,incomplete,1.5,3,1.66667,1.66667

        """)
        let report = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(report.contains("lr=2: objective/score") && report.contains("<h2>Cells</h2>"))
        ran = []
        _ = try sweep.run(in: directory, runCell: fakeJob)
        #expect(ran == ["lr=3"])  // the finished cells are not rerun
    }
}
