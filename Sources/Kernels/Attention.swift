// Fused self-attention (llm.c's attention_forward/backward, with GEMMs per head): causal for the
// decoders, bidirectional (`causal: false`, every query sees every unmasked key) for the encoders.
//
// Shapes: B batch, T time, C channels, NH heads, HS = C / NH head size.
//   qkv (B, T, 3C): per token [q | k | v], each C wide, head h at columns h·HS ..< (h+1)·HS
//                   (the order of Hugging Face GPT-2's c_attn output).
//   out (B, T, C): heads concatenated.
//   probabilities (B, NH, T, T): softmax rows, saved for the backward pass; zero above the
//                   diagonal and at masked keys.
//   paddingMask (B, T) or nil: 1 = a real token, 0 = padding; padded keys get no attention.
//                   A query with no visible key (a padded position before every real token)
//                   gets output 0 and passes no gradient.
// Scores are scaled by 1/√HS. Rows are processed in blocks of 64; in causal mode keys after a block
// are never multiplied (about half the FLOPs of the full T×T products).

import Foundation

/// Query rows per block in the attention kernels.
let attentionBlock = 64

/// Softmax of one score row over the visible keys 0...last (those with mask ≠ 0), zeroing the rest
/// up to `width`. Returns false when no key is visible (the row is then all zeros).
@inline(__always)
func maskedSoftmaxRow(
    _ row: UnsafeMutablePointer<Float>, last: Int, width: Int, mask: UnsafePointer<Float>?
) -> Bool {
    var m = -Float.infinity
    for j in 0...last where mask == nil || mask![j] != 0 { m = max(m, row[j]) }
    if m == -.infinity {
        (row).update(repeating: 0, count: width)
        return false
    }
    var total: Float = 0
    if let mask {
        for j in 0...last {
            let e = mask[j] != 0 ? Foundation.exp(row[j] - m) : 0
            row[j] = e
            total += e
        }
    } else {
        total = sumExponentials(row, count: last + 1, shift: m, storeInto: row)
    }
    let inverse = 1 / total
    for j in 0...last { row[j] *= inverse }
    if last + 1 < width { (row + last + 1).update(repeating: 0, count: width - last - 1) }
    return true
}

/// Self-attention forward; see the file header for shapes. `out` is overwritten.
///
/// - dropoutMask: (B, NH, T, T) of 0 or 1/(1 − p), applied to the probabilities before they
///   weight the values (attention dropout), or nil. `probabilities` keeps the undropped values.
/// - causal: query i sees keys 0...i (decoders); false: every key (encoders such as BERT).
public func attentionForward(
    qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
    probabilities: UnsafeMutablePointer<Float>, paddingMask: UnsafePointer<Float>?,
    dropoutMask: UnsafePointer<Float>? = nil,
    batch B: Int, time T: Int, channels C: Int, heads NH: Int, causal: Bool = true
) {
    require(NH > 0 && C % NH == 0, "attention: \(C) channels do not split into \(NH) heads")
    let HS = C / NH
    let scale = 1 / Float(HS).squareRoot()
    ThreadPool.shared.parallelFor(B * NH) { items in
        let dropped = dropoutMask == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: attentionBlock * T)
        defer { dropped?.deallocate() }
        for item in items {
            let b = item / NH, h = item % NH
            let q = qkv + b * T * 3 * C + h * HS
            let k = q + C, v = q + 2 * C
            let p = probabilities + item * T * T
            let o = out + b * T * C + h * HS
            let mask = paddingMask.map { $0 + b * T }
            for r0 in stride(from: 0, to: T, by: attentionBlock) {
                let r1 = min(r0 + attentionBlock, T)
                let keys = causal ? r1 : T  // keys any row of this block sees
                gemmSerial(transposeA: false, transposeB: true, M: r1 - r0, N: keys, K: HS, alpha: scale,
                           A: q + r0 * 3 * C, lda: 3 * C, B: k, ldb: 3 * C, beta: 0, C: p + r0 * T, ldc: T)
                for i in r0..<r1 { _ = maskedSoftmaxRow(p + i * T, last: causal ? i : T - 1, width: T, mask: mask) }
                var weights = UnsafePointer(p + r0 * T)
                if let dropped, let keep = dropoutMask.map({ $0 + item * T * T }) {
                    for i in r0..<r1 {
                        for j in 0..<keys { dropped[(i - r0) * T + j] = p[i * T + j] * keep[i * T + j] }
                    }
                    weights = UnsafePointer(dropped)
                }
                gemmSerial(transposeA: false, transposeB: false, M: r1 - r0, N: HS, K: keys, alpha: 1,
                           A: weights, lda: T, B: v, ldb: 3 * C, beta: 0, C: o + r0 * C, ldc: C)
            }
        }
    }
}

