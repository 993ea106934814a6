import Foundation

extension ByteLevelBPETokenizer {
    /// The token ids of `text`, identical to tiktoken's `encode(text, allowed_special="all")` and to
    /// `GPT2TokenizerFast(text)["input_ids"]`.
    ///
    /// Special tokens written in the text become their ids; the text between them is split by
    /// GPT-2's pattern and each chunk byte-pair encoded (chunks seen before come from a cache).
    /// - Parameter text: any string.
    /// - Returns: ids in `0..<vocabularySize`.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { encode(utf8: $0) }
    }

    /// The token ids of `text` with special tokens treated as ordinary text, like tiktoken's
    /// `encode_ordinary`: `"<|endoftext|>"` becomes `[27, 91, 437, 1659, 5239, 91, 29]`.
    /// - Parameter text: any string.
    public func encodeOrdinary(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { buffer in
            var ids = [Int]()
            ids.reserveCapacity(buffer.count / 3 + 1)
            workspaces.withWorkspace { workspace in
                encodeOrdinary(buffer, range: 0..<buffer.count, workspace: workspace, into: &ids)
            }
            return ids
        }
    }

    /// `encode` over UTF-8 bytes (which must be valid UTF-8).
    func encode(utf8 buffer: UnsafeBufferPointer<UInt8>) -> [Int] {
        var ids = [Int]()
        ids.reserveCapacity(buffer.count / 3 + 1)
        workspaces.withWorkspace { workspace in
            var segmentStart = 0
            func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C }
            while let match = specialTokenMatcher.firstMatch(in: buffer, from: segmentStart) {
                var segmentEnd = match.range.lowerBound
                var next = match.range.upperBound
                if let strip = stripping[match.id] {
                    if strip.left { while segmentEnd > segmentStart && isSpace(buffer[segmentEnd - 1]) { segmentEnd -= 1 } }
                    if strip.right { while next < buffer.count && isSpace(buffer[next]) { next += 1 } }
                }
                encodeOrdinary(buffer, range: segmentStart..<segmentEnd, workspace: workspace, into: &ids)
                ids.append(match.id)
                segmentStart = next
            }
            encodeOrdinary(buffer, range: segmentStart..<buffer.count, workspace: workspace, into: &ids)
        }
        return ids
    }

    /// Appends the ids of `buffer[range]`, text without special tokens, to `ids`.
    func encodeOrdinary(
        _ buffer: UnsafeBufferPointer<UInt8>, range: Range<Int>, workspace: EncodingWorkspace, into ids: inout [Int]
    ) {
        guard !range.isEmpty, let base = buffer.baseAddress else { return }
        var scratch = workspace.scratch
        defer { workspace.scratch = scratch }
        let table = mergeTable
        byteIds.withUnsafeBufferPointer { byteIdBuffer in
            let byteIds = byteIdBuffer.baseAddress!
            var splitter = GPT2PreTokenizer(bytes: buffer, range: range)
            while let chunk = splitter.next() {
                let start = base + chunk.lowerBound
                let count = chunk.count
                if count == 1 {
                    ids.append(Int(byteIds[Int(start.pointee)]))
                    continue
                }
                if count <= EncodingWorkspace.maximumCachedLength {
                    let hash = EncodingWorkspace.hash(start, count: count)
                    if workspace.appendCached(start, count: count, hash: hash, to: &ids) { continue }
                    let length = bytePairMerge(start, count: count, byteIds: byteIds, table: table, scratch: &scratch)
                    workspace.insert(start, count: count, hash: hash, ids: scratch.parts, idCount: length)
                    for index in 0..<length { ids.append(Int(scratch.parts[index])) }
                } else {
                    let length = bytePairMerge(start, count: count, byteIds: byteIds, table: table, scratch: &scratch)
                    for index in 0..<length { ids.append(Int(scratch.parts[index])) }
                }
            }
        }
    }
}

/// Per-thread working memory for byte-level BPE encoding: merge scratch space and a cache from
/// chunk bytes to their token ids, so that a word seen before costs one hash lookup.
///
/// A workspace is used by one encode call at a time; `WorkspacePool` hands them out.
final class EncodingWorkspace {
    /// Chunks longer than this are not cached.
    static let maximumCachedLength = 64
    /// The cache is emptied when it holds this many chunks, or its byte or id store is full.
    static let maximumEntries = 1 << 16
    private static let slotCount = 2 * maximumEntries
    private static let byteCapacity = 1 << 20
    private static let idCapacity = 1 << 18

