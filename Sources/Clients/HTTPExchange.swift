// One outgoing HTTP exchange on AsyncHTTPClient, with a hard deadline and a cap on the answer's
// size: what the HTTP reward, the LLM judge, the load tester and downloads send.

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Sends one HTTP request and collects the whole answer, within a deadline and a size cap.
///
/// The exchange runs on AsyncHTTPClient's event loops. ``send(_:through:)`` awaits it;
/// ``sendAndWait(_:through:)`` blocks the calling thread until it ends, for the synchronous
/// interfaces (``HTTPReward``'s `rewards`, ``ChatCompletionsJudge``'s `judge`) that the training and
/// evaluation loops call from their own threads.
public enum HTTPExchange {
    /// A request: where, how, what, and how long and how much to wait for.
    public struct Request: Sendable {
        /// The URL (http or https).
        public var url: URL
        /// The method, e.g. `POST`.
        public var method: String
        /// Header fields, in order.
        public var headers: [(name: String, value: String)]
        /// The body, or nil.
        public var body: Data?
        /// Seconds from the start until the whole answer must have arrived (> 0).
        public var timeout: TimeInterval
        /// The most bytes of answer body accepted.
        public var maximumAnswerBytes: Int

        /// A request.
        /// - Parameters:
        ///   - url: the URL (http or https).
        ///   - method: the HTTP method.
        ///   - headers: header fields.
        ///   - body: the body, or nil.
        ///   - timeout: the hard deadline in seconds, for connecting, sending and the whole answer.
        ///   - maximumAnswerBytes: the cap on the answer's body (16 MiB unless given).
        public init(url: URL, method: String = "GET", headers: [(name: String, value: String)] = [], body: Data? = nil,
                    timeout: TimeInterval, maximumAnswerBytes: Int = 16 << 20) {
            self.url = url
            self.method = method
            self.headers = headers
            self.body = body
            self.timeout = timeout
            self.maximumAnswerBytes = maximumAnswerBytes
        }
    }

    /// A whole answer.
    public struct Answer: Sendable {
        /// The HTTP status code.
        public var status: Int
        /// Header fields, in order.
        public var headers: [(name: String, value: String)]
        /// The body (empty when there was none).
        public var body: Data

        /// The first value of header `name` (case-insensitive), if any.
        public func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    /// The client the reward, the judge and downloads share for the life of the process: a failed
    /// connection fails the request at once (no silent retrying until the deadline, so a judge's
    /// own retries and their backoff are what the user configured), up to 5 redirects followed,
    /// bodies taken as sent (no decompression).
    public static let sharedClient: HTTPClient = makeClient(connectionsPerHost: 8)

    /// A client with the settings of ``sharedClient`` and room for `connectionsPerHost` connections
    /// to one host. Shut it down (`shutdown()`) when done.
    /// - Parameter connectionsPerHost: the connection pool's per-host limit (≥ 1).
    /// - Returns: the client.
    public static func makeClient(connectionsPerHost: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .follow(max: 5, allowCycles: false), decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(connectionsPerHost, 1)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Starts the exchange on `client`'s event loops.
    /// - Returns: the answer's future; it fails with ``ClientError``.
    static func start(_ request: Request, through client: HTTPClient) -> EventLoopFuture<Answer> {
        let address = request.url.absoluteString
        let loop = client.eventLoopGroup.next()
        guard ["http", "https"].contains(request.url.scheme?.lowercased() ?? ""), request.url.host != nil else {
            return loop.makeFailedFuture(ClientError.invalidURL(address))
        }
        let outgoing: HTTPClient.Request
        do {
            outgoing = try HTTPClient.Request(url: request.url, method: HTTPMethod(rawValue: request.method),
                                              headers: HTTPHeaders(request.headers.map { ($0.name, $0.value) }),
                                              body: request.body.map { .bytes(Array($0)) })
        } catch {
            return loop.makeFailedFuture(ClientError.invalidURL(address))
        }
        let milliseconds = Int64((request.timeout * 1000).rounded(.up))
        let accumulator = ResponseAccumulator(request: outgoing, maxBodySize: request.maximumAnswerBytes)
        return client.execute(request: outgoing, delegate: accumulator, deadline: .now() + .milliseconds(milliseconds))
            .futureResult
            .map { response in
                var body = response.body ?? ByteBuffer()
                let bytes = body.readBytes(length: body.readableBytes) ?? []
                return Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(bytes))
            }
            .flatMapErrorThrowing { error in throw describe(error, url: address, request: request) }
    }

    /// Sends `request` and awaits the answer.
    /// - Parameters:
    ///   - request: the request.
    ///   - client: the client (``sharedClient`` unless given).
    /// - Returns: the whole answer, whatever its status.
    /// - Throws: ``ClientError`` naming the URL: a bad URL, the deadline passed, the answer too
    ///   large, or a failed connection.
    public static func send(_ request: Request, through client: HTTPClient = sharedClient) async throws(ClientError) -> Answer {
        do {
            return try await start(request, through: client).get()
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError.transport(url: request.url.absoluteString, reason: "\(error)")
        }
    }

    /// Sends `request` and blocks the calling thread until the answer is in or the deadline passes.
    ///
    /// This is the clients' one bridge from asynchronous to synchronous code. It exists because the
    /// reward-function and pairwise-judge interfaces are synchronous: the PPO loop and the
    /// evaluation commands call them from their own threads, not from Swift concurrency. The
    /// exchange runs on AsyncHTTPClient's event-loop threads and this thread only waits on its
    /// future, so no cooperative thread is held; call it neither from an event loop (NIO refuses)
    /// nor from async code (use ``send(_:through:)`` there).
    /// - Parameters:
    ///   - request: the request.
    ///   - client: the client (``sharedClient`` unless given).
    /// - Returns: the whole answer, whatever its status.
    /// - Throws: ``ClientError`` as for ``send(_:through:)``.
    public static func sendAndWait(_ request: Request, through client: HTTPClient = sharedClient) throws(ClientError) -> Answer {
        do {
            return try start(request, through: client).wait()
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError.transport(url: request.url.absoluteString, reason: "\(error)")
        }
    }

    /// AsyncHTTPClient's and NIO's errors as ``ClientError``s.
    static func describe(_ error: Error, url: String, request: Request) -> ClientError {
        if let error = error as? ClientError { return error }
        if error is ResponseAccumulator.ResponseTooBigError { return .answerTooLarge(url: url, limit: request.maximumAnswerBytes) }
        if let error = error as? HTTPClientError {
            if [.deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout].contains(error) {
                return .deadlineExceeded(url: url, seconds: request.timeout)
            }
            if [.invalidURL, .emptyHost, .emptyScheme].contains(error) { return .invalidURL(url) }
        }
        return .transport(url: url, reason: "\(error)")
    }
}
