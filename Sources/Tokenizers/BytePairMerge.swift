/// One BPE merge rule: the tokens `left` and `right`, when adjacent, become `merged`.
struct MergeRule: Equatable, Sendable {
    /// The id of the left token.
    var left: Int32
    /// The id of the right token.
    var right: Int32
    /// The id of the token they form.
    var merged: Int32
}

/// The merge rules of a BPE vocabulary as an open-addressing hash table from the pair
/// `(left, right)` (packed in a `UInt64`) to `(rank, merged)` (packed as `rank << 32 | merged`).
///
/// Written only while it is being built; immutable (and so safe to share) afterwards.
final class MergeTable: @unchecked Sendable {
    /// The value `lookup` returns for a pair that has no rule; greater than every packed value.
    static let none = UInt64.max

    private let keys: UnsafeMutablePointer<UInt64>
    private let values: UnsafeMutablePointer<UInt64>
    private let mask: Int
    private let shift: UInt64
    /// The number of rules stored.
    private(set) var count = 0

    /// An empty table with room for `capacity` rules.
    init(capacity: Int) {
        var slots = 16
        while slots < 2 * capacity + 2 { slots *= 2 }
        keys = .allocate(capacity: slots)
        keys.initialize(repeating: Self.none, count: slots)
        values = .allocate(capacity: slots)
        values.initialize(repeating: Self.none, count: slots)
        mask = slots - 1
        shift = UInt64(64 - slots.trailingZeroBitCount)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Adds the rule `left + right → merged` with priority `rank` (lower merges first).
    /// - Returns: `false` (and changes nothing) if the pair already has a rule.
    @discardableResult
    func insert(left: Int32, right: Int32, rank: Int, merged: Int32) -> Bool {
        precondition(count * 2 + 2 <= mask + 1, "MergeTable is full")
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var index = slot(for: key)
        while keys[index] != Self.none {
            if keys[index] == key { return false }
            index = (index + 1) & mask
        }
        keys[index] = key
        values[index] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
        return true
    }

    /// The packed `rank << 32 | merged` of the rule for `(left, right)`, or `MergeTable.none`.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var index = slot(for: key)
        while true {
            let stored = keys[index]
            if stored == key { return values[index] }
            if stored == Self.none { return Self.none }
            index = (index + 1) & mask
        }
    }
}

/// Scratch memory for `bytePairMerge`, grown on demand and reused across calls.
struct MergeScratch {
    private(set) var capacity = 0
    /// Token ids of the parts, then the result.
    private(set) var parts: UnsafeMutablePointer<Int32> = .allocate(capacity: 0)
    /// Packed rank of each adjacent pair (linear path) or heap entries (heap path, 3 per part).
    private(set) var ranks: UnsafeMutablePointer<UInt64> = .allocate(capacity: 0)
    /// Linked-list neighbours (heap path).
    private(set) var next: UnsafeMutablePointer<Int32> = .allocate(capacity: 0)
    private(set) var previous: UnsafeMutablePointer<Int32> = .allocate(capacity: 0)

    /// Makes room for a chunk of `count` bytes.
    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        release()
        capacity = max(count, 2 * capacity, 64)
        parts = .allocate(capacity: capacity)
        ranks = .allocate(capacity: 3 * capacity)
        next = .allocate(capacity: capacity)
        previous = .allocate(capacity: capacity)
    }

    /// Frees the memory.
    mutating func release() {
        parts.deallocate()
        ranks.deallocate()
        next.deallocate()
        previous.deallocate()
        capacity = 0
    }
}

/// Chunks up to this many bytes merge by rescanning all pairs after each merge (fast for short
/// words); longer ones use a heap, so a long chunk costs O(n log n) instead of O(n²).
let linearMergeLimit = 48

