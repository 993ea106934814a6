// SentencePiece's precompiled normalization map — the `precompiled_charsmap` of a `Precompiled`
// normalizer in tokenizer.json (T5's `nmt_nfkc`) — read and applied the way Hugging Face
// `tokenizers` does it (its `Precompiled` normalizer, on the `spm_precompiled` crate).
//
// The blob, little-endian: a u32 giving the trie's size in bytes; the trie, a darts-clone double
// array of u32 units; then the replacement strings, UTF-8, each ended by a NUL. A key of the trie is
// the UTF-8 of a character sequence; its value is the byte offset of its replacement in the strings.

import Foundation

/// A SentencePiece character map: a double-array trie from UTF-8 sequences to replacement strings.
struct PrecompiledCharsMap: Sendable {
    /// What is wrong with a blob, in words.
    struct Malformed: Error {
        /// The problem and what was expected.
        let message: String
    }

    /// The double-array units.
    let units: [UInt32]
    /// The replacement strings, each ended by a NUL.
    let replacements: [UInt8]
    /// The blob as read (written back by `save`).
    let blob: [UInt8]

    /// Reads and checks a blob: its header, its size, that the replacement strings are UTF-8, and
    /// that every leaf reachable in the trie points at a unit and a replacement inside the blob.
    /// - Parameter blob: the decoded `precompiled_charsmap`.
    /// - Throws: `Malformed` saying what is wrong.
    init(blob: [UInt8]) throws(Malformed) {
        guard blob.count >= 4 else {
            throw Malformed(message: "the blob has \(blob.count) bytes, fewer than the 4 of its trie-size header")
        }
        let trieSize = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard trieSize > 0, trieSize % 4 == 0 else {
            throw Malformed(message: "the trie size \(trieSize) is not a positive multiple of 4 bytes")
        }
        guard trieSize <= blob.count - 4 else {
            throw Malformed(message: "the trie size \(trieSize) is larger than the \(blob.count - 4) bytes after the header (truncated?)")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for index in units.indices {
            let at = 4 + 4 * index
            units[index] = UInt32(blob[at]) | UInt32(blob[at + 1]) << 8 | UInt32(blob[at + 2]) << 16 | UInt32(blob[at + 3]) << 24
        }
        let replacements = Array(blob[(4 + trieSize)...])
        if let bad = firstInvalidUTF8(replacements) {
            throw Malformed(message: "the replacement strings are not valid UTF-8 (at byte \(4 + trieSize + bad) of the blob)")
        }
        self.units = units
        self.replacements = replacements
        self.blob = blob
        try checkLeaves()
    }

    // darts-clone's unit layout.
    private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
    private static func label(_ unit: UInt32) -> UInt32 { unit & ((1 << 31) | 0xFF) }
    private static func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
    private static func value(_ unit: UInt32) -> Int { Int(unit & ((1 << 31) - 1)) }

    /// Walks every node reachable from the root and checks its leaf, if it has one.
    private func checkLeaves() throws(Malformed) {
        var pending = [Self.offset(units[0])]
        var visited = Set<Int>()
        while let base = pending.popLast() {
            guard visited.insert(base).inserted else { continue }
            for byte in 1...255 {
                let child = base ^ byte
                guard child < units.count, Self.label(units[child]) == UInt32(byte) else { continue }
                let childBase = child ^ Self.offset(units[child])
                if Self.hasLeaf(units[child]) {
                    guard childBase < units.count else {
                        throw Malformed(message: "trie unit \(child) points at unit \(childBase) for its value, past the \(units.count) units")
                    }
                    let start = Self.value(units[childBase])
                    guard start < replacements.count else {
                        throw Malformed(message: "trie unit \(childBase) gives replacement offset \(start), past the \(replacements.count) bytes of replacement strings")
                    }
                    guard replacements[start] & 0xC0 != 0x80 else {
                        throw Malformed(message: "trie unit \(childBase) gives replacement offset \(start), which is inside a character")
                    }
                }
                pending.append(childBase)
            }
        }
    }

    /// The offset of the replacement of the shortest key that `bytes` starts with, or `nil`.
    ///
    /// `spm_precompiled` takes the first of the common-prefix results, which is the shortest.
    func shortestMatch<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Int? {
        var position = Self.offset(units[0])
        for byte in bytes {
            if byte == 0 { return nil }
            position ^= Int(byte)
            guard position < units.count else { return nil }
            let unit = units[position]
            guard Self.label(unit) == UInt32(byte) else { return nil }
            position ^= Self.offset(unit)
            if Self.hasLeaf(unit) {
                guard position < units.count else { return nil }
                return Self.value(units[position])
            }
        }
        return nil
    }

    /// Appends the replacement string at `start` (up to its NUL) to `output`.
    private func appendReplacement(at start: Int, to output: inout [UInt8]) {
        var end = start
        while end < replacements.count, replacements[end] != 0 { end += 1 }
        output.append(contentsOf: replacements[start..<end])
    }

    /// `text` normalized as `tokenizers`' `Precompiled` normalizer does it.
    ///
    /// For each extended grapheme cluster shorter than 6 UTF-8 bytes, the shortest key it starts with
    /// replaces the whole cluster (so `"Ａ\u{301}"` becomes `"A"`: the mark goes with the cluster).
    /// Clusters with no match, or of 6 bytes and more, are mapped one scalar at a time, each scalar by
    /// its own key or kept.
    /// - Parameter text: any string.
    /// - Returns: the normalized string.
    func normalize(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        for character in text {
            let utf8 = character.utf8
            if utf8.count < 6, let start = shortestMatch(utf8) {
                appendReplacement(at: start, to: &output)
                continue
            }
            for scalar in character.unicodeScalars {
                let bytes = Array(String(scalar).utf8)
                if let start = shortestMatch(bytes) {
                    appendReplacement(at: start, to: &output)
                } else {
                    output.append(contentsOf: bytes)
                }
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