/// Self-attention backward (causal or not, as the forward pass was): dqkv += ∂L/∂qkv given
/// dout = ∂L/∂out and the saved probabilities. Per head, with dP = dO·Vᵀ and dS = P ⊙ (dP − rowsum(P ⊙ dP)):
/// dQ = scale·dS·K, dK = scale·dSᵀ·Q, dV = Pᵀ·dO.
/// With a dropout mask M (as in the forward pass): dP = (dO·Vᵀ) ⊙ M and dV = (P ⊙ M)ᵀ·dO.
public func attentionBackward(
    qkv: UnsafePointer<Float>, probabilities: UnsafePointer<Float>, dout: UnsafePointer<Float>,
    dqkv: UnsafeMutablePointer<Float>, dropoutMask: UnsafePointer<Float>? = nil,
    batch B: Int, time T: Int, channels C: Int, heads NH: Int, causal: Bool = true
) {
    let HS = C / NH
    let scale = 1 / Float(HS).squareRoot()
    ThreadPool.shared.parallelFor(B * NH) { items in
        let dS = UnsafeMutablePointer<Float>.allocate(capacity: T * T)
        let dropped = dropoutMask == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: T * T)
        defer { dS.deallocate(); dropped?.deallocate() }
        for item in items {
            let b = item / NH, h = item % NH
            let q = qkv + b * T * 3 * C + h * HS
            let k = q + C, v = q + 2 * C
            let dq = dqkv + b * T * 3 * C + h * HS
            let dk = dq + C, dv = dq + 2 * C
            let p = probabilities + item * T * T
            let dO = dout + b * T * C + h * HS
            let keep = dropoutMask.map { $0 + item * T * T }
            var valueWeights = p  // the probabilities that weighted V in the forward pass
            if let dropped, let keep {
                for index in 0..<(T * T) { dropped[index] = p[index] * keep[index] }
                valueWeights = UnsafePointer(dropped)
            }
            for r0 in stride(from: 0, to: T, by: attentionBlock) {
                let r1 = min(r0 + attentionBlock, T)
                let keys = causal ? r1 : T
                // dP for this block of query rows, over the keys it sees.
                gemmSerial(transposeA: false, transposeB: true, M: r1 - r0, N: keys, K: HS, alpha: 1,
                           A: dO + r0 * C, lda: C, B: v, ldb: 3 * C, beta: 0, C: dS + r0 * T, ldc: T)
                for i in r0..<r1 {
                    let pRow = p + i * T, dRow = dS + i * T
                    let last = causal ? i : T - 1
                    if let keep { for j in 0...last { dRow[j] *= keep[i * T + j] } }
                    var dot: Float = 0
                    for j in 0...last { dot += pRow[j] * dRow[j] }
                    for j in 0...last { dRow[j] = pRow[j] * (dRow[j] - dot) }
                    if last + 1 < T { (dRow + last + 1).update(repeating: 0, count: T - last - 1) }
                }
                gemmSerial(transposeA: false, transposeB: false, M: r1 - r0, N: HS, K: keys, alpha: scale,
                           A: dS + r0 * T, lda: T, B: k, ldb: 3 * C, beta: 1, C: dq + r0 * C * 3, ldc: 3 * C)
            }
            // Key/value rows c0..<c1 receive gradient from query rows c0..<T only (causal) or from
            // every query row.
            for c0 in stride(from: 0, to: T, by: attentionBlock) {
                let c1 = min(c0 + attentionBlock, T)
                let first = causal ? c0 : 0
                gemmSerial(transposeA: true, transposeB: false, M: c1 - c0, N: HS, K: T - first, alpha: scale,
                           A: dS + first * T + c0, lda: T, B: q + first * 3 * C, ldb: 3 * C, beta: 1,
                           C: dk + c0 * 3 * C, ldc: 3 * C)
                gemmSerial(transposeA: true, transposeB: false, M: c1 - c0, N: HS, K: T - first, alpha: 1,
                           A: valueWeights + first * T + c0, lda: T, B: dO + first * C, ldb: C, beta: 1,
                           C: dv + c0 * 3 * C, ldc: 3 * C)
            }
        }
    }
}

