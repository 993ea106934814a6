// How long a client may take: to send a request's head, to send its body, to stay silent, and how
// long requests in flight get to finish once the server is told to stop. A slow or stalled client
// is cut at these limits; it never holds a connection, or the server's shutdown, for ever.

import NIOCore
import NIOHTTPTypes

/// Time limits of the HTTP and gRPC servers.
public struct ConnectionLimits: Sendable, Equatable {
    /// Longest wait for a request's head from the connection's start (a client sending its
    /// headers a byte at a time). Between requests on a kept-alive connection the wait is the
    /// longer of this and `idleTimeout`.
    public var headerTimeout: Duration
    /// Longest time to receive a request's body once its head has arrived.
    public var bodyTimeout: Duration
    /// A connection that sends nothing for this long while a request is being read, or between
    /// requests, is closed (HTTP); a gRPC connection with no call for this long is closed.
    public var idleTimeout: Duration
    /// After SIGTERM or SIGINT: how long requests in flight get to finish before they are cut.
    public var shutdownDeadline: Duration

    /// Limits; the defaults suit a model server on a workstation.
    public init(headerTimeout: Duration = .seconds(30), bodyTimeout: Duration = .seconds(60),
                idleTimeout: Duration = .seconds(60), shutdownDeadline: Duration = .seconds(10)) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.shutdownDeadline = shutdownDeadline
    }

    /// The limits every server uses unless told otherwise.
    public static let standard = ConnectionLimits()
}

extension Duration {
    /// This duration in NIO's terms.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Closes an HTTP/1 connection whose client is too slow: no request head within `headerTimeout`
/// of the connection's start (the longer of it and `idleTimeout` after a response, on a
/// kept-alive connection), or no complete body within `bodyTimeout` of its head. Sits after HTTP
/// decoding, so it sees request parts going in and response parts going out; no timer runs
/// while a response is being produced or sent.
final class RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private var timer: Scheduled<Void>?
    /// Requests whose head has arrived and whose response has not ended; whether a body is being read.
    private var inProgress = 0, reading = false

    init(limits: ConnectionLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(limits.headerTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.headerTimeout, context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inProgress += 1
            reading = true
            arm(limits.bodyTimeout, context: context)
        case .body:
            break
        case .end:
            reading = false
            // A response may have ended before its request did (a refusal sent before the body was read).
            if inProgress == 0 { arm(between, context: context) } else { disarm() }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inProgress = max(0, inProgress - 1)
            if inProgress == 0 && !reading { arm(between, context: context) }
        }
        context.write(data, promise: promise)
    }

    /// The wait for the next request's head on a kept-alive connection.
    private var between: Duration { max(limits.headerTimeout, limits.idleTimeout) }

    private func arm(_ limit: Duration, context: ChannelHandlerContext) {
        disarm()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: limit.timeAmount) { channel.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
