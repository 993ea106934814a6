// The one error type for a file or folder that cannot be read or written as expected.

/// A file (or folder) and what is wrong with it. Checkpoint and run-directory failures use it (as
/// `CheckpointError`, `RunError`); atomic writes have their own `AtomicFileError`.
public struct FileError: Error, CustomStringConvertible {
    /// The file or folder at fault.
    public let path: String
    /// What is wrong, and what was expected.
    public let message: String

    /// An error about `path`.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// "<path>: <message>".
    public var description: String { "\(path): \(message)" }
}
