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
    return SHA256.hex(bytes)
}

/// SHA-256 (FIPS 180-4), enough for test checksums without CryptoKit.
enum SHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func hex(_ message: [UInt8]) -> String {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var data = message
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        withUnsafeBytes(of: UInt64(message.count * 8).bigEndian) { data.append(contentsOf: $0) }
        var w = [UInt32](repeating: 0, count: 64)
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                w[i] = UInt32(data[chunk + 4 * i]) << 24 | UInt32(data[chunk + 4 * i + 1]) << 16
                    | UInt32(data[chunk + 4 * i + 2]) << 8 | UInt32(data[chunk + 4 * i + 3])
            }
            for i in 16..<64 {
                let s0 = w[i - 15].rotatedRight(7) ^ w[i - 15].rotatedRight(18) ^ (w[i - 15] >> 3)
                let s1 = w[i - 2].rotatedRight(17) ^ w[i - 2].rotatedRight(19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let s1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
                let choice = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ choice &+ k[i] &+ w[i]
                let s0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ majority
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, value) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ value }
        }
        return h.map { String(format: "%08x", $0) }.joined()
    }
}

extension UInt32 {
    fileprivate func rotatedRight(_ count: UInt32) -> UInt32 { (self >> count) | (self << (32 - count)) }
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
