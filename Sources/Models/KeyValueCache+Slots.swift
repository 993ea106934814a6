// Slot operations on a key/value cache, for step-level (continuous) batching: each batch row is a
// slot that a request occupies for its lifetime. A request's prompt is prefilled in a cache of its
// own and copied into a free row; rows share one column count, and the padding mask tells which
// columns belong to which row. When the columns run out, `compact` moves every row's live columns
// to the right end and frees the rest.
// Storage per layer: (B, NH, capacity, HS).

import Kernels
import Tensors

extension KeyValueCache {
    /// Copies positions `0..<count` of row `sourceRow` of `source` into row `row` of this cache at
    /// columns `start..<start + count`, in every layer. The column count (``length``) is unchanged.
    /// - Precondition: same layers, heads and head size; `start + count` ≤ ``length``.
    public func copyRow(from source: KeyValueCache, sourceRow: Int, count: Int, into row: Int, at start: Int) {
        require(source.heads == heads && source.headSize == headSize && source.lengths.count == lengths.count,
                "KeyValueCache.copyRow: the caches have different shapes")
        require(row >= 0 && row < batch && sourceRow >= 0 && sourceRow < source.batch, "KeyValueCache.copyRow: row out of range")
        require(count <= source.length && start >= 0 && start + count <= length,
                "KeyValueCache.copyRow: columns \(start)..<\(start + count) outside the \(length) stored")
        for layer in lengths.indices {
            for (target, origin) in [(keys[layer], source.keys[layer]), (values[layer], source.values[layer])] {
                for head in 0..<heads {
                    let from = origin.pointer + ((sourceRow * heads + head) * source.capacity) * headSize
                    let to = target.pointer + ((row * heads + head) * capacity + start) * headSize
                    to.update(from: from, count: count * headSize)
                }
            }
        }
    }

    /// Sets the column count of every layer to `length` (≥ the current one, ≤ capacity). The new
    /// columns hold stale values: the padding mask must hide them.
    public func advance(to length: Int) {
        require(length >= self.length && length <= capacity, "KeyValueCache.advance: \(length) is outside \(self.length)...\(capacity)")
        for layer in lengths.indices { lengths[layer] = length }
    }

    /// Moves each row's live columns, in order, to the right end of a shorter column range and
    /// makes that the new column count.
    /// - Parameter live: per row, the ascending column indices still in use (empty for a free row).
    /// - Returns: the new column count, the largest number of live columns of any row; row b's
    ///   columns now are `newLength - live[b].count ..< newLength`.
    @discardableResult
    public func compact(keeping live: [[Int]]) -> Int {
        require(live.count == batch, "KeyValueCache.compact: \(live.count) rows given, the batch has \(batch)")
        let newLength = live.map(\.count).max() ?? 0
        var scratch = [Float](repeating: 0, count: newLength * headSize)
        for layer in lengths.indices {
            for storage in [keys[layer], values[layer]] {
                for (row, columns) in live.enumerated() where !columns.isEmpty {
                    require(columns.allSatisfy { $0 >= 0 && $0 < length }, "KeyValueCache.compact: a live column is outside the \(length) stored")
                    let offset = newLength - columns.count
                    for head in 0..<heads {
                        let base = storage.pointer + (row * heads + head) * capacity * headSize
                        scratch.withUnsafeMutableBufferPointer { buffer in
                            for (index, column) in columns.enumerated() {
                                (buffer.baseAddress! + index * headSize).update(from: base + column * headSize, count: headSize)
                            }
                            (base + offset * headSize).update(from: buffer.baseAddress!, count: columns.count * headSize)
                        }
                    }
                }
            }
        }
        for layer in lengths.indices { lengths[layer] = newLength }
        return newLength
    }
}
