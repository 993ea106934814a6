// The key/value cache against full causal attention: decoding through it a chunk, then a token at
// a time, gives what attending over the whole sequence at once gives.

import Models
import Tensors
import Testing

@Suite("Key/value cache")
struct KeyValueCacheTests {
    @Test("a prompt chunk then one token at a time equals full causal attention, per layer")
    func incremental() {
        let (B, T, C, NH) = (2, 9, 8, 2)
        var generator = RandomGenerator(seed: 50)
        let qkv = Tensor(uniformShape: [B, T, 3 * C], low: -1, high: 1, generator: &generator)
        let mask = Tensor(shape: [B, T], values: [0, 0, 1, 1, 1, 1, 1, 1, 1] + Array(repeating: 1, count: T))
        let full = causalSelfAttention(qkv, heads: NH, paddingMask: mask)
        let cache = KeyValueCache(layers: 2, batch: B, heads: NH, headSize: C / NH, capacity: T)
        var pieces: [Tensor] = []
        var position = 0
        for length in [4, 1, 1, 1, 1, 1] {
            let chunk = qkv.slice(axis: 1, position..<(position + length))
            let visible = mask.slice(axis: 1, 0..<(position + length))
            pieces.append(cache.attention(chunk, layer: 0, paddingMask: visible))
            _ = cache.attention(chunk, layer: 1, paddingMask: visible)  // a second layer advances on its own
            position += length
        }
        #expect(cache.length == T && cache.lengths == [T, T])
        let incremental = concat(pieces, axis: 1)
        for (a, b) in zip(incremental.scalars, full.scalars) { #expect(abs(a - b) < 1e-5) }
        cache.reset()
        #expect(cache.length == 0)
    }
}
