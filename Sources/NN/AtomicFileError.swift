// Why an atomic file write failed: the step (create, write, fsync, close, rename, directory
// fsync) and the system's reason.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed step of ``AtomicFile``'s write: the destination, the temporary file where one is
/// involved, and the `errno` the system call set. The destination is left as it was, except after
/// the rename (the directory fsync cases), when the new file is in place but perhaps not durable.
public enum AtomicFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The temporary file beside the destination could not be created (`open(2)` failed: a
    /// missing directory, no permission, a read-only file system).
    case cannotCreateTemporaryFile(path: String, temporaryPath: String, errno: Int32)
    /// Writing to the temporary file failed (`write(2)`: disk full, I/O error).
    case cannotWrite(path: String, errno: Int32)
    /// `write(2)` to the temporary file returned 0 bytes: it made no progress.
    case writeMadeNoProgress(path: String)
    /// The temporary file could not be flushed to disk (`fsync(2)`).
    case cannotSyncTemporaryFile(path: String, temporaryPath: String, errno: Int32)
    /// The temporary file could not be closed (`close(2)`, which may report a deferred write error).
    case cannotCloseTemporaryFile(path: String, temporaryPath: String, errno: Int32)
    /// The temporary file could not be renamed over the destination (`rename(2)`).
    case cannotRename(path: String, temporaryPath: String, errno: Int32)
    /// The file was replaced, but its directory could not be opened to make the rename durable.
    case cannotOpenDirectory(path: String, errno: Int32)
    /// The file was replaced, but fsync of its directory failed, so the rename may not survive a crash.
    case cannotSyncDirectory(path: String, errno: Int32)

    /// The destination file.
    public var path: String {
        switch self {
        case let .cannotCreateTemporaryFile(path, _, _), let .cannotWrite(path, _), let .writeMadeNoProgress(path),
             let .cannotSyncTemporaryFile(path, _, _), let .cannotCloseTemporaryFile(path, _, _), let .cannotRename(path, _, _),
             let .cannotOpenDirectory(path, _), let .cannotSyncDirectory(path, _):
            return path
        }
    }

    /// What failed and the system's reason, without the destination.
    public var message: String {
        /// "strerror (errno N)".
        func reason(_ code: Int32) -> String { "\(String(cString: strerror(code))) (errno \(code))" }
        switch self {
        case let .cannotCreateTemporaryFile(_, temporaryPath, code): return "cannot create temporary file \(temporaryPath): \(reason(code))"
        case let .cannotWrite(_, code): return "cannot write to the temporary file: \(reason(code))"
        case .writeMadeNoProgress: return "write to the temporary file made no progress"
        case let .cannotSyncTemporaryFile(_, temporaryPath, code): return "cannot fsync temporary file \(temporaryPath): \(reason(code))"
        case let .cannotCloseTemporaryFile(_, temporaryPath, code): return "cannot close temporary file \(temporaryPath): \(reason(code))"
        case let .cannotRename(_, temporaryPath, code): return "cannot rename temporary file \(temporaryPath) into place: \(reason(code))"
        case let .cannotOpenDirectory(_, code): return "file was replaced, but its directory cannot be opened to fsync: \(reason(code))"
        case let .cannotSyncDirectory(_, code): return "file was replaced, but fsync of its directory failed: \(reason(code))"
        }
    }

    /// "<path>: <what failed>: <reason> (errno N)".
    public var description: String { "\(path): \(message)" }
}
