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
    @Test("enable() applies on glibc; an 8 MiB block is then served from the heap, not mmap'd; a 64 MiB one still is")
    func largeBlocksStayInTheHeap() throws {
        #if os(Linux)
        #expect(HeapReuse.enable() && HeapReuse.isEnabled)
        let block = try #require(malloc(8 << 20))
        defer { free(block) }
        #expect(HeapReuse.isMapped(block) == false, "an 8 MiB block was mmap'd")
        let huge = try #require(malloc(64 << 20))
        defer { free(huge) }
        #expect(HeapReuse.isMapped(huge) == true, "blocks above 32 MiB stay mmap'd (the check can see a mapping)")
        #endif
    }
}
