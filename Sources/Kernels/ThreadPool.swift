// The one thread pool our kernels share. Work is split into contiguous chunks of rows, one chunk
// per thread, so that chunk boundaries depend only on the row count and the thread count: a run
// repeats bit for bit on the same machine with the same thread count. When the pool is busy (a
// nested call, or a call from a second thread), the same chunks run one after another on the
// caller, so results never depend on what else was running.
//
// BLAS threads are never nested inside this pool: `BLAS.configure()` sets the BLAS library to one
// thread, and the kernels that call GEMM split the work themselves (see GEMM.swift).

import Foundation

/// A fixed set of worker threads that run `parallelFor` bodies over contiguous chunks of rows.
///
/// The calling thread takes the first chunk itself. A `parallelFor` issued while the pool is busy
/// (from inside a body, or from another thread) runs its chunks in order on its caller, so nesting
/// never deadlocks, never oversubscribes the cores, and gives the same results.
public final class ThreadPool: @unchecked Sendable {
    /// The process-wide pool, sized by `RLHF_THREADS` when set, else the active processor count.
    public static let shared: ThreadPool = {
        if let text = ProcessInfo.processInfo.environment["RLHF_THREADS"], let n = Int(text), n > 0 {
            return ThreadPool(threads: n)
        }
        return ThreadPool(threads: ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Number of threads that run chunks, the caller included.
    public let threadCount: Int

    /// What the workers share with the pool; they hold it, not the pool, so the pool can go away.
    private final class State: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var job: ((Int) -> Void)?
        var stopping = false
    }

    private let state = State()
    private var wakes: [DispatchSemaphore] = []
    private let busy = NSLock()

    /// Creates a pool that runs chunks on `threads` threads (the caller and `threads - 1` workers).
    public init(threads: Int) {
        require(threads >= 1, "ThreadPool needs at least one thread, got \(threads)")
        threadCount = threads
        for index in 1..<threads {
            let wake = DispatchSemaphore(value: 0)
            wakes.append(wake)
            let state = self.state
            let thread = Thread {
                while true {
                    wake.wait()
                    if state.stopping { return }
                    state.job?(index)
                    state.done.signal()
                }
            }
            thread.name = "rlhf-pool-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Stops the worker threads.
    deinit {
        state.stopping = true
        for wake in wakes { wake.signal() }
    }

    /// The number of chunks `parallelFor(count, minimumChunk:)` splits into: at most one per
    /// thread, each of at least `minimumChunk` rows.
    public func chunkCount(_ count: Int, minimumChunk: Int = 1) -> Int {
        min(threadCount, max(1, count / max(1, minimumChunk)))
    }

    /// Splits `0..<count` into `chunkCount(count, minimumChunk:)` contiguous chunks and runs
    /// `body` on each, in parallel when the pool is free; returns when every chunk is done.
    ///
    /// - Parameters:
    ///   - count: number of rows.
    ///   - minimumChunk: smallest chunk worth a thread.
    ///   - body: called once per chunk with the chunk's row range. Chunks never overlap.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let chunks = chunkCount(count, minimumChunk: minimumChunk)
        if chunks <= 1 {
            body(0..<count)
            return
        }
        guard busy.try() else {
            // Busy: the same chunks, in order, on this thread.
            for chunk in 0..<chunks { body(chunkRange(chunk, of: chunks, count: count)) }
            return
        }
        defer { busy.unlock() }
        withoutActuallyEscaping(body) { body in
            state.job = { chunk in if chunk < chunks { body(chunkRange(chunk, of: chunks, count: count)) } }
            for wake in wakes { wake.signal() }
            body(chunkRange(0, of: chunks, count: count))
            for _ in wakes { state.done.wait() }
            state.job = nil
        }
    }
}

/// Splits `0..<count` into `chunks` contiguous ranges the same way `ThreadPool` does.
@inlinable
public func chunkRange(_ chunk: Int, of chunks: Int, count: Int) -> Range<Int> {
    (count * chunk / chunks)..<(count * (chunk + 1) / chunks)
}
