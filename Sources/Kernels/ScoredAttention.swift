// Multi-head attention with separate query, key and value buffers laid out by strides, an additive
// score bias, and an optional causal window: the attention of T5 (unscaled scores plus a learned
// relative-position bias; self-attention and cross-attention over the encoder's states; decoding
// through a key/value cache). The packed self-attention of GPT-2 and BERT is Attention.swift.
//
// Shapes: B batch, NH heads, HS head size, Tq queries, Tk keys.
//   query (per layout): B × NH × Tq rows of HS contiguous floats; key, value: B × NH × Tk rows.
//   out: B × NH × Tq rows of HS, in its own layout.
//   bias: (NH, Tq, Tk) shared by the batch (biasBatchStride 0) or (B, NH, Tq, Tk); added to the
//         scaled scores before the softmax.
//   keyMask (B, Tk): 1 = a real key, 0 = padding; padded keys get no attention. A query with no
//         visible key outputs zeros and passes no gradient.
//   probabilities (B, NH, Tq, Tk): softmax rows, saved for the backward pass.
// scores = scale · q·kᵀ + bias; with a causal offset o, query i sees keys 0 ... i + o.

import Foundation

/// Where one head's rows of one batch item lie in a buffer: element d of row i of head h of batch
/// item b is at b·batch + h·head + i·row + d (a row's HS elements are contiguous).
public struct HeadLayout: Sendable, Equatable {
    /// Strides between batch items, heads and rows.
    public var batch: Int, head: Int, row: Int

    /// A layout from its strides.
    public init(batch: Int, head: Int, row: Int) {
        (self.batch, self.head, self.row) = (batch, head, row)
    }

    /// (B, T, width) with the heads side by side along the channels (HF's projections' output):
    /// head h of a token at columns h·HS ..< (h+1)·HS.
    public static func interleaved(time T: Int, width: Int, headSize HS: Int) -> HeadLayout {
        HeadLayout(batch: T * width, head: HS, row: width)
    }

    /// (B, NH, capacity, HS): a key/value cache's.
    public static func headMajor(heads NH: Int, capacity: Int, headSize HS: Int) -> HeadLayout {
        HeadLayout(batch: NH * capacity * HS, head: capacity * HS, row: HS)
    }
}

/// The sizes of one scored-attention call.
public struct ScoredAttentionShape: Sendable, Equatable {
    /// B, NH, HS, Tq, Tk.
    public var batch: Int, heads: Int, headSize: Int, queries: Int, keys: Int
    /// Multiplies q·kᵀ (1/√HS in most models; 1 in T5).
    public var scale: Float
    /// nil: every query sees every key; o: query i sees keys 0 ... i + o (o = Tk − Tq when the
    /// queries are the last Tq positions of a causal sequence).
    public var causalOffset: Int?

    /// A shape.
    public init(batch: Int, heads: Int, headSize: Int, queries: Int, keys: Int, scale: Float, causalOffset: Int?) {
        (self.batch, self.heads, self.headSize, self.queries, self.keys) = (batch, heads, headSize, queries, keys)
        (self.scale, self.causalOffset) = (scale, causalOffset)
    }

    /// The last key query i sees (−1: none).
    @inline(__always) func lastKey(_ i: Int) -> Int { causalOffset.map { min(i + $0, keys - 1) } ?? keys - 1 }
}

