// Test helpers: seeded buffers and closeness checks.

import Testing

/// `count` floats in [low, high) from a seeded linear congruential generator.
func values(_ count: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return low + (high - low) * Float(state >> 40) / Float(1 << 24)
    }
}

/// The largest |a − b| / (atol + rtol·|b|) over the elements; ≤ 1 means close.
func closeness(_ a: [Float], _ b: [Float], absolute: Float = 1e-5, relative: Float = 1e-4) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for i in a.indices {
        if a[i].isNaN != b[i].isNaN { return .infinity }
        if a[i] == b[i] { continue }
        worst = max(worst, abs(a[i] - b[i]) / (absolute + relative * abs(b[i])))
    }
    return worst
}
