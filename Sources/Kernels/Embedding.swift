// Embedding lookup and its scatter-add backward.
// Shapes: weight (V, C); ids (N) Int32 in 0..<V; out (N, C).

/// out[n] = weight[ids[n]]. An id outside 0..<V is a precondition failure naming it.
public func embeddingForward(
    weight: UnsafePointer<Float>, ids: UnsafePointer<Int32>, out: UnsafeMutablePointer<Float>,
    count N: Int, vocabulary V: Int, channels C: Int
) {
    for n in 0..<N {
        require(ids[n] >= 0 && Int(ids[n]) < V, "embedding: id \(ids[n]) at position \(n) is outside 0..<\(V)")
    }
    ThreadPool.shared.parallelFor(N, minimumChunk: max(1, 16384 / max(C, 1))) { rows in
        for n in rows { (out + n * C).update(from: weight + Int(ids[n]) * C, count: C) }
    }
}

/// Scatter-add backward: dweight[ids[n]] += dout[n]. Split by channel columns, each thread
/// visiting the rows in order, so repeated ids accumulate deterministically.
public func embeddingBackward(
    ids: UnsafePointer<Int32>, dout: UnsafePointer<Float>, dweight: UnsafeMutablePointer<Float>,
    count N: Int, channels C: Int
) {
    ThreadPool.shared.parallelFor(C, minimumChunk: 64) { columns in
        for n in 0..<N {
            let source = dout + n * C, target = dweight + Int(ids[n]) * C
            for j in columns { target[j] += source[j] }
        }
    }
}
