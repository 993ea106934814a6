// Running a router: the one place the servers bind, report their port, cut slow clients and stop on a signal.

import Hummingbird
import Logging
import ServiceLifecycle

/// Serves `router` on `host:port`, with `alongside` (for example a gRPC server) in the same
/// service group, until SIGINT/SIGTERM: then every service stops taking requests, the ones in
/// flight get `limits.shutdownDeadline` to finish, and what is left is cut.
/// - Parameters:
///   - host: the address to bind; 127.0.0.1 keeps the server on this machine.
///   - port: the port; 0 picks a free one.
///   - limits: the header, body and idle timeouts of each connection and the shutdown deadline.
///   - alongside: services that run and shut down with the HTTP server.
///   - onRunning: called with the bound HTTP port once connections are accepted.
func listen(_ router: Router<BasicRequestContext>, host: String, port: Int, limits: ConnectionLimits = .standard,
            alongside: [any Service] = [], onRunning: @escaping @Sendable (Int) -> Void) async throws {
    let app = Application(router: router,
                          server: .http1(configuration: .init(additionalChannelHandlers: [RequestDeadlines(limits: limits)],
                                                              idleTimeout: limits.idleTimeout.timeAmount)),
                          configuration: .init(address: .hostname(host, port: port), serverName: "swift-rlhf"),
                          onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
    var configuration = ServiceGroupConfiguration(services: [app] + alongside, gracefulShutdownSignals: [.sigterm, .sigint], logger: app.logger)
    configuration.maximumGracefulShutdownDuration = limits.shutdownDeadline
    // Once cut, a service gets 30 s to unwind; past that ServiceLifecycle stops the process (a
    // trap). 2 s was too short on a loaded 2-core machine: a server run inside the test process,
    // cancelled at the end of its test, took longer and took the whole test run down.
    configuration.maximumCancellationDuration = .seconds(30)
    let group = ServiceGroup(configuration: configuration)
    try await group.run()
}
