// One blocking HTTP exchange with a hard deadline, for the external scorers and judges.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Models
import Tensors
import Tokenizers

/// One HTTP exchange that blocks the calling thread until it ends, with a hard deadline: what the
/// command-line tool's external scorers and judges use (URLSession, also on Linux through
/// FoundationNetworking). Call it off Swift concurrency's cooperative threads.
public enum BlockingHTTP {
    /// Sends `request` and waits for the answer.
    /// - Parameters:
    ///   - request: the request (its URL, method, headers, body).
    ///   - timeout: seconds allowed for the request and for the whole exchange, rounded up to
    ///     whole seconds (FoundationNetworking truncates fractions, so 0.5 s would expire at once);
    ///     the caller is released at most 5 s after that even if URLSession has not given up.
    /// - Returns: the body, the response and the transport error, as URLSession reports them; a
    ///   missed deadline is an error naming the URL.
    public static func send(_ request: URLRequest, timeout: TimeInterval) -> (Data?, URLResponse?, Error?) {
        final class Box: @unchecked Sendable { var result: (Data?, URLResponse?, Error?) = (nil, nil, nil) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let seconds = max(timeout.rounded(.up), 1)
        var request = request
        request.timeoutInterval = seconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        let session = URLSession(configuration: configuration)
        session.dataTask(with: request) { data, response, error in
            box.result = (data, response, error)
            done.signal()
        }.resume()
        if done.wait(timeout: .now() + seconds + 5) == .timedOut {
            session.invalidateAndCancel()
            return (nil, nil, RunError(path: request.url?.absoluteString ?? "request", message: "no answer within \(timeout) s"))
        }
        session.finishTasksAndInvalidate()
        return box.result
    }
}