/// Scored attention forward; see the file header. `out` is overwritten.
///
/// - probabilities: where to keep the (B, NH, Tq, Tk) softmax rows for the backward pass, or nil
///   (decoding: a scratch row block per head).
/// - dropoutMask: (B, NH, Tq, Tk) of 0 or 1/(1 − p) applied to the probabilities before they weight
///   the values, or nil; `probabilities` keeps the undropped values.
public func scoredAttentionForward(
    query: UnsafePointer<Float>, _ queryLayout: HeadLayout, key: UnsafePointer<Float>, _ keyLayout: HeadLayout,
    value: UnsafePointer<Float>, _ valueLayout: HeadLayout, out: UnsafeMutablePointer<Float>, _ outLayout: HeadLayout,
    probabilities: UnsafeMutablePointer<Float>?, bias: UnsafePointer<Float>?, biasBatchStride: Int,
    keyMask: UnsafePointer<Float>?, dropoutMask: UnsafePointer<Float>?, shape: ScoredAttentionShape
) {
    let (B, NH, HS, Tq, Tk) = (shape.batch, shape.heads, shape.headSize, shape.queries, shape.keys)
    if Tq == 0 || B == 0 { return }
    ThreadPool.shared.parallelFor(B * NH) { items in
        let scratch = probabilities == nil ? UnsafeMutablePointer<Float>.allocate(capacity: Tq * Tk) : nil
        let dropped = dropoutMask == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: Tq * Tk)
        defer { scratch?.deallocate(); dropped?.deallocate() }
        for item in items {
            let b = item / NH, h = item % NH
            let p = probabilities.map { $0 + item * Tq * Tk } ?? scratch!
            gemmSerial(transposeA: false, transposeB: true, M: Tq, N: Tk, K: HS, alpha: shape.scale,
                       A: query + b * queryLayout.batch + h * queryLayout.head, lda: queryLayout.row,
                       B: key + b * keyLayout.batch + h * keyLayout.head, ldb: keyLayout.row, beta: 0, C: p, ldc: Tk)
            if let bias {
                let row = bias + b * biasBatchStride + h * Tq * Tk
                for index in 0..<(Tq * Tk) { p[index] += row[index] }
            }
            let mask = keyMask.map { $0 + b * Tk }
            for i in 0..<Tq {
                let last = shape.lastKey(i)
                if last < 0 { (p + i * Tk).update(repeating: 0, count: Tk); continue }
                _ = maskedSoftmaxRow(p + i * Tk, last: last, width: Tk, mask: mask)
            }
            var weights = UnsafePointer(p)
            if let dropped, let keep = dropoutMask.map({ $0 + item * Tq * Tk }) {
                for index in 0..<(Tq * Tk) { dropped[index] = p[index] * keep[index] }
                weights = UnsafePointer(dropped)
            }
            gemmSerial(transposeA: false, transposeB: false, M: Tq, N: HS, K: Tk, alpha: 1, A: weights, lda: Tk,
                       B: value + b * valueLayout.batch + h * valueLayout.head, ldb: valueLayout.row, beta: 0,
                       C: out + b * outLayout.batch + h * outLayout.head, ldc: outLayout.row)
        }
    }
}

/// Scored attention backward: accumulates into each gradient that is not nil (each in its input's
/// layout; dBias in the bias's). Per head, with dP = dO·Vᵀ (⊙ the dropout mask) and
/// dS = P ⊙ (dP − rowsum(P ⊙ dP)): dQ = scale·dS·K, dK = scale·dSᵀ·Q, dV = (P ⊙ mask)ᵀ·dO,
/// dBias = dS (summed over the batch when the bias is shared).
public func scoredAttentionBackward(
    query: UnsafePointer<Float>, _ queryLayout: HeadLayout, key: UnsafePointer<Float>, _ keyLayout: HeadLayout,
    value: UnsafePointer<Float>, _ valueLayout: HeadLayout, probabilities: UnsafePointer<Float>,
    dout: UnsafePointer<Float>, _ outLayout: HeadLayout,
    dQuery: UnsafeMutablePointer<Float>?, dKey: UnsafeMutablePointer<Float>?, dValue: UnsafeMutablePointer<Float>?,
    dBias: UnsafeMutablePointer<Float>?, biasBatchStride: Int, dropoutMask: UnsafePointer<Float>?, shape: ScoredAttentionShape
) {
    let (B, NH, HS, Tq, Tk) = (shape.batch, shape.heads, shape.headSize, shape.queries, shape.keys)
    if Tq == 0 || B == 0 { return }
    // A bias shared by the batch gathers every item's dS: one head per task, its items in order.
    let sharedBias = dBias != nil && biasBatchStride == 0
    ThreadPool.shared.parallelFor(sharedBias ? NH : B * NH) { tasks in
        let dS = UnsafeMutablePointer<Float>.allocate(capacity: Tq * Tk)
        let dropped = dropoutMask == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: Tq * Tk)
        defer { dS.deallocate(); dropped?.deallocate() }
        for task in tasks {
            for item in sharedBias ? (0..<B).map({ $0 * NH + task }) : [task] {
                let b = item / NH, h = item % NH
                let q = query + b * queryLayout.batch + h * queryLayout.head
                let k = key + b * keyLayout.batch + h * keyLayout.head
                let v = value + b * valueLayout.batch + h * valueLayout.head
                let dO = dout + b * outLayout.batch + h * outLayout.head
                let p = probabilities + item * Tq * Tk
                let keep = dropoutMask.map { $0 + item * Tq * Tk }
                var valueWeights = p
                if let dropped, let keep {
                    for index in 0..<(Tq * Tk) { dropped[index] = p[index] * keep[index] }
                    valueWeights = UnsafePointer(dropped)
                }
                if let dValue {
                    gemmSerial(transposeA: true, transposeB: false, M: Tk, N: HS, K: Tq, alpha: 1, A: valueWeights, lda: Tk,
                               B: dO, ldb: outLayout.row, beta: 1,
                               C: dValue + b * valueLayout.batch + h * valueLayout.head, ldc: valueLayout.row)
                }
                gemmSerial(transposeA: false, transposeB: true, M: Tq, N: Tk, K: HS, alpha: 1, A: dO, lda: outLayout.row,
                           B: v, ldb: valueLayout.row, beta: 0, C: dS, ldc: Tk)
                for i in 0..<Tq {
                    let pRow = p + i * Tk, dRow = dS + i * Tk
                    if let keep { for j in 0..<Tk { dRow[j] *= keep[i * Tk + j] } }
                    var dot: Float = 0
                    for j in 0..<Tk { dot += pRow[j] * dRow[j] }
                    for j in 0..<Tk { dRow[j] = pRow[j] * (dRow[j] - dot) }
                }
                if let dBias {
                    let row = dBias + b * biasBatchStride + h * Tq * Tk
                    for index in 0..<(Tq * Tk) { row[index] += dS[index] }
                }
                if let dQuery {
                    gemmSerial(transposeA: false, transposeB: false, M: Tq, N: HS, K: Tk, alpha: shape.scale, A: dS, lda: Tk,
                               B: k, ldb: keyLayout.row, beta: 1,
                               C: dQuery + b * queryLayout.batch + h * queryLayout.head, ldc: queryLayout.row)
                }
                if let dKey {
                    gemmSerial(transposeA: true, transposeB: false, M: Tk, N: HS, K: Tq, alpha: shape.scale, A: dS, lda: Tk,
                               B: q, ldb: queryLayout.row, beta: 1,
                               C: dKey + b * keyLayout.batch + h * keyLayout.head, ldc: keyLayout.row)
                }
            }
        }
    }
}

