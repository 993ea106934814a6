// Invariant checks that keep their message in optimized builds.
//
// Swift's `precondition` drops its message under -O, so a shape mismatch in a release build would
// stop the program without saying why. Every check in these modules uses `require`, which always
// prints the message (through `fatalError`), then stops.

/// Stops the program with `message` when `condition` is false, in every build configuration.
@inlinable @inline(__always)
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition()) { requireFailed(message(), file: file, line: line) }
}

/// The cold path of `require`.
@inline(never)
public func requireFailed(_ message: String, file: StaticString, line: UInt) -> Never {
    fatalError(message, file: file, line: line)
}