/// Byte-pair encodes one pre-tokenized chunk: starting from one token per byte, repeatedly merges
/// the adjacent pair with the lowest rank, the leftmost one when the same pair occurs twice, until
/// no adjacent pair has a rule.
///
/// This is the rule of GPT-2's `encoder.py`, tiktoken's `byte_pair_merge` and Hugging Face's
/// `BPE::merge_word` (without dropout); all three give the same tokens.
/// - Parameters:
///   - bytes: the chunk, `count` bytes.
///   - byteIds: the token id of each single byte (256 entries).
///   - table: the merge rules.
///   - scratch: working memory; the result is left in `scratch.parts`.
/// - Returns: the number of tokens, stored in `scratch.parts[0..<result]`.
func bytePairMerge(
    _ bytes: UnsafePointer<UInt8>, count: Int, byteIds: UnsafePointer<Int32>,
    table: MergeTable, scratch: inout MergeScratch
) -> Int {
    scratch.reserve(count)
    let parts = scratch.parts
    for index in 0..<count { parts[index] = byteIds[Int(bytes[index])] }
    if count < 2 { return count }
    if count > linearMergeLimit {
        return heapMerge(parts: parts, count: count, table: table, scratch: scratch)
    }

    let ranks = scratch.ranks
    for index in 0..<(count - 1) { ranks[index] = table.lookup(parts[index], parts[index + 1]) }
    var length = count
    while length > 1 {
        var best = 0
        var bestRank = ranks[0]
        for index in 1..<(length - 1) where ranks[index] < bestRank {
            bestRank = ranks[index]
            best = index
        }
        if bestRank == MergeTable.none { break }
        parts[best] = Int32(truncatingIfNeeded: bestRank & 0xFFFF_FFFF)
        // Remove parts[best + 1] and the rank of the pair it started.
        for index in (best + 1)..<(length - 1) { parts[index] = parts[index + 1] }
        for index in (best + 1)..<max(best + 1, length - 2) { ranks[index] = ranks[index + 1] }
        length -= 1
        if best > 0 { ranks[best - 1] = table.lookup(parts[best - 1], parts[best]) }
        if best < length - 1 { ranks[best] = table.lookup(parts[best], parts[best + 1]) }
    }
    return length
}

/// The heap-based form of `bytePairMerge` for long chunks: parts form a linked list, candidate
/// merges sit in a binary min-heap keyed by `rank << 32 | position`, and entries made stale by an
/// earlier merge are skipped when they come up. Same result as the linear form.
private func heapMerge(parts: UnsafeMutablePointer<Int32>, count: Int, table: MergeTable, scratch: MergeScratch) -> Int {
    let heap = scratch.ranks
    let next = scratch.next
    let previous = scratch.previous
    var heapCount = 0

    func push(_ key: UInt64) {
        var child = heapCount
        heapCount += 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[parent] > key else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = key
    }
    func pop() -> UInt64 {
        let top = heap[0]
        heapCount -= 1
        let last = heap[heapCount]
        var parent = 0
        while true {
            var child = 2 * parent + 1
            guard child < heapCount else { break }
            if child + 1 < heapCount, heap[child + 1] < heap[child] { child += 1 }
            guard heap[child] < last else { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = last
        return top
    }
    func candidate(_ left: Int) {
        let right = Int(next[left])
        guard right >= 0 else { return }
        let packed = table.lookup(parts[left], parts[right])
        if packed != MergeTable.none { push(packed & 0xFFFF_FFFF_0000_0000 | UInt64(left)) }
    }

    for index in 0..<count {
        next[index] = index + 1 < count ? Int32(index + 1) : -1
        previous[index] = Int32(index - 1)
    }
    for index in 0..<(count - 1) { candidate(index) }

    while heapCount > 0 {
        let entry = pop()
        let left = Int(entry & 0xFFFF_FFFF)
        let right = Int(next[left])
        // Stale if `left` was absorbed (its previous link is cut) or its pair changed since.
        guard right >= 0, left == 0 || previous[left] >= 0 else { continue }
        let packed = table.lookup(parts[left], parts[right])
        guard packed != MergeTable.none, packed >> 32 == entry >> 32 else { continue }
        parts[left] = Int32(truncatingIfNeeded: packed & 0xFFFF_FFFF)
        let after = next[right]
        next[left] = after
        if after >= 0 { previous[Int(after)] = Int32(left) }
        next[right] = -1
        previous[right] = -1
        if left > 0 { candidate(Int(previous[left])) }
        candidate(left)
    }

    var length = 0
    var node = 0
    while node >= 0 {
        parts[length] = parts[node]
        length += 1
        node = Int(next[node])
    }
    return length
}
