/// Learns a byte-level BPE vocabulary from a corpus, the way GPT-2's was learned.
///
/// The corpus is cut at every special token (which are never merged into), split into chunks by
/// GPT-2's pattern (`GPT2PreTokenizer`), and each distinct chunk counted. Every chunk starts as one
/// token per byte. Each step merges the adjacent pair that occurs most often (each chunk weighted by
/// its count), in every chunk, left to right without overlap, until `mergeCount` merges are learned
/// or no pair is left.
///
/// Ties are broken as Hugging Face `tokenizers`' `BpeTrainer` breaks them: the pair
/// `(left id, right id)` that is smallest wins, where the 256 byte tokens have ids 0…255 in the
/// order of their byte-level scalars (GPT-2's order: `!` = 0 … `Ń` = 255) and each learned token the
/// next id. With `initial_alphabet=ByteLevel.alphabet()`, a `ByteLevel(add_prefix_space=False)`
/// pre-tokenizer and a corpus without special tokens, `tokenizers` learns the same merges in the same
/// order (it places special tokens first; here they come last, as in GPT-2, so `<|endoftext|>` is
/// `256 + mergeCount`).
///
/// A merge whose result spells an existing token (the bytes `abc` from `ab`+`c` and from `a`+`bc`)
/// reuses that token's id, so the vocabulary can be smaller than `256 + mergeCount`.
public enum BytePairTrainer {
    /// Trains a byte-level BPE tokenizer.
    ///
    /// - Parameters:
    ///   - corpus: the training text.
    ///   - mergeCount: the number of merges to learn (GPT-2: 50000); fewer if the corpus runs out of
    ///     pairs.
    ///   - specialTokens: special tokens, given the ids after the learned tokens in this order.
    /// - Returns: the tokenizer; `save(to:)` writes `vocab.json` + `merges.txt` (and `tokenizer.json`)
    ///   that load back to the same tokenizer.
    public static func train(corpus: String, mergeCount: Int, specialTokens: [String] = ["<|endoftext|>"]) -> ByteLevelBPETokenizer {
        precondition(mergeCount >= 0, "mergeCount must be non-negative")
        var words = countWords(corpus, specialTokens: specialTokens)

        // Byte tokens: id i is the i-th byte in scalar order.
        var tokenBytes: [[UInt8]] = ByteLevelAlphabet.bytesInScalarOrder.map { [$0] }
        var idOfBytes = [[UInt8]: Int32]()
        for (id, bytes) in tokenBytes.enumerated() { idOfBytes[bytes] = Int32(id) }
        var byteId = [Int32](repeating: 0, count: 256)
        for (id, byte) in ByteLevelAlphabet.bytesInScalarOrder.enumerated() { byteId[Int(byte)] = Int32(id) }
        for index in words.indices { words[index].symbols = words[index].symbols.map { byteId[Int($0)] } }

        // Pair counts and, for each pair, the words it may occur in.
        var pairCounts = [UInt64: Int]()
        var pairWords = [UInt64: [Int32]]()
        for (index, word) in words.enumerated() {
            for pair in pairs(of: word.symbols) {
                pairCounts[pair, default: 0] += word.count
                pairWords[pair, default: []].append(Int32(index))
            }
        }
        var queue = PairQueue()
        for (pair, count) in pairCounts where count > 0 { queue.push(count: count, pair: pair) }

        var merges: [MergeRule] = []
        var visited = [Int](repeating: -1, count: words.count)
        while merges.count < mergeCount, let top = queue.pop() {
            let current = pairCounts[top.pair] ?? 0
            if current != top.count {
                if current > 0 { queue.push(count: current, pair: top.pair) }
                continue
            }
            let left = Int32(truncatingIfNeeded: top.pair >> 32)
            let right = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
            let bytes = tokenBytes[Int(left)] + tokenBytes[Int(right)]
            let merged: Int32
            if let existing = idOfBytes[bytes] {
                merged = existing
            } else {
                merged = Int32(tokenBytes.count)
                tokenBytes.append(bytes)
                idOfBytes[bytes] = merged
            }
            merges.append(MergeRule(left: left, right: right, merged: merged))

            // Re-count the pairs of every word the pair occurs in, before and after merging it.
            var increased = Set<UInt64>()
            for wordIndex in pairWords[top.pair] ?? [] where visited[Int(wordIndex)] != merges.count {
                visited[Int(wordIndex)] = merges.count
                let word = words[Int(wordIndex)]
                guard let symbols = merge(word.symbols, left, right, into: merged) else { continue }
                for pair in pairs(of: word.symbols) { pairCounts[pair, default: 0] -= word.count }
                for pair in pairs(of: symbols) {
                    let before = pairCounts[pair, default: 0]
                    pairCounts[pair] = before + word.count
                    // Only pairs with the merged token can gain occurrences; the others keep
                    // their (now possibly too high) queue entries, corrected when popped.
                    if pair >> 32 == UInt64(UInt32(merged)) || pair & 0xFFFF_FFFF == UInt64(UInt32(merged)) {
                        pairWords[pair, default: []].append(wordIndex)
                        increased.insert(pair)
                    }
                }
                words[Int(wordIndex)].symbols = symbols
            }
            pairCounts[top.pair] = 0
            pairWords[top.pair] = nil
            for pair in increased where pair != top.pair {
                let count = pairCounts[pair] ?? 0
                if count > 0 { queue.push(count: count, pair: pair) }
            }
        }

        var tokens: [String?] = tokenBytes.map { ByteLevelAlphabet.string(for: $0) }
        var specials: [String: Int] = [:]
        for text in specialTokens where specials[text] == nil && !text.isEmpty {
            specials[text] = tokens.firstIndex { $0 == text } ?? tokens.count
            if specials[text] == tokens.count { tokens.append(text) }
        }
        do {
            return try ByteLevelBPETokenizer(tokens: tokens, merges: merges, specialTokens: specials, source: "BytePairTrainer")
        } catch {
            preconditionFailure("BytePairTrainer built an invalid vocabulary: \(error)")
        }
    }

