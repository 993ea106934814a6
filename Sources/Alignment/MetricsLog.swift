// metrics.jsonl: one JSON object per log step, `step` first, then the metric names in sorted
// order, numbers in their shortest round-trip form — so that a resumed run's file is
// byte-identical to an uninterrupted one's.

import Foundation

/// Appends metric lines to `metrics.jsonl`.
public final class MetricsLog {
    /// The file.
    public let url: URL
    private let handle: FileHandle

    /// Opens (creating) the log. When resuming from `resumeStep`, lines of later steps — written
    /// after that checkpoint by the interrupted run — are removed first.
    public init(url: URL, resumeStep: Int? = nil) throws {
        self.url = url
        let manager = FileManager.default
        if !manager.fileExists(atPath: url.path) { _ = manager.createFile(atPath: url.path, contents: nil) }
        if let resumeStep {
            let text = String(decoding: manager.contents(atPath: url.path) ?? Data(), as: UTF8.self)
            let kept = text.split(separator: "\n").filter { line in
                guard let data = line.data(using: .utf8),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let step = object["step"] as? Int else { return false }
                return step <= resumeStep
            }
            try Data(kept.map { $0 + "\n" }.joined().utf8).write(to: url, options: .atomic)
        }
        guard let handle = FileHandle(forWritingAtPath: url.path) else {
            throw RunError.runDirectory(path: url.path, problem: "cannot open for writing")
        }
        self.handle = handle
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    /// One line: {"step": step, name: value, …} with names sorted; flushed to disk.
    /// - Throws: ``RunError`` naming the file when it cannot be written (a full disk): training
    ///   stops there, after its last good checkpoint, rather than crash or lose lines silently.
    public func append(step: Int, _ metrics: [String: Double]) throws {
        var parts = ["\"step\":\(step)"]
        for name in metrics.keys.sorted() {
            let value = metrics[name]!
            let text = value.isFinite ? (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)") : "null"
            parts.append("\(jsonString(name)):\(text)")
        }
        try write(Data(("{" + parts.joined(separator: ",") + "}\n").utf8))
    }

    /// Appends `data` and flushes it to disk; a failure is a ``RunError`` naming the file.
    private func write(_ data: Data) throws {
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            throw RunError.runDirectory(path: url.path, problem: "cannot append a line (disk full?): \(error.localizedDescription)")
        }
    }

    /// One JSON object as a line (keys sorted); flushed to disk. For samples.jsonl, whose lines
    /// carry text; the object must have an integer "step" for resume truncation.
    public func append(object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        try write(data + Data("\n".utf8))
    }

    /// Every line's metrics, for reports and tests.
    public static func read(_ url: URL) throws -> [[String: Any]] {
        let text = String(decoding: FileManager.default.contents(atPath: url.path) ?? Data(), as: UTF8.self)
        return try text.split(separator: "\n").enumerated().map { index, line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw RunError.invalidData(path: "\(url.path):\(index + 1)", problem: "not a JSON object")
            }
            return object
        }
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}
