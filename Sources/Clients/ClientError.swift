// What can go wrong in one outgoing HTTP exchange, each case naming the URL.

import Foundation

/// A failed HTTP exchange of the clients (the HTTP reward, the LLM judge, the load tester,
/// downloads). Every case names the URL and says what was expected.
public enum ClientError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The URL is not an http(s) URL the client can send to.
    case invalidURL(String)
    /// No complete answer arrived before the deadline (`seconds` after the request started).
    case deadlineExceeded(url: String, seconds: TimeInterval)
    /// The answer's body was longer than the client accepts.
    case answerTooLarge(url: String, limit: Int)
    /// The connection failed (refused, reset, TLS, DNS…): `reason` is the transport's words.
    case transport(url: String, reason: String)
    /// The server answered with a status other than the one expected.
    case unexpectedStatus(url: String, status: Int, expected: Int)

    /// The URL the exchange was sent to.
    public var url: String {
        switch self {
        case .invalidURL(let url), .deadlineExceeded(let url, _), .answerTooLarge(let url, _), .transport(let url, _),
             .unexpectedStatus(let url, _, _): return url
        }
    }

    /// Whether the deadline passed (the server may be alive but slow).
    public var isTimeout: Bool {
        if case .deadlineExceeded = self { return true }
        return false
    }

    /// The explanation, starting with the URL.
    public var description: String {
        switch self {
        case .invalidURL(let url): return "\(url): not an http(s) URL with a host"
        case .deadlineExceeded(let url, let seconds): return "\(url): no answer within \(seconds) s (timed out)"
        case .answerTooLarge(let url, let limit): return "\(url): the answer is longer than \(limit) bytes; refused"
        case .transport(let url, let reason): return "\(url): \(reason)"
        case .unexpectedStatus(let url, let status, let expected): return "\(url): the server answered HTTP \(status), expected \(expected)"
        }
    }
}
