// Running a router: the one place the servers bind, report their port and stop on a signal.

import Hummingbird
import Logging
import ServiceLifecycle

/// Serves `router` on `host:port`, with `alongside` (for example a gRPC server) in the same
/// service group, until SIGINT/SIGTERM: then every service stops taking requests and the ones in
/// flight finish.
/// - Parameters:
///   - host: the address to bind; 127.0.0.1 keeps the server on this machine.
///   - port: the port; 0 picks a free one.
///   - alongside: services that run and shut down with the HTTP server.
///   - onRunning: called with the bound HTTP port once connections are accepted.
func listen(_ router: Router<BasicRequestContext>, host: String, port: Int, alongside: [any Service] = [],
            onRunning: @escaping @Sendable (Int) -> Void) async throws {
    let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "swift-rlhf"),
                          onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
    let group = ServiceGroup(configuration: .init(services: [app] + alongside, gracefulShutdownSignals: [.sigterm, .sigint],
                                                  logger: app.logger))
    try await group.run()
}