/// Incremental-decoding attention with a key/value cache (no gradient).
///
/// - qkv: (B, Tn, 3C) for the Tn new positions, which sit at absolute positions past ..< past+Tn.
/// - keyCache, valueCache: (B, NH, capacity, HS); the new keys and values are written at
///   positions past ..< past+Tn, then every new query attends to positions 0 ... its own.
/// - paddingMask: (B, past+Tn) over all positions so far, or nil.
/// - out: (B, Tn, C).
public func attentionForwardCached(
    qkv: UnsafePointer<Float>, keyCache: UnsafeMutablePointer<Float>, valueCache: UnsafeMutablePointer<Float>,
    capacity: Int, past: Int, paddingMask: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
    batch B: Int, newTokens Tn: Int, channels C: Int, heads NH: Int
) {
    require(past + Tn <= capacity, "attention cache: \(past + Tn) positions exceed its capacity \(capacity)")
    let HS = C / NH
    let L = past + Tn
    let scale = 1 / Float(HS).squareRoot()
    ThreadPool.shared.parallelFor(B * NH) { items in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: Tn * L)
        defer { scores.deallocate() }
        for item in items {
            let b = item / NH, h = item % NH
            let q = qkv + b * Tn * 3 * C + h * HS
            let kc = keyCache + item * capacity * HS, vc = valueCache + item * capacity * HS
            for t in 0..<Tn {
                (kc + (past + t) * HS).update(from: q + t * 3 * C + C, count: HS)
                (vc + (past + t) * HS).update(from: q + t * 3 * C + 2 * C, count: HS)
            }
            gemmSerial(transposeA: false, transposeB: true, M: Tn, N: L, K: HS, alpha: scale,
                       A: q, lda: 3 * C, B: kc, ldb: HS, beta: 0, C: scores, ldc: L)
            let mask = paddingMask.map { $0 + b * L }
            for i in 0..<Tn { _ = maskedSoftmaxRow(scores + i * L, last: past + i, width: L, mask: mask) }
            gemmSerial(transposeA: false, transposeB: false, M: Tn, N: HS, K: L, alpha: 1,
                       A: scores, lda: L, B: vc, ldb: HS, beta: 0, C: out + b * Tn * C + h * HS, ldc: C)
        }
    }
}

/// Naive attention in Double, one query at a time: the reference for `attentionForward`.
public func attentionReference(
    qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, paddingMask: UnsafePointer<Float>?,
    batch B: Int, time T: Int, channels C: Int, heads NH: Int, causal: Bool = true
) {
    let HS = C / NH
    let scale = 1 / Double(HS).squareRoot()
    for b in 0..<B {
        for h in 0..<NH {
            for i in 0..<T {
                var scores = [Double](repeating: -.infinity, count: T)
                for j in 0...(causal ? i : T - 1) where paddingMask == nil || paddingMask![b * T + j] != 0 {
                    var s = 0.0
                    for d in 0..<HS {
                        s += Double(qkv[(b * T + i) * 3 * C + h * HS + d]) * Double(qkv[(b * T + j) * 3 * C + C + h * HS + d])
                    }
                    scores[j] = s * scale
                }
                let m = scores.max()!
                var weights = [Double](repeating: 0, count: T)
                if m > -.infinity {
                    let total = scores.reduce(0) { $0 + Foundation.exp($1 - m) }
                    for j in 0..<T { weights[j] = Foundation.exp(scores[j] - m) / total }
                }
                for d in 0..<HS {
                    var s = 0.0
                    for j in 0..<T { s += weights[j] * Double(qkv[(b * T + j) * 3 * C + 2 * C + h * HS + d]) }
                    out[(b * T + i) * C + h * HS + d] = Float(s)
                }
            }
        }
    }
}
