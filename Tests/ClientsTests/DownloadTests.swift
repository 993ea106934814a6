// Downloads: the bytes of a 200 answer, errors naming the URL for other statuses, oversized
// bodies and dead servers, and the Shakespeare corpus fetched through them.

import Checksums
import Clients
import Crypto
import Datasets
import Foundation
import Testing

@Suite("Download")
struct DownloadTests {
    @Test("a 200 answer's body comes back; another status, an oversized body and a closed port are errors naming the URL")
    func statuses() throws {
        let ok = try OneShotHTTPServer(body: "archive bytes")
        #expect(try Download.data(from: ok.url, maximumBytes: 100, timeout: 10) == Data("archive bytes".utf8))
        #expect(ok.request.hasPrefix("GET /score"))
        let missing = try OneShotHTTPServer(status: 404, body: "no")
        let notFound = try #require(throws: ClientError.self) { try Download.data(from: missing.url, maximumBytes: 100, timeout: 10) }
        #expect(notFound == .unexpectedStatus(url: missing.url.absoluteString, status: 404, expected: 200))
        #expect(notFound.description == "\(missing.url.absoluteString): the server answered HTTP 404, expected 200")
        let large = try OneShotHTTPServer(body: String(repeating: "x", count: 200))
        #expect(throws: ClientError.answerTooLarge(url: large.url.absoluteString, limit: 100)) {
            try Download.data(from: large.url, maximumBytes: 100, timeout: 10)
        }
        let closed = try OneShotHTTPServer(body: nil)
        let url = closed.url
        closed.closeSocket()
        let refused = try #require(throws: ClientError.self) { try Download.data(from: url, maximumBytes: 100, timeout: 5) }
        #expect(refused.url == url.absoluteString && !refused.isTimeout, "\(refused)")
    }

    @Test("the corpus download names the URL and what to fetch by hand when the server fails")
    func corpusFailure() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let missing = try OneShotHTTPServer(status: 404, body: "no")
        let error = try #require(throws: DatasetError.self) {
            try ShakespeareCorpus.fetch(cache: cache, from: missing.url, download: Download.data(from:maximumBytes:timeout:))
        }
        #expect(error.path == missing.url.absoluteString && error.description.contains("HTTP 404") && error.description.contains("--archive"), "\(error)")
    }

    @Test("downloading over HTTPS builds the same corpus, without Python (network: set RLHF_NETWORK_TESTS=1)",
          .enabled(if: ProcessInfo.processInfo.environment["RLHF_NETWORK_TESTS"] == "1"))
    func fetch() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let url = try ShakespeareCorpus.fetch(cache: cache, download: Download.data(from:maximumBytes:timeout:))
        #expect(SHA256.hash(data: try Data(contentsOf: url)).hexadecimal == ShakespeareCorpus.corpusChecksum)
        #expect(try ShakespeareCorpus.fetch(cache: cache) == url)  // cached: no second download (and no downloader needed)
    }
}
