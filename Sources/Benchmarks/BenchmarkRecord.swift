// Kernel benchmarks for `rlhf bench`: each measures a kernel at GPT-2-small shapes and reports
// its time as a fraction of a roofline measured in the same run — sgemm GFLOPS for GEMM-bound
// kernels, memory-copy bandwidth for memory-bound ones. Nothing here asserts a speed.
//
// Bytes are counted as the minimal traffic of a fused kernel (each input read once, each output
// written once; an accumulated gradient is read and written), the same convention as the copy
// bandwidth (bytes read + bytes written).

import Foundation

/// One benchmark result: a name and JSON-ready fields.
public struct BenchmarkRecord: Sendable {
    /// The benchmark's name (`sgemm`, `attention`, …).
    public let name: String
    /// Field name → number or string, printed as one JSON object.
    public let fields: [(String, BenchmarkValue)]

    /// A record named `name` with `fields` in order.
    public init(name: String, fields: [(String, BenchmarkValue)]) {
        self.name = name
        self.fields = fields
    }

    /// The record as one line of JSON, `name` first.
    public var jsonLine: String {
        let body = ([("bench", BenchmarkValue.text(name))] + fields).map { key, value in
            "\"\(key)\":\(value.json)"
        }
        return "{" + body.joined(separator: ",") + "}"
    }
}

/// A benchmark field value.
public enum BenchmarkValue: Sendable {
    case number(Double)
    case integer(Int)
    case text(String)
    case flag(Bool)

    var json: String {
        switch self {
        case .number(let x): return x.isFinite ? String(format: "%.4g", x) : "null"
        case .integer(let n): return String(n)
        case .flag(let b): return b ? "true" : "false"
        case .text(let s):
            let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: " ")
            return "\"\(escaped)\""
        }
    }
}

/// Shapes and repetition counts for the kernel benchmarks.
public struct BenchmarkShapes: Sendable {
    /// Batch, time, channels, heads, vocabulary (GPT-2 small by default).
    public var batch = 4, time = 256, channels = 768, heads = 12, vocabulary = 50257
    /// Parameters for the AdamW step (GPT-2 small: 124,439,808).
    public var parameters = 124_439_808
    /// sgemm size (n × n × n).
    public var gemmSize = 1024
    /// Bytes for the copy-bandwidth measurement.
    public var copyBytes = 512 << 20
    /// Timed repetitions per measurement (the median is reported).
    public var repetitions = 5

    /// GPT-2 small at B=4, T=256.
    public init() {}

    /// Tiny shapes for a smoke test.
    public static var tiny: BenchmarkShapes {
        var s = BenchmarkShapes()
        s.batch = 2; s.time = 17; s.channels = 24; s.heads = 3; s.vocabulary = 101
        s.parameters = 10_000; s.gemmSize = 32; s.copyBytes = 1 << 16; s.repetitions = 2
        return s
    }
}

/// Runs `body` once to warm up, then `repetitions` times; returns the median seconds.
public func medianSeconds(repetitions: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<max(repetitions, 1) {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.sorted()[times.count / 2]
}

/// A buffer of `count` floats filled with small deterministic values; freed by `free()`.
struct BenchBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int, value: (Int) -> Float = { Float(($0 &* 2654435761) % 1000) / 1000 - 0.5 }) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        for i in 0..<count { pointer[i] = value(i) }
    }
    func free() { pointer.deallocate() }
}