    /// Scratch space for `bytePairMerge`. Encoding loops copy it to a local (its pointers are
    /// plain values) and store it back when done, in case it grew.
    var scratch = MergeScratch()

    private struct Slot {
        var hash: UInt64  // 0 marks an empty slot
        var byteStart: Int32
        var byteCount: Int32
        var idStart: Int32
        var idCount: Int32
    }

    // Fixed-size storage behind `let` pointers: lookups touch no mutable class state.
    private let slots: UnsafeMutablePointer<Slot>
    private let cachedBytes: UnsafeMutablePointer<UInt8>
    private let cachedIds: UnsafeMutablePointer<Int32>
    private var entries = 0
    private var bytesUsed = 0
    private var idsUsed = 0

    init() {
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: Slot(hash: 0, byteStart: 0, byteCount: 0, idStart: 0, idCount: 0), count: Self.slotCount)
        cachedBytes = .allocate(capacity: Self.byteCapacity)
        cachedIds = .allocate(capacity: Self.idCapacity)
    }

    deinit {
        scratch.release()
        slots.deallocate()
        cachedBytes.deallocate()
        cachedIds.deallocate()
    }

    /// A 64-bit hash of `count` bytes at `bytes`, never 0.
    @inline(__always)
    static func hash(_ bytes: UnsafePointer<UInt8>, count: Int) -> UInt64 {
        var hash: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(count)
        var index = 0
        let raw = UnsafeRawPointer(bytes)
        while index + 8 <= count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            hash ^= hash >> 29
            index += 8
        }
        if index < count {
            var tail: UInt64 = 0
            for offset in index..<count { tail = tail << 8 | UInt64(bytes[offset]) }
            hash = (hash ^ tail) &* 0x9E37_79B9_7F4A_7C15
            hash ^= hash >> 29
        }
        hash = (hash ^ (hash >> 32)) &* 0xD6E8_FEB8_6659_FD93
        hash ^= hash >> 32
        return hash == 0 ? 1 : hash
    }

    /// Appends the cached ids of the chunk to `ids` and returns `true`, or returns `false` if the
    /// chunk is not cached.
    @inline(__always)
    func appendCached(_ bytes: UnsafePointer<UInt8>, count: Int, hash: UInt64, to ids: inout [Int]) -> Bool {
        let mask = Self.slotCount - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot.hash == 0 { return false }
            if slot.hash == hash, Int(slot.byteCount) == count,
               memcmp(cachedBytes + Int(slot.byteStart), bytes, count) == 0 {
                let start = Int(slot.idStart)
                for offset in start..<(start + Int(slot.idCount)) { ids.append(Int(cachedIds[offset])) }
                return true
            }
            index = (index + 1) & mask
        }
    }

    /// Caches the chunk's ids (`idCount` of them at `chunkIds`), emptying the cache first if it is
    /// full. Chunks longer than `maximumCachedLength` bytes must not be passed.
    func insert(_ bytes: UnsafePointer<UInt8>, count: Int, hash: UInt64, ids chunkIds: UnsafePointer<Int32>, idCount: Int) {
        if entries >= Self.maximumEntries || bytesUsed + count > Self.byteCapacity || idsUsed + idCount > Self.idCapacity {
            for index in 0..<Self.slotCount { slots[index].hash = 0 }
            entries = 0
            bytesUsed = 0
            idsUsed = 0
        }
        let mask = Self.slotCount - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index].hash != 0 { index = (index + 1) & mask }
        slots[index] = Slot(
            hash: hash, byteStart: Int32(bytesUsed), byteCount: Int32(count),
            idStart: Int32(idsUsed), idCount: Int32(idCount))
        (cachedBytes + bytesUsed).update(from: bytes, count: count)
        (cachedIds + idsUsed).update(from: chunkIds, count: idCount)
        bytesUsed += count
        idsUsed += idCount
        entries += 1
    }
}

/// Hands out `EncodingWorkspace`s to concurrent encode calls: a call takes one (or makes a new
/// one), and gives it back when done, so the word cache persists across calls without locking in
/// the encoding loop.
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [EncodingWorkspace] = []
    private let maximumIdle = max(2, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body` with a workspace no other call is using.
    func withWorkspace<Result>(_ body: (EncodingWorkspace) -> Result) -> Result {
        lock.lock()
        let workspace = idle.popLast() ?? EncodingWorkspace()
        lock.unlock()
        defer {
            lock.lock()
            if idle.count < maximumIdle { idle.append(workspace) }
            lock.unlock()
        }
        return body(workspace)
    }
}
