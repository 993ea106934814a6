// The key/value cache of incremental decoding: per layer, the keys and values of the positions
// already seen, so that each new token attends to them without recomputing them. The attention
// itself is the Kernels op `attentionForwardCached`, called on the cache's raw buffers.
// Storage per layer: (B, NH, capacity, HS).

import Kernels
import Tensors

/// Keys and values of past positions for incremental decoding, one pair of buffers per layer,
/// each (B, NH, capacity, HS).
public final class KeyValueCache {
    /// Batch size, heads, head size and maximum positions.
    public let batch: Int, heads: Int, headSize: Int, capacity: Int
    /// Per layer: how many positions are stored.
    public internal(set) var lengths: [Int]
    let keys: [TensorStorage]
    let values: [TensorStorage]

    /// Allocates empty caches for `layers` layers.
    public init(layers: Int, batch: Int, heads: Int, headSize: Int, capacity: Int) {
        self.batch = batch
        self.heads = heads
        self.headSize = headSize
        self.capacity = capacity
        lengths = Array(repeating: 0, count: layers)
        keys = (0..<layers).map { _ in TensorStorage(count: batch * heads * capacity * headSize) }
        values = (0..<layers).map { _ in TensorStorage(count: batch * heads * capacity * headSize) }
    }

    /// Positions stored in layer 0 (the sequence length so far).
    public var length: Int { lengths.first ?? 0 }

    /// Forgets every stored position.
    public func reset() { for i in lengths.indices { lengths[i] = 0 } }

    /// Attention for `qkv` (B, Tn, 3C) at positions length ..< length+Tn of `layer`, appending its
    /// keys and values. Never recorded for gradients.
    ///
    /// `qkv` may have fewer rows than the cache: its B rows use the cache's first B rows (the
    /// storage is row-major, so they form a smaller cache of their own), which lets a batching
    /// engine keep its active requests in the leading rows and run only those.
    ///
    /// - paddingMask: (B, length + Tn) over every position so far, or nil.
    /// - Returns: (B, Tn, C).
    public func attention(_ qkv: Tensor, layer: Int, paddingMask: Tensor? = nil) -> Tensor {
        require(qkv.rank == 3 && qkv.shape[0] <= batch && qkv.shape[2] == 3 * heads * headSize,
                     "KeyValueCache.attention: qkv \(qkv.shape), expected (B ≤ \(batch), T, \(3 * heads * headSize))")
        let rows = qkv.shape[0], Tn = qkv.shape[1], past = lengths[layer]
        require(past + Tn <= capacity, "KeyValueCache: \(past + Tn) positions exceed the capacity \(capacity)")
        if let paddingMask { require(paddingMask.shape == [rows, past + Tn], "KeyValueCache.attention: padding mask \(paddingMask.shape), expected [\(rows), \(past + Tn)]") }
        let C = heads * headSize
        let out = Tensor(zeros: [rows, Tn, C])
        attentionForwardCached(qkv: qkv.data, keyCache: keys[layer].pointer, valueCache: values[layer].pointer,
                               capacity: capacity, past: past, paddingMask: paddingMask?.data, out: out.data,
                               batch: rows, newTokens: Tn, channels: C, heads: heads)
        lengths[layer] = past + Tn
        return out
    }
}
