// Running a router: the one place the servers bind, report their port and stop on a signal.

import Hummingbird

/// Serves `router` on `host:port` until SIGINT/SIGTERM (in-flight requests finish first).
/// - Parameters:
///   - host: the address to bind; 127.0.0.1 keeps the server on this machine.
///   - port: the port; 0 picks a free one.
///   - onRunning: called with the bound port once connections are accepted.
func listen(_ router: Router<BasicRequestContext>, host: String, port: Int, onRunning: @escaping @Sendable (Int) -> Void) async throws {
    let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "swift-rlhf"),
                          onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
    try await app.runService()
}
