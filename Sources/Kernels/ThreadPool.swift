// The one thread pool our kernels share. Work is split into contiguous chunks of rows, one chunk
// per thread, so that chunk boundaries depend only on the row count and the thread count: a run
// repeats bit for bit on the same machine with the same thread count.
//
// BLAS threads are never nested inside this pool: `BLAS.configureThreads()` sets the BLAS library
// to one thread, and the kernels that call GEMM split the work themselves (see GEMM.swift).

import Foundation

/// A fixed set of worker threads that run `parallelFor` bodies over contiguous chunks of rows.
///
/// The calling thread takes the first chunk itself. A `parallelFor` issued while the pool is busy
/// (from inside a body, or from another thread) runs inline on its caller, so nesting never
/// deadlocks and never oversubscribes the cores.
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

    private var workers: [Worker] = []
    private let busy = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var job: ((Int) -> Void)?

    private final class Worker: @unchecked Sendable {
        let wake = DispatchSemaphore(value: 0)
    }

    /// Creates a pool that runs chunks on `threads` threads (the caller and `threads - 1` workers).
    public init(threads: Int) {
        require(threads >= 1, "ThreadPool needs at least one thread, got \(threads)")
        threadCount = threads
        for index in 1..<threads {
            let worker = Worker()
            workers.append(worker)
            let thread = Thread { [unowned self] in
                while true {
                    worker.wake.wait()
                    self.job?(index)
                    self.done.signal()
                }
            }
            thread.name = "rlhf-pool-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Splits `0..<count` into at most `threadCount` contiguous chunks of at least `minimumChunk`
    /// rows and runs `body` on each, in parallel; returns when every chunk is done.
    ///
    /// - Parameters:
    ///   - count: number of rows.
    ///   - minimumChunk: smallest chunk worth a thread; fewer rows than twice this run inline.
    ///   - body: called once per chunk with the chunk's row range. Chunks never overlap.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let chunks = min(threadCount, max(1, count / max(1, minimumChunk)))
        if chunks <= 1 || !busy.try() {
            body(0..<count)
            return
        }
        defer { busy.unlock() }
        withoutActuallyEscaping(body) { body in
            let range = { (chunk: Int) -> Range<Int> in
                (count * chunk / chunks)..<(count * (chunk + 1) / chunks)
            }
            job = { chunk in if chunk < chunks { body(range(chunk)) } }
            for worker in workers { worker.wake.signal() }
            body(range(0))
            for _ in workers { done.wait() }
            job = nil
        }
    }

    /// The chunk ranges `parallelFor(count, minimumChunk:)` would use, for deterministic reductions.
    public func chunkCount(_ count: Int, minimumChunk: Int = 1) -> Int {
        min(threadCount, max(1, count / max(1, minimumChunk)))
    }
}

/// Splits `0..<count` into `chunks` contiguous ranges the same way `ThreadPool` does.
@inlinable
public func chunkRange(_ chunk: Int, of chunks: Int, count: Int) -> Range<Int> {
    (count * chunk / chunks)..<(count * (chunk + 1) / chunks)
}
