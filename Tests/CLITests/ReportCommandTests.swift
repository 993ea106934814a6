// `rlhf report` checked in a real browser: headless Chromium renders the page to a PNG of the
// requested size, and the image is not blank (a blank page compresses to a few hundred bytes).

import Foundation
import Testing

/// The Chromium binary, when installed (.ci/run installs Debian's `chromium`).
let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Width and height from a PNG's IHDR chunk.
func pngSize(_ data: Data) -> (width: Int, height: Int)? {
    let bytes = [UInt8](data)
    guard bytes.count > 24, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
    func integer(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
    return (integer(16), integer(20))
}

/// Renders `html` in headless Chromium to a PNG of 1200×900 and returns its bytes.
func renderInChromium(_ html: URL, to png: URL) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: chromium!)
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--screenshot=\(png.path)",
                         "--window-size=1200,900", html.absoluteString]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(90)
    while process.isRunning && Date() < deadline { usleep(100_000) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return try Data(contentsOf: png)
}

@Suite("rlhf report")
struct ReportCommandTests {
    @Test("the report of a run renders in headless Chromium to a non-blank PNG of the window size", .enabled(if: chromium != nil))
    func rendersInBrowser() async throws {
        let directory = try scratchFolder("report")
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = directory.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let lines = (1...30).map { step in
            #"{"step":\#(step),"objective/kl":\#(Double(step) * 0.3),"objective/score":\#(sin(Double(step) / 5)),"ppo/loss/total":\#(1 / Double(step))}"#
        }
        try lines.joined(separator: "\n").write(to: run.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        try #"{"step":10,"prompt":"ROMEO:","response":"O <happy> day","score":0.9}"#.write(to: run.appendingPathComponent("samples.jsonl"), atomically: true, encoding: .utf8)
        let html = directory.appendingPathComponent("report.html")
        let (status, out, err) = try await runTool(["report", run.path, "--output", html.path, "--title", "Test report"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("report.html"))
        let data = try await renderInChromium(html, to: directory.appendingPathComponent("report.png"))
        let size = try #require(pngSize(data))
        #expect(size.width == 1200 && size.height == 900)
        #expect(data.count > 20_000, "\(data.count) bytes: the page looks blank")
    }
}
