import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The element type of a tensor stored in a safetensors file, spelled as in the file header.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// 64-bit IEEE 754 binary floating point.
    case f64 = "F64"
    /// 32-bit IEEE 754 binary floating point.
    case f32 = "F32"
    /// 16-bit IEEE 754 binary floating point (half precision).
    case f16 = "F16"
    /// bfloat16: the upper 16 bits of a 32-bit float.
    case bf16 = "BF16"
    /// 64-bit signed integer.
    case i64 = "I64"
    /// 32-bit signed integer.
    case i32 = "I32"
    /// 16-bit signed integer.
    case i16 = "I16"
    /// 8-bit signed integer.
    case i8 = "I8"
    /// 8-bit unsigned integer.
    case u8 = "U8"
    /// Boolean stored as one byte (0 or 1).
    case bool = "BOOL"

    /// The number of bytes one element occupies in the data buffer.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }
}

/// An error reading or writing a safetensors file: which file, what is wrong, and what was expected.
public struct SafeTensorsError: Error, CustomStringConvertible {
    /// The file the error concerns (or `SafeTensorsWriter` for errors raised while adding tensors).
    public let path: String
    /// What is wrong, naming the tensor where one is involved.
    public let message: String

    /// Creates an error for `path` with a human-readable `message`.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// The error as `<path>: <message>`.
    public var description: String { "\(path): \(message)" }
}

/// Where one tensor lives in a safetensors file and how to interpret its bytes.
public struct SafeTensorInfo: Sendable, Equatable {
    /// The tensor's name, the key in the file header.
    public let name: String
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The dimensions, outermost first (row-major); `[]` is a scalar.
    public let shape: [Int]
    /// The tensor's bytes, relative to the start of the data buffer (not the start of the file).
    public let byteRange: Range<Int>

    /// The number of elements: the product of `shape`, 1 for a scalar.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A read-only, memory-mapped safetensors file whose header was validated when it was opened.
///
/// Tensor data is read straight from the mapping, which need not be aligned for the element type.
/// The file must not be truncated by another process while it is open (that raises SIGBUS).
public final class SafeTensorsFile {
    /// The file this instance maps.
    public let url: URL
    /// The string-to-string map stored under `"__metadata__"` (empty if there is none).
    public let metadata: [String: String]
    /// The tensor names, sorted by their UTF-8 bytes.
    public let names: [String]

