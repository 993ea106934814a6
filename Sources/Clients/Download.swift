// Downloading a file's bytes over HTTP(S), for datasets fetched by the command-line tool.

import Foundation

/// Whole-file downloads with a size cap and a hard deadline.
public enum Download {
    /// The bytes at `url`: a GET that must answer 200 (redirects followed, up to 5).
    ///
    /// It matches `ShakespeareCorpus.Downloader`, so `rlhf data fetch` passes it to
    /// `ShakespeareCorpus.fetch(download:)`. It blocks the calling thread (see
    /// ``HTTPExchange/sendAndWait(_:through:)``).
    /// - Parameters:
    ///   - url: the file's URL (http or https).
    ///   - maximumBytes: the largest body accepted.
    ///   - timeout: seconds for the whole download.
    /// - Returns: the body.
    /// - Throws: ``ClientError`` naming the URL: no answer in time, a body over `maximumBytes`, a
    ///   failed connection, or a status other than 200.
    public static func data(from url: URL, maximumBytes: Int, timeout: TimeInterval) throws -> Data {
        let answer = try HTTPExchange.sendAndWait(HTTPExchange.Request(url: url, timeout: timeout, maximumAnswerBytes: maximumBytes))
        guard answer.status == 200 else { throw ClientError.unexpectedStatus(url: url.absoluteString, status: answer.status, expected: 200) }
        return answer.body
    }
}