/// Naive scored attention in Double, one query at a time: the reference for
/// `scoredAttentionForward` (arguments as it; no dropout).
public func scoredAttentionReference(
    query: UnsafePointer<Float>, _ queryLayout: HeadLayout, key: UnsafePointer<Float>, _ keyLayout: HeadLayout,
    value: UnsafePointer<Float>, _ valueLayout: HeadLayout, out: UnsafeMutablePointer<Float>, _ outLayout: HeadLayout,
    bias: UnsafePointer<Float>?, biasBatchStride: Int, keyMask: UnsafePointer<Float>?, shape: ScoredAttentionShape
) {
    let (B, NH, HS, Tq, Tk) = (shape.batch, shape.heads, shape.headSize, shape.queries, shape.keys)
    for b in 0..<B {
        for h in 0..<NH {
            for i in 0..<Tq {
                var scores = [Double](repeating: -.infinity, count: Tk)
                let last = shape.lastKey(i)
                if last >= 0 {
                    for j in 0...last where keyMask == nil || keyMask![b * Tk + j] != 0 {
                        var s = 0.0
                        for d in 0..<HS {
                            s += Double(query[b * queryLayout.batch + h * queryLayout.head + i * queryLayout.row + d])
                                * Double(key[b * keyLayout.batch + h * keyLayout.head + j * keyLayout.row + d])
                        }
                        scores[j] = s * Double(shape.scale) + (bias.map { Double($0[b * biasBatchStride + (h * Tq + i) * Tk + j]) } ?? 0)
                    }
                }
                let m = scores.max() ?? -.infinity
                var weights = [Double](repeating: 0, count: Tk)
                if m > -.infinity {
                    let total = scores.reduce(0) { $0 + Foundation.exp($1 - m) }
                    for j in 0..<Tk { weights[j] = Foundation.exp(scores[j] - m) / total }
                }
                for d in 0..<HS {
                    var s = 0.0
                    for j in 0..<Tk { s += weights[j] * Double(value[b * valueLayout.batch + h * valueLayout.head + j * valueLayout.row + d]) }
                    out[b * outLayout.batch + h * outLayout.head + i * outLayout.row + d] = Float(s)
                }
            }
        }
    }
}