    private let tensors: [String: SafeTensorInfo]
    private let mapping: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// Maps the file at `url` and validates its header; throws `SafeTensorsError` if anything is wrong.
    public init(contentsOf url: URL) throws {
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.systemError(path, "cannot open the file") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Self.systemError(path, "cannot stat the file") }
        let size = Int(status.st_size)
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(path: path, message: "not a regular file; expected a safetensors file")
        }
        guard size >= 8 else {
            let message = "file is \(size) bytes, shorter than the 8-byte header length prefix"
            throw SafeTensorsError(path: path, message: message)
        }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0),
              pointer != UnsafeMutableRawPointer(bitPattern: -1)
        else { throw Self.systemError(path, "cannot memory-map the file") }
        let base = UnsafeRawPointer(pointer)
        do {
            let header = try Self.parseHeader(base: base, fileSize: size, path: path)
            self.url = url
            self.mapping = base
            self.mappedLength = size
            self.dataStart = header.dataStart
            self.tensors = header.tensors
            self.metadata = header.metadata
            self.names = header.tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        } catch {
            munmap(pointer, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: mapping), mappedLength) }

    /// Returns where the tensor `name` lives and how it is typed; throws if there is no such tensor.
    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let info = tensors[name] else {
            let known = names.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
            let more = names.count > 8 ? ", …" : ""
            throw fail("no tensor named '\(name)'; the file has \(names.count) tensors [\(known)\(more)]")
        }
        return info
    }

    /// Reads an F32, F16, BF16 or F64 tensor as 32-bit floats (F64 is rounded to nearest).
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        return try [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, count in
            try decodeFloats(info, into: buffer)
            count = info.elementCount
        }
    }

    /// Reads an F32, F16, BF16 or F64 tensor as 32-bit floats into `buffer`, whose count must
    /// equal the tensor's element count.
    public func readFloats(_ name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let info = try info(name)
        guard buffer.count == info.elementCount else {
            throw fail("tensor '\(name)' has \(info.elementCount) elements (shape \(info.shape)) "
                + "but the destination buffer holds \(buffer.count)")
        }
        try decodeFloats(info, into: buffer)
    }

    /// Reads an I64 tensor, or an I32 tensor widened to 64 bits.
    public func int64s(_ name: String) throws -> [Int64] {
        let info = try info(name)
        let raw = bytes(of: info)
        switch info.dtype {
        case .i64: return (0..<info.elementCount).map { Self.element(raw, $0, as: Int64.self) }
        case .i32: return (0..<info.elementCount).map { Int64(Self.element(raw, $0, as: Int32.self)) }
        default: throw fail("tensor '\(name)' has dtype \(info.dtype.rawValue); int64s reads I64 and I32 tensors")
        }
    }

    /// Reads an I32 tensor, or an I64 tensor whose values all fit in 32 bits.
    public func int32s(_ name: String) throws -> [Int32] {
        let info = try info(name)
        let raw = bytes(of: info)
        switch info.dtype {
        case .i32: return (0..<info.elementCount).map { Self.element(raw, $0, as: Int32.self) }
        case .i64:
            return try (0..<info.elementCount).map { index in
                let value = Self.element(raw, index, as: Int64.self)
                guard let narrow = Int32(exactly: value) else {
                    throw fail("element \(index) of I64 tensor '\(name)' is \(value), which does not fit in Int32")
                }
                return narrow
            }
        default: throw fail("tensor '\(name)' has dtype \(info.dtype.rawValue); int32s reads I32 and I64 tensors")
        }
    }

    /// Calls `body` with the tensor's raw little-endian bytes, straight from the mapping.
    /// The buffer is valid only during `body` and is not necessarily aligned for the element type.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try body(bytes(of: info(name)))
    }

    private func bytes(of info: SafeTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mapping + dataStart + info.byteRange.lowerBound, count: info.byteRange.count)
    }

    private func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(path: url.path, message: message) }

    /// Loads element `index` of a little-endian buffer that need not be aligned.
    private static func element<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, _ index: Int, as: T.Type) -> T {
        T(littleEndian: raw.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
    }

    private func decodeFloats(_ info: SafeTensorInfo, into output: UnsafeMutableBufferPointer<Float>) throws {
        let raw = bytes(of: info)
        switch info.dtype {
        case .f32:
            #if _endian(little)
            UnsafeMutableRawBufferPointer(output).copyMemory(from: raw)
            #else
            for index in output.indices { output[index] = Float(bitPattern: Self.element(raw, index, as: UInt32.self)) }
            #endif
        case .f16:
            for index in output.indices {
                output[index] = HalfPrecision.float(fromFloat16: Self.element(raw, index, as: UInt16.self))
            }
        case .bf16:
            for index in output.indices {
                output[index] = HalfPrecision.float(fromBFloat16: Self.element(raw, index, as: UInt16.self))
            }
        case .f64:
            for index in output.indices {
                output[index] = Float(Double(bitPattern: Self.element(raw, index, as: UInt64.self)))
            }
        case .i64, .i32, .i16, .i8, .u8, .bool:
            throw fail("tensor '\(info.name)' has integer dtype \(info.dtype.rawValue); "
                + "floats reads F32, F16, BF16 and F64 tensors")
        }
    }

    private static func systemError(_ path: String, _ what: String) -> SafeTensorsError {
        let code = errno
        return SafeTensorsError(path: path, message: "\(what): \(String(cString: strerror(code)))")
    }
}

extension SafeTensorsFile {
    /// The largest header accepted, as in the reference (Rust) implementation.
    static let maximumHeaderLength = 100_000_000

