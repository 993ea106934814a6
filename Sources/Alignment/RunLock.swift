// One writer per run: a process that writes a run directory first takes an exclusive advisory
// lock (flock) on its `.lock` file. A second process that tries is refused with the holder's
// process id; the kernel drops the lock when the holder exits, however it exits, so a crash
// leaves no stale lock behind.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The locks this process holds, by run folder path. A lock is kept until the process exits, so
/// one process may write a run again (resume after a stop in the same program) without
/// locking itself out.
enum RunLocks {
    private static let guardLock = NSLock()
    nonisolated(unsafe) private static var held: [String: Int32] = [:]

    /// Takes (or confirms this process holds) the exclusive lock of the run at `root`.
    /// - Throws: ``RunError`` naming the run and the process that holds it.
    static func claim(_ root: URL) throws {
        let path = root.appendingPathComponent(".lock").path
        try guardLock.withLock {
            if held[path] != nil { return }
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw RunError.runDirectory(path: path, problem: "cannot open the run's lock file: \(String(cString: strerror(errno)))") }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                var buffer = [UInt8](repeating: 0, count: 32)
                let count = pread(descriptor, &buffer, buffer.count, 0)
                close(descriptor)
                let holder = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "another process"
                throw RunError.runInUse(path: root.path, process: Int32(holder))
            }
            let pid = "\(getpid())\n"
            _ = ftruncate(descriptor, 0)
            _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
            held[path] = descriptor
        }
    }
}
