// Training allocates and frees the same large buffers (activations, gradients, optimizer
// temporaries) every step. glibc's malloc serves blocks above its mmap threshold with fresh
// mmap'd pages and trims the heap's free top back to the system, so every step pays page faults
// and the kernel's zeroing of those pages again (about 12% of a T5-small training step on a 2-core
// AMD EPYC, measured with perf: clear_page_erms and exc_page_fault). Keeping freed blocks in the
// heap makes the next step reuse warm pages.

import CBLAS
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process-wide allocator settings the tool runs with.
public enum HeapReuse {
    /// Blocks up to this size come from the heap and return to it when freed (glibc's maximum
    /// mmap threshold on 64-bit systems: 32 MiB); larger ones stay mmap'd.
    public static let mmapThreshold: Int32 = 32 << 20
    /// Free memory at the heap's top up to this size is kept for reuse rather than returned.
    public static let trimThreshold: Int32 = 1 << 30

    /// Makes glibc keep freed blocks of up to 32 MiB, and up to 1 GiB of free heap top, for reuse
    /// (`mallopt` M_MMAP_THRESHOLD and M_TRIM_THRESHOLD), unless the user set `MALLOC_MMAP_THRESHOLD_`
    /// or `MALLOC_TRIM_THRESHOLD_` (or either as a `GLIBC_TUNABLES` entry) in the environment. The cost: a process's resident memory stays
    /// near its peak after the peak has passed. Call it once, first thing (the `rlhf` tool does);
    /// a program using the libraries may call it too. No effect off glibc.
    /// - Returns: whether the settings were applied.
    @discardableResult
    public static func enable() -> Bool {
        #if canImport(Glibc)
        if getenv("MALLOC_MMAP_THRESHOLD_") != nil || getenv("MALLOC_TRIM_THRESHOLD_") != nil { return false }
        if let tunables = getenv("GLIBC_TUNABLES").map({ String(cString: $0) }),
           tunables.contains("glibc.malloc.mmap_threshold") || tunables.contains("glibc.malloc.trim_threshold") { return false }
        let applied = rlhf_keep_freed_heap(mmapThreshold, trimThreshold) == 1
        if applied { enabled.store(true, ordering: .relaxed) }
        return applied
        #else
        return false
        #endif
    }

    /// Whether glibc's malloc served `block` (a pointer malloc returned) with its own mmap; nil
    /// where unknown (not glibc).
    public static func isMapped(_ block: UnsafeRawPointer) -> Bool? {
        let mapped = rlhf_heap_block_is_mapped(block)
        return mapped < 0 ? nil : mapped == 1
    }

    /// Whether ``enable()`` applied the settings in this process (benchmarks record it).
    public static var isEnabled: Bool { enabled.load(ordering: .relaxed) }
    private static let enabled = Atomic<Bool>(false)
}
