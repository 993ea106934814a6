import Checksums
import Crypto
import Datasets
import Foundation
import Testing
import Tokenizers

/// Where the tests find their data, and helpers shared by the suites.
///
/// Shared data (vocabularies and corpora) lives in the shared-data collection at
/// `<package root>/../shared/data` (override with the environment variable `RLHF_SHARED_DATA`);
/// tests that need it are skipped, with a message saying so, when it is absent. Small fixtures live
/// beside this file in `Fixtures/` and are read by path (test resources are not declared).
enum TestData {
    /// `<package root>/Tests/TokenizersTests`.
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    /// `Tests/TokenizersTests/Fixtures`.
    static let fixtures = testsDirectory.appendingPathComponent("Fixtures")
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

    /// Whether all the given shared-data files exist.
    static func has(_ relativePaths: String...) -> Bool {
        relativePaths.allSatisfy { FileManager.default.fileExists(atPath: file($0).path) }
    }

    static let vocabulary = file("gpt2/vocab.json")
    static let merges = file("gpt2/merges.txt")
    static let tiktoken = file("gpt2/gpt2.tiktoken")
    /// Whether the GPT-2 vocabulary files are present.
    static let hasGPT2 = has("gpt2/vocab.json", "gpt2/merges.txt", "gpt2/gpt2.tiktoken", "gpt2/encode_cases.jsonl")
    static let missingGPT2 = "needs the GPT-2 vocabulary in ../shared/data/gpt2 (not found; set RLHF_SHARED_DATA)"

    /// GPT-2 from `vocab.json` + `merges.txt`, loaded once for all tests.
    static let gpt2: ByteLevelBPETokenizer = try! ByteLevelBPETokenizer(vocabularyFile: vocabulary, mergesFile: merges)
    /// GPT-2 from the tiktoken rank file, loaded once.
    static let gpt2FromTiktoken: ByteLevelBPETokenizer = try! ByteLevelBPETokenizer(tiktokenFile: tiktoken)
    /// GPT-2 written by `save(to:)` as `tokenizer.json` and read back, loaded once.
    static let gpt2FromTokenizerJSON: ByteLevelBPETokenizer = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gpt2-tokenizer-json-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try! gpt2.save(to: directory)
        return try! ByteLevelBPETokenizer(tokenizerJSON: directory.appendingPathComponent("tokenizer.json"))
    }()

    /// GPT-2 built the three ways, by name.
    static func gpt2(_ source: String) -> ByteLevelBPETokenizer {
        switch source {
        case "vocab.json+merges.txt": gpt2
        case "tiktoken": gpt2FromTiktoken
        case "tokenizer.json": gpt2FromTokenizerJSON
        default: fatalError("unknown source \(source)")
        }
    }
    static let gpt2Sources = ["vocab.json+merges.txt", "tokenizer.json", "tiktoken"]

    /// The lines of a JSON Lines file, each decoded as a dictionary.
    static func jsonLines(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// `(text, ids)` pairs of a JSONL file with `text` and `ids` fields.
    static func encodeCases(_ url: URL) throws -> [(text: String, ids: [Int])] {
        try jsonLines(url).map { ($0["text"] as! String, $0["ids"] as! [Int]) }
    }

    /// The gzip tool, if the system has one (Debian: /bin/gzip; macOS: /usr/bin/gzip).
    static let gzipTool = ["/bin/gzip", "/usr/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The decompressed bytes of a `.gz` file, by `gzip -dc`.
    static func gunzip(_ url: URL) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gzipTool!)
        process.arguments = ["-dc", url.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
        return data
    }
}

/// A fresh temporary directory, removed when the value goes away.
final class Scratch {
    let directory: URL
    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizers-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: directory) }
    func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
    /// Writes `text` to the file `name` and returns its URL.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let url = url(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url
    }
}

/// Deterministic SplitMix64, so random trials are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The checksum `scripts/reference/gpt2_token_checksums.py` prints: SHA-256 of the ids as
/// little-endian UInt32, in lowercase hex.
func idChecksum(_ ids: [Int]) -> String {
    var bytes = [UInt8]()
    bytes.reserveCapacity(ids.count * 4)
    for id in ids { withUnsafeBytes(of: UInt32(id).littleEndian) { bytes.append(contentsOf: $0) } }
    return SHA256.hash(data: bytes).hexadecimal
}


/// Asserts that `body` throws a `TokenizerError` whose description contains every phrase in
/// `phrases` (file name, line, field, message words), and returns the error.
@discardableResult
func expectTokenizerError<R>(
    _ phrases: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R
) -> TokenizerError? {
    do {
        _ = try body()
        Issue.record("expected a TokenizerError containing \(phrases)", sourceLocation: sourceLocation)
    } catch let error as TokenizerError {
        for phrase in phrases {
            #expect(error.description.contains(phrase), "\(error)", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("expected TokenizerError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
