// The pool: exact coverage of the range, inline nesting, BLAS kept single-threaded.

import Benchmarks
import Foundation
import Kernels
import Testing

@Suite("ThreadPool")
struct ThreadPoolTests {
    final class Hits: @unchecked Sendable {
        let lock = NSLock()
        var counts: [Int]
        init(_ n: Int) { counts = Array(repeating: 0, count: n) }
    }

    @Test("every row is visited exactly once, in contiguous chunks", arguments: [1, 2, 3, 17, 1000])
    func coverage(count: Int) {
        let pool = ThreadPool(threads: 3)
        let hits = Hits(count)
        pool.parallelFor(count) { range in
            hits.lock.lock()
            for i in range { hits.counts[i] += 1 }
            hits.lock.unlock()
        }
        #expect(hits.counts.allSatisfy { $0 == 1 })
    }

    @Test("a parallelFor inside a parallelFor runs inline instead of deadlocking")
    func nesting() {
        let pool = ThreadPool(threads: 2)
        let hits = Hits(100)
        pool.parallelFor(10) { outer in
            for o in outer {
                pool.parallelFor(10) { inner in
                    hits.lock.lock()
                    for i in inner { hits.counts[o * 10 + i] += 1 }
                    hits.lock.unlock()
                }
            }
        }
        #expect(hits.counts.allSatisfy { $0 == 1 })
    }

    @Test("the shared pool uses every core; BLAS keeps one thread of its own")
    func configuration() {
        #expect(ThreadPool.shared.threadCount == (ProcessInfo.processInfo.environment["RLHF_THREADS"].flatMap(Int.init)
                                                  ?? ProcessInfo.processInfo.activeProcessorCount))
        BLAS.configure()
        #expect(BLAS.coreName.isEmpty == false)
        #expect(BLAS.libraryThreads == 1)  // no BLAS threads inside (or beside) the pool
        #expect(chunkRange(0, of: 2, count: 5) == 0..<2)
        #expect(chunkRange(1, of: 2, count: 5) == 2..<5)
    }

    @Test("a busy pool runs the same chunks in order, so results do not depend on contention")
    func busyPoolSameChunks() {
        let pool = ThreadPool(threads: 2)
        final class Ranges: @unchecked Sendable { let lock = NSLock(); var free: [Range<Int>] = []; var nested: [Range<Int>] = [] }
        let ranges = Ranges()
        pool.parallelFor(100, minimumChunk: 10) { r in ranges.lock.lock(); ranges.free.append(r); ranges.lock.unlock() }
        pool.parallelFor(2) { outer in
            if outer.lowerBound == 0 {
                pool.parallelFor(100, minimumChunk: 10) { r in ranges.lock.lock(); ranges.nested.append(r); ranges.lock.unlock() }
            }
        }
        #expect(ranges.free.sorted { $0.lowerBound < $1.lowerBound } == [0..<50, 50..<100])
        #expect(ranges.nested == [0..<50, 50..<100])
    }

    @Test("the benchmark suite runs at tiny shapes and prints one JSON object per benchmark")
    func benchmarkSmoke() throws {
        var lines: [String] = []
        KernelBenchmarks.run(shapes: .tiny) { lines.append($0.jsonLine) }
        #expect(lines.count == KernelBenchmarks.names.count)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["bench"] is String, "\(line)")
        }
    }
}
