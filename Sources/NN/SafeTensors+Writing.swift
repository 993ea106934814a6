import Foundation

/// Collects tensors in memory and writes them as one safetensors file.
///
/// Each `add` copies the values once into the writer; `write(to:)` then streams the header and
/// each tensor's bytes to the file, so writing never needs a second copy of the whole file.
/// Tensors are stored in name order (by UTF-8 bytes), both in the header and in the data buffer.
public struct SafeTensorsWriter: Sendable {
    /// String-to-string metadata written under `"__metadata__"` (omitted when empty).
    public var metadata: [String: String] = [:]

    private var tensors: [String: PendingTensor] = [:]

    private struct PendingTensor: Sendable {
        let dtype: SafeTensorsDType
        let shape: [Int]
        let bytes: Data
    }

    /// Creates a writer with no tensors and no metadata.
    public init() {}

    /// Adds an F32 tensor copied from `floats`, whose count must equal the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) throws {
        try insert(name, shape: shape, dtype: .f32, count: floats.count) {
            floats.withMemoryRebound(to: UInt32.self) { Self.littleEndianBytes($0) }
        }
    }

    /// Adds an F32 tensor; `floats.count` must equal the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) throws {
        try floats.withUnsafeBufferPointer { try add(name, shape: shape, floats: $0) }
    }

    /// Adds an I64 tensor; `int64s.count` must equal the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) throws {
        try insert(name, shape: shape, dtype: .i64, count: int64s.count) {
            int64s.withUnsafeBufferPointer { Self.littleEndianBytes($0) }
        }
    }

    /// Adds an I32 tensor; `int32s.count` must equal the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], int32s: [Int32]) throws {
        try insert(name, shape: shape, dtype: .i32, count: int32s.count) {
            int32s.withUnsafeBufferPointer { Self.littleEndianBytes($0) }
        }
    }

    /// Adds an F16 tensor, rounding each Float to the nearest half-precision value (ties to even;
    /// too large becomes infinity, NaN stays NaN).
    public mutating func add(_ name: String, shape: [Int], float16From floats: [Float]) throws {
        try insert(name, shape: shape, dtype: .f16, count: floats.count) {
            floats.map(HalfPrecision.float16(from:)).withUnsafeBufferPointer { Self.littleEndianBytes($0) }
        }
    }

    /// Adds a BF16 tensor, rounding each Float to the nearest bfloat16 value (ties to even;
    /// NaN stays NaN).
    public mutating func add(_ name: String, shape: [Int], bfloat16From floats: [Float]) throws {
        try insert(name, shape: shape, dtype: .bf16, count: floats.count) {
            floats.map(HalfPrecision.bfloat16(from:)).withUnsafeBufferPointer { Self.littleEndianBytes($0) }
        }
    }

    /// Writes the file atomically (temporary file, fsync, rename), replacing any file at `url`.
    /// The header is padded with spaces to a multiple of 8 bytes; I/O failures throw `AtomicFileError`.
    public func write(to url: URL) throws {
        let ordered = tensors.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let header = headerBytes(ordered)
        try AtomicFile.write(to: url) { output in
            try withUnsafeBytes(of: UInt64(header.count).littleEndian) { try output.write($0) }
            try header.withUnsafeBytes { try output.write($0) }
            for (_, tensor) in ordered {
                try output.write(tensor.bytes)
            }
        }
    }

    private mutating func insert(
        _ name: String, shape: [Int], dtype: SafeTensorsDType, count: Int, bytes: () -> Data
    ) throws {
        func fail(_ message: String) -> SafeTensorsError {
            SafeTensorsError(path: "SafeTensorsWriter", message: "tensor '\(name)': \(message)")
        }
        guard name != "__metadata__" else { throw fail("the name \"__metadata__\" is reserved for file metadata") }
        guard tensors[name] == nil else {
            throw fail("a tensor with this name was already added; names must be unique")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("shape \(shape) has a negative dimension") }
        guard let byteCount = dtype.byteCount(shape: shape) else {
            throw fail("the element count of shape \(shape) overflows Int")
        }
        let expected = byteCount / dtype.byteSize
        guard count == expected else {
            throw fail("expected \(expected) values for shape \(shape), got \(count)")
        }
        tensors[name] = PendingTensor(dtype: dtype, shape: shape, bytes: bytes())
    }

    private func headerBytes(_ ordered: [(key: String, value: PendingTensor)]) -> [UInt8] {
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map { Self.jsonQuoted($0.key) + ":" + Self.jsonQuoted($0.value) }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, tensor) in ordered {
            let end = offset + tensor.bytes.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append(Self.jsonQuoted(name) + ":{\"dtype\":\"\(tensor.dtype.rawValue)\","
                + "\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        // Pad with spaces so the data buffer starts 8-byte aligned, as the Rust crate does.
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return bytes
    }

    private static func jsonQuoted(_ string: String) -> String {
        var quoted = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: UnsafeBufferPointer<T>) -> Data {
        #if _endian(little)
        return Data(buffer: values)
        #else
        return Data(values.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } })
        #endif
    }
}

// MARK: - Helpers shared by the reader and the writer

extension SafeTensorsDType {
    /// The number of bytes a tensor of `shape` needs, or nil if that overflows `Int`.
    /// Dimensions must already be known to be non-negative.
    func byteCount(shape: [Int]) -> Int? {
        var count = byteSize
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }
}

/// Bit-level conversions between 32-bit floats and the 16-bit float formats.
enum HalfPrecision {
    /// Widens IEEE half-precision bits to a Float exactly (subnormals, infinities and NaNs included).
    static func float(fromFloat16 bits: UInt16) -> Float {
        let sign: UInt32 = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    /// Widens bfloat16 bits to a Float exactly: they are the upper half of the Float's bits.
    static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Rounds a Float to the nearest IEEE half-precision value, ties to even, returning its bits.
    /// Overflow gives infinity, values below half the smallest subnormal give (signed) zero,
    /// and NaN stays a quiet NaN keeping the top payload bits.
    static func float16(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let biased = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x007F_FFFF
        if biased == 0xFF {
            let payload: UInt16 = mantissa == 0 ? 0 : 0x0200 | UInt16(truncatingIfNeeded: mantissa >> 13)
            return sign | 0x7C00 | payload
        }
        let exponent = biased - 127 + 15
        if exponent >= 0x1F { return sign | 0x7C00 }
        if exponent <= 0 {
            // Subnormal half (or zero): shift the 24-bit significand into 10 bits, rounding.
            if exponent < -10 { return sign }
            mantissa |= 0x0080_0000
            let shift = UInt32(14 - exponent)
            let half = mantissa >> shift
            let remainder = mantissa & ((1 << shift) - 1)
            let midpoint: UInt32 = 1 << (shift - 1)
            let roundUp = remainder > midpoint || (remainder == midpoint && half & 1 == 1)
            return sign | UInt16(truncatingIfNeeded: half + (roundUp ? 1 : 0))
        }
        var half = UInt32(exponent) << 10 | mantissa >> 13
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) {
            half += 1  // May carry into the exponent, up to infinity (0x7C00): both correct.
        }
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// Rounds a Float to the nearest bfloat16 value, ties to even, returning its bits;
    /// NaN stays a quiet NaN.
    static func bfloat16(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }
}
