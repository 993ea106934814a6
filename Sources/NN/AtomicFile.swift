import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif


/// Replaces files atomically: readers see either the old file or the complete new one, never a
/// partial write, even if the process or the machine dies mid-write.
///
/// The contents go to a temporary file in the destination's directory, which is fsynced, closed
/// and renamed over the destination; then the directory is fsynced so the rename is durable.
/// On failure the temporary file is removed and any existing destination is left untouched.
public enum AtomicFile {
    /// A write-only handle to the temporary file, passed to the body of `write(to:_:)`.
    /// Valid only during that call.
    public struct Output {
        let descriptor: Int32
        let path: String

        /// Writes all of `bytes` at the current position, retrying partial writes and interrupts.
        /// - Throws: ``AtomicFileError/cannotWrite(path:errno:)`` or
        ///   ``AtomicFileError/writeMadeNoProgress(path:)``.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard var pointer = bytes.baseAddress else { return }
            var remaining = bytes.count
            while remaining > 0 {
                let written = systemWrite(descriptor, pointer, min(remaining, 1 << 30))
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    throw written == 0 ? AtomicFileError.writeMadeNoProgress(path: path) : AtomicFileError.cannotWrite(path: path, errno: errno)
                }
                pointer += written
                remaining -= written
            }
        }

        /// Writes all of `data` at the current position.
        public func write(_ data: Data) throws {
            try data.withUnsafeBytes { try write($0) }
        }
    }

    /// Atomically replaces the file at `url` with `data`.
    /// - Throws: ``AtomicFileError`` naming the file, the step that failed and the system's reason.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(data) }
    }

    /// Atomically replaces the file at `url` with whatever `body` writes to the `Output` it gets,
    /// so large files can be streamed piece by piece instead of assembled in memory first.
    /// If `body` throws, the temporary file is removed and the error is rethrown.
    /// - Throws: ``AtomicFileError`` naming the file, the step that failed and the system's reason;
    ///   or what `body` threw.
    public static func write(to url: URL, _ body: (Output) throws -> Void) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(suffix)").path
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw AtomicFileError.cannotCreateTemporaryFile(path: path, temporaryPath: temporaryPath, errno: errno) }
        var isOpen = true
        var isRenamed = false
        defer {
            if isOpen { close(descriptor) }
            if !isRenamed { unlink(temporaryPath) }
        }
        try body(Output(descriptor: descriptor, path: path))
        guard fsync(descriptor) == 0 else { throw AtomicFileError.cannotSyncTemporaryFile(path: path, temporaryPath: temporaryPath, errno: errno) }
        isOpen = false
        guard close(descriptor) == 0 else { throw AtomicFileError.cannotCloseTemporaryFile(path: path, temporaryPath: temporaryPath, errno: errno) }
        guard rename(temporaryPath, path) == 0 else {
            throw AtomicFileError.cannotRename(path: path, temporaryPath: temporaryPath, errno: errno)
        }
        isRenamed = true
        try syncDirectory(directory, destination: path)
    }

    /// Fsyncs `directory` so a rename inside it survives a crash. Filesystems that cannot sync
    /// directories (EINVAL) are accepted.
    private static func syncDirectory(_ directory: String, destination: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw AtomicFileError.cannotOpenDirectory(path: destination, errno: errno)
        }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 && errno != EINVAL {
            throw AtomicFileError.cannotSyncDirectory(path: destination, errno: errno)
        }
    }
}

/// The system `write(2)`, reachable from inside `AtomicFile.Output`, whose own `write` shadows it.
private func systemWrite(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, pointer, count)
}