    /// A distinct chunk of the corpus: its symbols (bytes, then token ids) and how often it occurs.
    struct Word {
        var symbols: [Int32]
        var count: Int
    }

    /// The distinct chunks of `corpus`, in order of first occurrence, with special tokens cut out.
    static func countWords(_ corpus: String, specialTokens: [String]) -> [Word] {
        let matcher = SpecialTokenMatcher(Dictionary(specialTokens.filter { !$0.isEmpty }.map { ($0, 0) }, uniquingKeysWith: { a, _ in a }))
        var corpus = corpus
        return corpus.withUTF8 { buffer in
            var index = [[UInt8]: Int]()
            var words: [Word] = []
            func count(_ range: Range<Int>) {
                var splitter = GPT2PreTokenizer(bytes: buffer, range: range)
                while let chunk = splitter.next() {
                    let bytes = Array(buffer[chunk])
                    if let existing = index[bytes] {
                        words[existing].count += 1
                    } else {
                        index[bytes] = words.count
                        words.append(Word(symbols: bytes.map { Int32($0) }, count: 1))
                    }
                }
            }
            var start = 0
            while let match = matcher.firstMatch(in: buffer, from: start) {
                count(start..<match.range.lowerBound)
                start = match.range.upperBound
            }
            count(start..<buffer.count)
            return words
        }
    }

    /// The adjacent pairs of `symbols`, packed `left << 32 | right`.
    static func pairs(of symbols: [Int32]) -> [UInt64] {
        guard symbols.count > 1 else { return [] }
        return (0..<(symbols.count - 1)).map { UInt64(UInt32(symbols[$0])) << 32 | UInt64(UInt32(symbols[$0 + 1])) }
    }

    /// `symbols` with every `left right`, left to right without overlap, replaced by `merged`, or
    /// `nil` if the pair does not occur.
    static func merge(_ symbols: [Int32], _ left: Int32, _ right: Int32, into merged: Int32) -> [Int32]? {
        var result: [Int32] = []
        result.reserveCapacity(symbols.count)
        var index = 0
        var found = false
        while index < symbols.count {
            if index + 1 < symbols.count, symbols[index] == left, symbols[index + 1] == right {
                result.append(merged)
                index += 2
                found = true
            } else {
                result.append(symbols[index])
                index += 1
            }
        }
        return found ? result : nil
    }
}

/// A max-heap of `(count, pair)`: the highest count first, and among equal counts the smallest pair.
struct PairQueue {
    private var heap: [(count: Int, pair: UInt64)] = []

    private static func before(_ a: (count: Int, pair: UInt64), _ b: (count: Int, pair: UInt64)) -> Bool {
        a.count != b.count ? a.count > b.count : a.pair < b.pair
    }

    mutating func push(count: Int, pair: UInt64) {
        heap.append((count, pair))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (count: Int, pair: UInt64)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                var best = parent
                for child in [2 * parent + 1, 2 * parent + 2] where child < heap.count && Self.before(heap[child], heap[best]) {
                    best = child
                }
                if best == parent { break }
                heap.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
