// The time limits of a server's connections, as options shared by `rlhf serve` and `rlhf rate serve`.

import ArgumentParser
import Serving

/// `--header-timeout`, `--body-timeout`, `--idle-timeout`, `--shutdown-timeout` (seconds).
struct ConnectionLimitOptions: ParsableArguments {
    @Option(help: "Seconds a new connection's client may take to send its first request's headers (later requests: the longer of this and --idle-timeout).") var headerTimeout: Double = 30
    @Option(help: "Seconds a client may take to send a request's body.") var bodyTimeout: Double = 60
    @Option(help: "Seconds a connection may stay silent (while sending a request, or between requests) before it is closed.") var idleTimeout: Double = 60
    @Option(help: "Seconds requests in flight get to finish after SIGINT/SIGTERM before they are cut.") var shutdownTimeout: Double = 10

    func validate() throws {
        for (name, value) in [("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout), ("--idle-timeout", idleTimeout),
                              ("--shutdown-timeout", shutdownTimeout)] where !(value > 0 && value <= 86_400) {
            throw ValidationError("\(name) must be a number of seconds above 0 and at most 86400, got \(value)")
        }
    }

    /// The limits asked for.
    var limits: ConnectionLimits {
        func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }
        return ConnectionLimits(headerTimeout: duration(headerTimeout), bodyTimeout: duration(bodyTimeout),
                                idleTimeout: duration(idleTimeout), shutdownDeadline: duration(shutdownTimeout))
    }
}
