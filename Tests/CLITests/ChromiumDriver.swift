// A small driver for headless Chromium over the DevTools protocol, through --remote-debugging-pipe
// (file descriptors 3 and 4, NUL-separated JSON): open a page, evaluate JavaScript, and click and
// type with real input events, as a person would. Used by the rating-page tests.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct ChromiumError: Error, CustomStringConvertible {
    var description: String
}

/// One headless Chromium with one page.
final class ChromiumDriver {
    private var process: pid_t = 0
    private let commands: Int32, events: Int32
    private var nextID = 1
    private var pending: [UInt8] = []
    private var session = ""
    private let profile: URL

    /// Starts Chromium with a fresh profile and attaches to a new blank page.
    init(executable: String) throws {
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        var toChromium: [Int32] = [0, 0], fromChromium: [Int32] = [0, 0]
        guard pipe(&toChromium) == 0, pipe(&fromChromium) == 0 else { throw ChromiumError(description: "pipe failed") }
        // Move all four ends above 3 and 4 with close-on-exec, so that dup2 onto 3/4 is never a no-op.
        let high = (toChromium + fromChromium).map { fd -> Int32 in
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, 100)
            close(fd)
            return moved
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, high[0], 3)
        posix_spawn_file_actions_adddup2(&actions, high[3], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                         "--remote-debugging-pipe", "--user-data-dir=\(profile.path)", "--window-size=1200,900", "about:blank"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = posix_spawn(&process, executable, &actions, nil, &argv, environ)
        close(high[0])
        close(high[3])
        commands = high[1]
        events = high[2]
        guard status == 0 else { throw ChromiumError(description: "cannot start \(executable): \(String(cString: strerror(status)))") }
        let target = try send("Target.createTarget", ["url": "about:blank"], inSession: false)
        guard let targetID = target["targetId"] as? String else { throw ChromiumError(description: "no target id in \(target)") }
        let attached = try send("Target.attachToTarget", ["targetId": targetID, "flatten": true], inSession: false)
        session = attached["sessionId"] as? String ?? ""
        _ = try send("Page.enable")
    }

    deinit {
        close(commands)
        close(events)
        kill(process, SIGKILL)
        var status: Int32 = 0
        waitpid(process, &status, 0)
        try? FileManager.default.removeItem(at: profile)
    }

    /// Sends one command and returns its result, skipping events; throws on a protocol error or after `timeout` seconds.
    @discardableResult
    func send(_ method: String, _ parameters: [String: Any] = [:], inSession: Bool = true, timeout: TimeInterval = 30) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if inSession { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ChromiumError(description: "cannot write to Chromium") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = pending.firstIndex(of: 0) {
                let data = Data(pending[..<end])
                pending.removeSubrange(...end)
                guard let reply = try JSONSerialization.jsonObject(with: data) as? [String: Any], reply["id"] as? Int == id else { continue }
                if let error = reply["error"] { throw ChromiumError(description: "\(method): \(error)") }
                return reply["result"] as? [String: Any] ?? [:]
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw ChromiumError(description: "\(method): no answer within \(timeout) s") }
            var poller = pollfd(fd: events, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(remaining, 1) * 1000)) >= 0 else { throw ChromiumError(description: "poll failed") }
            guard poller.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { read(events, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ChromiumError(description: "Chromium closed the pipe during \(method)") }
            pending += chunk[..<n]
        }
    }

    /// Evaluates `expression` in the page and returns its value (JSON-compatible).
    func evaluate(_ expression: String) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        if let exception = result["exceptionDetails"] { throw ChromiumError(description: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Polls `condition` (a JavaScript boolean expression) until it is true; evaluation errors while
    /// a page loads count as false.
    func wait(until condition: String, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? evaluate(condition)) as? Bool == true { return }
            usleep(50_000)
        }
        throw ChromiumError(description: "timed out waiting for \(condition)")
    }

    /// Opens `url` and waits for it to load.
    func open(_ url: String) throws {
        _ = try send("Page.navigate", ["url": url])
        try wait(until: "document.readyState === 'complete' && location.href.startsWith(\(Self.quoted(url)))")
    }

    /// Clicks the middle of the element matching `selector` with a real left mouse press and release.
    func click(_ selector: String) throws {
        let point = try evaluate("""
            (() => { const e = document.querySelector(\(Self.quoted(selector))); if (!e) return null;
                     e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
                     return [r.x + r.width / 2, r.y + r.height / 2]; })()
            """) as? [Double]
        guard let point, point.count == 2 else { throw ChromiumError(description: "no element matches \(selector)") }
        for type in ["mouseMoved", "mousePressed", "mouseReleased"] {
            try send("Input.dispatchMouseEvent", ["type": type, "x": point[0], "y": point[1], "button": "left", "clickCount": 1])
        }
    }

    /// Clicks the element matching `selector`, then types `text` into it.
    func type(_ text: String, into selector: String) throws {
        try click(selector)
        try send("Input.insertText", ["text": text])
    }

    /// `text` as a JavaScript string literal.
    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }
}
