// Blocking waits (a subprocess, a browser) run on threads of their own. Swift Testing runs every
// test, synchronous or not, on the cooperative pool, which has as many threads as cores: on a
// 2-core machine two tests blocked in `waitpid` or `poll` at once stall every server test in the
// process (seen: 50-second stalls, and a disconnect test whose server noticed too late).

import Foundation

/// A value handed between threads by the one test that owns it.
struct Carried<T>: @unchecked Sendable {
    let value: T
}

/// Runs `work` on a new thread and awaits its result, leaving the cooperative thread free.
func offPool<T>(_ work: @escaping () throws -> T) async throws -> T {
    let job = Carried(value: work)
    let result: Carried<Result<T, any Error>> = await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: Carried(value: Result { try job.value() })) }.start()
    }
    return try result.value.get()
}

/// `runTool` off the pool.
func runTool(_ arguments: [String], environment extra: [String: String] = [:], removing: [String] = [],
             executable: String = "rlhf") async throws -> (Int32, String, String) {
    try await offPool { try runTool(arguments, environment: extra, removing: removing, executable: executable) }
}

/// `runToolKilled` off the pool.
func runToolKilled(_ arguments: [String], whenExists file: URL) async throws -> Process.TerminationReason {
    try await offPool { try runToolKilled(arguments, whenExists: file) }
}

/// `renderInChromium` off the pool.
func renderInChromium(_ html: URL, to png: URL) async throws -> Data {
    try await offPool { try renderInChromium(html, to: png) }
}

extension ChromiumDriver {
    /// Starts Chromium off the pool.
    static func start(executable: String) async throws -> ChromiumDriver {
        try await offPool { try ChromiumDriver(executable: executable) }
    }

    func evaluate(_ expression: String) async throws -> Any? {
        try await offPool { try self.evaluate(expression) }
    }

    func wait(until condition: String, timeout: TimeInterval = 20) async throws {
        try await offPool { try self.wait(until: condition, timeout: timeout) }
    }

    func open(_ url: String) async throws {
        try await offPool { try self.open(url) }
    }

    func click(_ selector: String) async throws {
        try await offPool { try self.click(selector) }
    }

    func type(_ text: String, into selector: String) async throws {
        try await offPool { try self.type(text, into: selector) }
    }
}
