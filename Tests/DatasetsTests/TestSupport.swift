import Foundation
import Testing
import Datasets

/// Where the tests find the shared data, and helpers that write small files for a test.
///
/// Shared data lives at `<package root>/../shared/data` (override with `RLHF_SHARED_DATA`);
/// tests that need it are enabled only when it is present.
enum TestData {
    /// `<package root>/Tests/DatasetsTests`.
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    /// The shared-data collection.
    static let shared: URL = {
        if let override = ProcessInfo.processInfo.environment["RLHF_SHARED_DATA"] {
            return URL(fileURLWithPath: override)
        }
        return testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/data").standardizedFileURL
    }()

    /// A file of the shared data.
    static func file(_ relativePath: String) -> URL { shared.appendingPathComponent(relativePath) }

    /// Whether a shared-data file exists.
    static func has(_ relativePath: String) -> Bool { FileManager.default.fileExists(atPath: file(relativePath).path) }

    static let hh = "hh-rlhf/harmless-base-test.jsonl.gz"
    static let alpaca = "alpaca/seed_tasks.jsonl"
    static let shakespeareSentiment = "shakespeare/handcrafted_sentiment.jsonl"
    static let sentences = "sentiment-sentences/labelled_sentences.jsonl"
    static let prompts = "prompts/awesome_chatgpt_prompts.csv"
}

/// A fresh directory for one test's files, removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("datasets-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `contents` to `name` in the directory and returns its URL.
    func write(_ name: String, _ contents: String) -> URL {
        let file = url.appendingPathComponent(name)
        try! contents.data(using: .utf8)!.write(to: file)
        return file
    }

    /// Writes `contents` gzip-compressed to `name` (which should end in `.gz`).
    func writeGzip(_ name: String, _ contents: String) -> URL {
        let plain = write(name + ".plain", contents)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-c", plain.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try! process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let file = url.appendingPathComponent(name)
        try! data.write(to: file)
        return file
    }
}

/// Runs `body`, expecting a ``DatasetError``, and returns it (recording an issue if none is thrown).
func expectDatasetError(sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () throws -> Void) -> DatasetError? {
    do {
        try body()
        Issue.record("expected a DatasetError, but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as DatasetError {
        return error
    } catch {
        Issue.record("expected a DatasetError, but \(error) was thrown", sourceLocation: sourceLocation)
        return nil
    }
}
