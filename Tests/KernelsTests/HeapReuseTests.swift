// The allocator setting the tool runs with: after HeapReuse.enable(), an 8 MiB block (glibc's
// default would mmap anything over 128 KiB) comes from the heap, so freeing and allocating it again
// every training step reuses warm pages.

import Kernels
import Testing

#if os(Linux)
import Glibc
#endif

@Suite("Heap reuse")
struct HeapReuseTests {
    @Test("enable() applies on glibc; an 8 MiB block is then served from the heap, not mmap'd")
    func largeBlocksStayInTheHeap() throws {
        #if os(Linux)
        #expect(HeapReuse.enable() && HeapReuse.isEnabled)
        let before = try #require(HeapReuse.mappedBytes, "glibc ≥ 2.33 reports mmap'd bytes")
        let block = try #require(malloc(8 << 20))
        memset(block, 1, 8 << 20)
        let during = try #require(HeapReuse.mappedBytes)
        free(block)
        #expect(during == before, "an 8 MiB block was mmap'd (\(during - before) bytes)")
        #endif
    }
}