    /// Validates the length prefix and JSON header of a mapped file of `fileSize` (≥ 8) bytes.
    static func parseHeader(base: UnsafeRawPointer, fileSize: Int, path: String)
        throws -> (dataStart: Int, tensors: [String: SafeTensorInfo], metadata: [String: String]) {
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(path: path, message: message) }
        let length = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard length > 0 else { throw fail("header length is 0; expected a JSON object of at least 2 bytes") }
        guard length <= UInt64(maximumHeaderLength) else {
            throw fail("header length \(length) exceeds the limit of \(maximumHeaderLength) bytes")
        }
        guard length <= UInt64(fileSize - 8) else {
            throw fail("header length \(length) is larger than the \(fileSize - 8) bytes after the length prefix "
                + "(truncated file?)")
        }
        let dataStart = 8 + Int(length)
        let dataLength = fileSize - dataStart
        let headerBytes = UnsafeRawBufferPointer(start: base + 8, count: Int(length))
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail("header does not start with '{'; expected a JSON object")
        }
        guard !headerBytes.contains(0), String(bytes: headerBytes, encoding: .utf8) != nil else {
            throw fail("header is not valid UTF-8 or contains a NUL byte; expected UTF-8 JSON")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes: base + 8, count: Int(length)), options: [])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw fail("header is not valid JSON: \(detail)")
        }
        guard let root = json as? [String: Any] else {
            throw fail("header is not a JSON object; expected {\"name\": {\"dtype\": ...}, ...}")
        }
        var tensors: [String: SafeTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in root.sorted(by: { $0.key < $1.key }) {
            if key == "__metadata__" { metadata = try parseMetadata(value, fail); continue }
            tensors[key] = try parseEntry(key, value, dataLength: dataLength, fail)
        }
        try checkTiling(tensors.values, dataLength: dataLength, fail)
        return (dataStart, tensors, metadata)
    }

    private static func parseMetadata(_ value: Any, _ fail: (String) -> SafeTensorsError) throws -> [String: String] {
        if value is NSNull { return [:] }
        guard let object = value as? [String: Any] else {
            throw fail("\"__metadata__\" must be a JSON object mapping strings to strings")
        }
        var metadata: [String: String] = [:]
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            guard let string = item as? String else {
                throw fail("\"__metadata__\" value for key '\(key)' is not a string; "
                    + "metadata must map strings to strings")
            }
            metadata[key] = string
        }
        return metadata
    }

    private static func parseEntry(
        _ name: String, _ value: Any, dataLength: Int, _ fail: (String) -> SafeTensorsError
    ) throws -> SafeTensorInfo {
        func bad(_ message: String) -> SafeTensorsError { fail("tensor '\(name)': \(message)") }
        guard let entry = value as? [String: Any] else {
            throw bad("entry is not a JSON object; expected "
                + "{\"dtype\": ..., \"shape\": [...], \"data_offsets\": [begin, end]}")
        }
        let missing = ["dtype", "shape", "data_offsets"].filter { entry[$0] == nil }
        guard missing.isEmpty, let dtypeValue = entry["dtype"], let shapeValue = entry["shape"],
              let offsetsValue = entry["data_offsets"]
        else { throw bad("entry lacks " + missing.map { "\"\($0)\"" }.joined(separator: " and ")) }
        guard let dtypeName = dtypeValue as? String else { throw bad("\"dtype\" must be a string such as \"F32\"") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw bad("unknown dtype \"\(dtypeName)\"; known dtypes are \(known)")
        }
        guard let dimensions = shapeValue as? [Any], let shape = integers(dimensions) else {
            throw bad("\"shape\" must be an array of non-negative integers")
        }
        if let negative = shape.first(where: { $0 < 0 }) {
            throw bad("shape \(shape) has negative dimension \(negative); dimensions must be non-negative")
        }
        guard let pair = offsetsValue as? [Any], pair.count == 2, let offsets = integers(pair), offsets[0] >= 0 else {
            throw bad("\"data_offsets\" must be two non-negative integers [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw bad("data_offsets begin \(begin) is greater than end \(end)") }
        guard end <= dataLength else {
            throw bad("data_offsets end \(end) is beyond the end of the \(dataLength)-byte data buffer")
        }
        guard let byteCount = dtype.byteCount(shape: shape) else {
            throw bad("the element count of shape \(shape) overflows Int")
        }
        guard byteCount == end - begin else {
            throw bad("shape \(shape) of \(dtype.rawValue) needs \(byteCount) bytes "
                + "but data_offsets [\(begin), \(end)] span \(end - begin) bytes")
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// Checks the reference implementation's layout rule: sorted by begin offset, the ranges tile
    /// the data buffer exactly, from 0 to its end, without holes or overlaps.
    private static func checkTiling(
        _ tensors: some Collection<SafeTensorInfo>, dataLength: Int, _ fail: (String) -> SafeTensorsError
    ) throws {
        let ordered = tensors.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name)
                < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        var position = 0
        var previous: SafeTensorInfo?
        for info in ordered {
            let begin = info.byteRange.lowerBound
            if begin < position, let previous {
                throw fail("tensors '\(previous.name)' (data_offsets [\(previous.byteRange.lowerBound), "
                    + "\(previous.byteRange.upperBound)]) and '\(info.name)' (data_offsets [\(begin), "
                    + "\(info.byteRange.upperBound)]) overlap; each data byte must belong to exactly one tensor")
            }
            if begin > position {
                throw fail("hole in the data buffer: bytes [\(position), \(begin)) before tensor '\(info.name)' "
                    + "belong to no tensor; data_offsets must tile the buffer from 0 without gaps")
            }
            position = info.byteRange.upperBound
            previous = info
        }
        if position != dataLength {
            let after = previous.map { " after tensor '\($0.name)'" } ?? ""
            throw fail("hole in the data buffer: its last \(dataLength - position) bytes "
                + "(from offset \(position)\(after)) belong to no tensor; "
                + "the data buffer must end where the last tensor ends")
        }
    }

    /// Converts JSON numbers to `Int`, rejecting floats (even `2.0`), Booleans and out-of-range values.
    /// JSONSerialization gives JSON integers an integer type code, floats "d" and true/false "c".
    private static func integers(_ values: [Any]) -> [Int]? {
        let integers = values.compactMap { value -> Int? in
            guard let number = value as? NSNumber,
                  "silqSILQ".utf8.contains(UInt8(truncatingIfNeeded: number.objCType.pointee)) else { return nil }
            return Int(exactly: number)
        }
        return integers.count == values.count ? integers : nil
    }
}

// SafeTensorsFile never mutates after init and only reads its private read-only mapping.
extension SafeTensorsFile: @unchecked Sendable {}
