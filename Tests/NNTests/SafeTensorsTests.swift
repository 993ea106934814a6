import Foundation
import NN
import Testing

/// Tests of `SafeTensorsFile`, `SafeTensorsWriter` and `AtomicFile`, with helpers nested so their names stay local.
enum SafeTensorsTests {
    // MARK: Helpers
    /// A fresh temporary directory, removed when the owner goes away.
    final class Scratch {
        let directory: URL
        init() throws {
            directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: directory) }
        func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
        /// Writes `bytes` to a file and opens it as safetensors.
        func load(_ bytes: [UInt8]) throws -> SafeTensorsFile {
            try Data(bytes).write(to: url("test.safetensors"))
            return try SafeTensorsFile(contentsOf: url("test.safetensors"))
        }
        /// Writes the tensors `build` adds and opens the result.
        func roundTrip(_ build: (inout SafeTensorsWriter) throws -> Void) throws -> SafeTensorsFile {
            var writer = SafeTensorsWriter()
            try build(&writer)
            try writer.write(to: url("model.safetensors"))
            return try SafeTensorsFile(contentsOf: url("model.safetensors"))
        }
    }

    /// Assembles a file by hand: little-endian u64 header length, header bytes, data bytes.
    static func assemble(_ header: String, _ data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        return withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian, Array.init) + json + data
    }

    static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    }

    /// Asserts that `body` throws a `SafeTensorsError` whose message contains `phrase`.
    static func expectError<R>(
        _ phrase: String, at location: SourceLocation = #_sourceLocation, _ body: () throws -> R
    ) {
        do {
            _ = try body()
            Issue.record("expected an error containing \"\(phrase)\"", sourceLocation: location)
        } catch let error as SafeTensorsError {
            #expect(error.message.contains(phrase), "\(error)", sourceLocation: location)
            #expect(error.description == "\(error.path): \(error.message)", sourceLocation: location)
        } catch {
            Issue.record("expected SafeTensorsError, got \(error)", sourceLocation: location)
        }
    }

    /// Deterministic SplitMix64, so random trials are reproducible.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            let z = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9, w = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return w ^ (w >> 31)
        }
    }

    /// Reads a 16-bit tensor's stored bit patterns.
    static func storedBits(_ file: SafeTensorsFile, _ name: String) throws -> [UInt16] {
        try file.withRawBytes(name) { raw in
            (0..<raw.count / 2).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        }
    }

    // MARK: Round trips and real-format fixtures
    @Suite("SafeTensors round trips")
    struct RoundTrips {
        private let scratch: Scratch
        init() throws { scratch = try Scratch() }

        @Test func float32AndIntegers() throws {
            let values: [Float] = [0, 1, -2.5, .pi, 1e-30, -.greatestFiniteMagnitude]
            let file = try scratch.roundTrip { writer in
                try writer.add("weight", shape: [2, 3], floats: values)
                try writer.add("ids", shape: [3], int64s: [.min, 0, .max])
                try writer.add("small", shape: [2], int64s: [-7, 1 << 31 - 1])
                try writer.add("mask", shape: [2, 2], int32s: [.min, -1, 7, .max])
            }
            #expect(file.names == ["ids", "mask", "small", "weight"])
            #expect(try file.floats("weight") == values)
            let info = try file.info("weight")
            #expect(info.name == "weight" && info.shape == [2, 3] && info.dtype == .f32 && info.elementCount == 6)
            #expect(try file.int64s("ids") == [.min, 0, .max] && file.int32s("small") == [-7, .max])
            #expect(try file.int32s("mask") == [.min, -1, 7, .max])
            #expect(try file.int64s("mask") == [Int64(Int32.min), -1, 7, Int64(Int32.max)])
            expectError("element 0 of I64 tensor 'ids' is \(Int64.min), which does not fit") { try file.int32s("ids") }
            expectError("integer dtype I64") { try file.floats("ids") }
            expectError("int64s reads I64 and I32") { try file.int64s("weight") }
            expectError("int32s reads I32 and I64") { try file.int32s("weight") }
            expectError("no tensor named 'missing'; the file has 4 tensors ['ids', 'mask'") { try file.info("missing") }
            var buffer = [Float](repeating: 0, count: 6)
            try buffer.withUnsafeMutableBufferPointer { try file.readFloats("weight", into: $0) }
            #expect(buffer == values)
            var short = [Float](repeating: 0, count: 5)
            expectError("has 6 elements (shape [2, 3]) but the destination buffer holds 5") {
                try short.withUnsafeMutableBufferPointer { try file.readFloats("weight", into: $0) }
            }
        }

        @Test func layoutIsSortedPaddedAndHoleFree() throws {
            let big = (0..<100_000).map { Float($0) * 0.5 }
            let file = try big.withUnsafeBufferPointer { buffer in
                try scratch.roundTrip { writer in
                    try writer.add("z.big", shape: [1000, 100], floats: buffer)
                    try writer.add("a", shape: [3], float16From: [1, 2, 3])
                    try writer.add("m", shape: [1], int64s: [9])
                }
            }
            #expect(try file.floats("z.big") == big)
            let bytes = try [UInt8](Data(contentsOf: file.url))
            let headerLength = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            #expect(headerLength % 8 == 0 && bytes[8] == UInt8(ascii: "{") && bytes[7 + headerLength] == 0x20)
            let infos = try file.names.map(file.info)
            #expect(infos.map(\.byteRange) == [0..<6, 6..<14, 14..<400_014] && bytes.count == headerLength + 400_022)
            let empty = try scratch.roundTrip { _ in }
            #expect(empty.names.isEmpty && empty.metadata.isEmpty)
            #expect(try Data(contentsOf: empty.url) == Data(assemble("{}      ")))
        }

        @Test func sixteenBitFormatsRoundToNearestEven() throws {
            // F16: 1 + 2⁻¹¹ and 2⁻²⁵ are ties rounding down to even, 1 + 3·2⁻¹¹ and 65520 ties rounding up.
            let halfInputs: [Float] = [1, -2.5, 65504, 0x1p-24, 0x3FFp-24, 0, -0.0, .infinity, -.infinity,
                                       1e-10, 70000, 65520, 1 + 0x1p-11, 1 + 3 * 0x1p-11, 0x1p-25, 0x1.8p-25, 0x1p-14]
            let halfBits: [UInt16] = [0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0000, 0x8000, 0x7C00, 0xFC00,
                                      0x0000, 0x7C00, 0x7C00, 0x3C00, 0x3C02, 0x0000, 0x0001, 0x0400]
            let halfValues: [Float] = [1, -2.5, 65504, 0x1p-24, 0x3FFp-24, 0, -0.0, .infinity, -.infinity,
                                       0, .infinity, .infinity, 1, 1 + 0x1p-9, 0, 0x1p-24, 0x1p-14]
            // BF16: 1 + 2⁻⁸ is a tie (down to even), 1 + 3·2⁻⁸ a tie (up); 2⁻¹³⁰ is a Float subnormal.
            let brainInputs: [Float] = [1, -2.5, 1 + 0x1p-8, 1 + 3 * 0x1p-8, .greatestFiniteMagnitude, 0x1p-130, -0.0]
            let brainBits: [UInt16] = [0x3F80, 0xC020, 0x3F80, 0x3F82, 0x7F80, 0x0008, 0x8000]
            let file = try scratch.roundTrip { writer in
                try writer.add("h", shape: [halfInputs.count], float16From: halfInputs)
                try writer.add("b", shape: [7], bfloat16From: brainInputs)
                try writer.add("nan.h", shape: [1], float16From: [.nan])
                try writer.add("nan.b", shape: [], bfloat16From: [.nan])
            }
            #expect(try file.info("h").dtype == .f16 && file.info("b").dtype == .bf16)
            #expect(try storedBits(file, "h") == halfBits && storedBits(file, "b") == brainBits)
            #expect(try file.floats("h").map(\.bitPattern) == halfValues.map(\.bitPattern))
            #expect(try file.floats("b") == [1, -2.5, 1, 1 + 0x1p-6, .infinity, 0x1p-130, 0])
            #expect(try file.floats("nan.h")[0].isNaN && file.floats("nan.b")[0].isNaN)
        }

        #if !(os(macOS) && arch(x86_64))  // Swift's Float16 is unavailable on Intel Macs.
        @Test func float16AgreesWithSwiftFloat16() throws {
            // Decoding: all 65536 bit patterns, from a hand-assembled file (misaligned data).
            let header = #"{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}"#
            let patterns = Array(0...UInt16.max)
            let decoded = try scratch.load(assemble(header, littleEndian(patterns))).floats("h")
            let decodeMismatches = patterns.filter { bits in
                let reference = Float(Float16(bitPattern: bits)), value = decoded[Int(bits)]
                return reference.isNaN ? !value.isNaN : value.bitPattern != reference.bitPattern
            }
            #expect(decodeMismatches.isEmpty)
            // Encoding: every finite half, the midpoints to its neighbour ±1 ulp, and random floats.
            var samples = (UInt16(0)..<0x7C00).flatMap { bits -> [Float] in
                let low = Float(Float16(bitPattern: bits)), middle = (low + Float(Float16(bitPattern: bits + 1))) / 2
                return [low, -middle, middle, middle.nextUp, middle.nextDown]
            }
            var generator = SplitMix64(state: 16)
            samples += (0..<20_000).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator)) }
            let file = try scratch.roundTrip { try $0.add("h", shape: [samples.count], float16From: samples) }
            let bits = try storedBits(file, "h")
            let encodeMismatches = samples.indices.filter { index in
                let reference = Float16(samples[index])
                return reference.isNaN ? !Float16(bitPattern: bits[index]).isNaN : bits[index] != reference.bitPattern
            }
            #expect(encodeMismatches.isEmpty, "first: \(encodeMismatches.prefix(5).map { samples[$0] })")
        }
        #endif

        @Test func metadataScalarsAndEmptyTensors() throws {
            let metadata = ["format": "pt", "": "empty key", "note": "quote \" backslash \\ \n\t\u{7} ünï 🚀"]
            let file = try scratch.roundTrip { writer in
                writer.metadata = metadata
                try writer.add("scalar", shape: [], floats: [42])
                try writer.add("empty", shape: [0, 3], floats: [])
                try writer.add("empty.ids", shape: [4, 0], int64s: [])
                try writer.add("名前 \"q\"\n", shape: [1], int32s: [5])
            }
            #expect(file.metadata == metadata)
            let (scalar, empty) = try (file.info("scalar"), file.info("empty"))
            #expect(scalar.shape == [] && scalar.elementCount == 1 && scalar.byteRange.count == 4)
            #expect(empty.shape == [0, 3] && empty.elementCount == 0 && empty.byteRange.isEmpty)
            #expect(try file.floats("scalar") == [42] && file.floats("empty") == [] && file.int64s("empty.ids") == [])
            #expect(try file.int32s("名前 \"q\"\n") == [5])
        }

        @Test func readsHandAssembledFile() throws {
            // Unpadded, entries not in data order, whitespace, metadata in the middle: as another writer might do.
            let header = #"{"b": {"dtype": "I64", "shape": [2], "data_offsets": [8, 24]}, "#
                + #""__metadata__": {"format": "np"}, "a": {"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
                + #" "c": {"shape": [1], "dtype": "F64", "data_offsets": [24, 32]},"#
                + #" "d": {"dtype": "BF16", "shape": [1, 1], "data_offsets": [32, 34]}}"#
            let data = littleEndian([Float(1.5).bitPattern, Float(-2).bitPattern]) + littleEndian([Int64(3), -4])
                + littleEndian([Double(0.1).bitPattern]) + littleEndian([UInt16(0xC020)])
            let file = try scratch.load(assemble(header, data))
            #expect(file.names == ["a", "b", "c", "d"] && file.metadata == ["format": "np"])
            #expect(try header.utf8.count % 2 == 1 && file.floats("a") == [1.5, -2])  // Odd length: misaligned.
            #expect(try file.int64s("b") == [3, -4] && file.info("b").byteRange == 8..<24)
            #expect(try file.floats("c") == [Float(0.1)] && file.floats("d") == [-2.5])
            #expect(try file.withRawBytes("d") { Array($0) } == [0x20, 0xC0])
        }

        @Test func readsFileWrittenByPythonSafetensors() throws {
            // safetensors 0.8.0 (Python over the Rust core): save_file({"w": float32 [1.5, -2], "ids": int64 [7],
            // "h": float16 [-2.5]}, metadata={"format": "np"}). Its data is ordered by alignment, not by name.
            let base64 = "yAAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJucCJ9LCJpZHMiOnsiZHR5cGUiOiJJNjQiLCJzaGFwZSI6"
                + "WzFdLCJkYXRhX29mZnNldHMiOlswLDhdfSwidyI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0"
                + "cyI6WzgsMTZdfSwiaCI6eyJkdHlwZSI6IkYxNiIsInNoYXBlIjpbMV0sImRhdGFfb2Zmc2V0cyI6WzE2LDE4XX19ICAg"
                + "IAcAAAAAAAAAAADAPwAAAMAAwQ=="
            let file = try scratch.load([UInt8](try #require(Data(base64Encoded: base64))))
            #expect(file.names == ["h", "ids", "w"] && file.metadata == ["format": "np"])
            #expect(try file.int64s("ids") == [7] && file.floats("w") == [1.5, -2] && file.floats("h") == [-2.5])
            #expect(try file.info("w").byteRange == 8..<16)
        }
    }

    // MARK: Corruption
    /// A malformed file and a phrase its error message must contain.
    struct Corruption: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let bytes: [UInt8]
        let phrase: String
    }

    static let eight = [UInt8](repeating: 0, count: 8)
    static let badShape = "must be an array of non-negative integers"

    /// A case whose file is exactly `bytes`.
    static func raw(_ label: String, _ bytes: [UInt8], _ phrase: String) -> Corruption {
        Corruption(testDescription: label, bytes: bytes, phrase: phrase)
    }

    /// A case whose file is `json` as the header followed by `data`.
    static func bad(_ label: String, _ json: String, _ phrase: String, data: [UInt8] = eight) -> Corruption {
        Corruption(testDescription: label, bytes: assemble(json, data), phrase: phrase)
    }

    /// A header with one tensor "a" whose fields are given as JSON text.
    static func one(dtype: String = #""F32""#, shape: String = "[2]", offsets: String = "[0, 8]") -> String {
        #"{"a": {"dtype": \#(dtype), "shape": \#(shape), "data_offsets": \#(offsets)}}"#
    }

    /// A header with an F32 tensor "a" at [0, 8] and a tensor "b" of `dtype` and shape [2] at `offsets`.
    static func two(_ dtype: String, _ offsets: String) -> String {
        #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "\#(dtype)", "shape": [2], "#
            + #""data_offsets": \#(offsets)}}"#
    }

    static let corruptions: [Corruption] = [
        raw("empty file", [], "file is 0 bytes, shorter than the 8-byte header length prefix"),
        raw("header length 0", assemble("", eight, headerLength: 0), "header length is 0"),
        raw("header length 2^40", assemble("{}", headerLength: 1 << 40), "exceeds the limit of 100000000 bytes"),
        raw("header length 10^8 + 1", assemble("{}", headerLength: 100_000_001), "exceeds the limit"),
        raw("header length > file", assemble("{}", eight, headerLength: 11), "larger than the 10 bytes after the"),
        raw("invalid UTF-8", assemble(#"{"a?": 1}"#).map { $0 == 0x3F ? 0xFF : $0 }, "not valid UTF-8"),
        bad("garbage JSON", "{not json}", "not valid JSON"),
        bad("trailing garbage", "{} x", "not valid JSON"),
        bad("JSON array", "[1, 2]", "expected a JSON object"),
        bad("leading space", " {}", "does not start with '{'"),
        bad("NUL byte", "{\u{0}}", "NUL"),
        bad("deep nesting", #"{"a": "# + String(repeating: "[", count: 100_000), "not valid JSON"),
        bad("entry not an object", #"{"a": 5}"#, "tensor 'a': entry is not a JSON object"),
        bad("missing dtype", #"{"a": {"shape": [], "data_offsets": [0, 0]}}"#, #"tensor 'a': entry lacks "dtype""#),
        bad("missing fields", #"{"a": {"dtype": "F32"}}"#, #"lacks "shape" and "data_offsets""#),
        bad("dtype not a string", one(dtype: "4"), #""dtype" must be a string"#),
        bad("unknown dtype", one(dtype: #""F128""#),
            #"unknown dtype "F128"; known dtypes are F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL"#),
        bad("negative dimension", one(shape: "[-2]"), "negative dimension -2"),
        bad("fractional dimension", one(shape: "[2.5]"), badShape),
        bad("dimension spelled 2.0", one(shape: "[2.0]"), badShape),
        bad("boolean dimension", one(shape: "[true]"), badShape),
        bad("string dimension", one(shape: #"["2"]"#), badShape),
        bad("shape not an array", one(shape: "2"), badShape),
        bad("dimension beyond UInt64", one(shape: "[18446744073709551616]"), badShape),
        bad("shape overflow", one(shape: "[4611686018427387904, 4]", offsets: "[0, 0]"), "overflows Int", data: []),
        bad("three offsets", one(offsets: "[0, 4, 8]"), #""data_offsets" must be two non-negative integers"#),
        bad("negative offset", one(offsets: "[-8, 0]"), "two non-negative integers"),
        bad("fractional offset", one(offsets: "[0, 8.5]"), "two non-negative integers"),
        bad("begin > end", one(offsets: "[8, 0]"), "begin 8 is greater than end 0"),
        bad("end beyond data", one(offsets: "[0, 12]"), "'a': data_offsets end 12 is beyond the end of the 8-byte"),
        bad("size mismatch", one(shape: "[3]"), "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8 bytes"),
        bad("overlap", two("I32", "[4, 12]"), "and 'b' (data_offsets [4, 12]) overlap", data: eight + eight),
        bad("duplicate range", two("F32", "[0, 8]"), "tensors 'a' (data_offsets [0, 8]) and 'b'"),
        bad("hole in the middle", two("U8", "[10, 12]"), "hole in the data buffer: bytes [8, 10)", data: eight + eight),
        bad("hole at the start", one(offsets: "[4, 12]"), "bytes [0, 4) before tensor 'a'", data: eight + [0, 0, 0, 0]),
        bad("hole at the end", one(), "its last 3 bytes (from offset 8 after tensor 'a')", data: eight + [0, 0, 0]),
        bad("data but no tensors", "{}", "its last 1 bytes (from offset 0)", data: [1]),
        bad("metadata value not a string", #"{"__metadata__": {"k": 1}}"#, "value for key 'k' is not a string"),
        bad("metadata not an object", #"{"__metadata__": ["k"]}"#, #""__metadata__" must be a JSON object"#),
    ]

    @Suite("SafeTensors rejects malformed files")
    struct Rejections {
        private let scratch: Scratch
        init() throws { scratch = try Scratch() }

        @Test(arguments: corruptions)
        func rejects(_ corruption: Corruption) throws {
            expectError(corruption.phrase) { try scratch.load(corruption.bytes) }
        }

        /// A small valid file with metadata and three dtypes, and where its header ends.
        private func validFile() throws -> (bytes: [UInt8], headerEnd: Int) {
            var writer = SafeTensorsWriter()
            writer.metadata = ["step": "12"]
            try writer.add("w", shape: [2, 2], floats: [1, 2, 3, 4])
            try writer.add("ids", shape: [3], int64s: [1, 2, 3])
            try writer.add("h", shape: [3], float16From: [0.5, 1, 2])
            try writer.write(to: scratch.url("valid.safetensors"))
            let bytes = try [UInt8](Data(contentsOf: scratch.url("valid.safetensors")))
            return (bytes, 8 + Int(bytes[0]) + Int(bytes[1]) << 8)
        }

        @Test func truncatedAtEveryLength() throws {
            let (bytes, headerEnd) = try validFile()
            for length in 0..<bytes.count {
                let phrase = length < 8 ? "shorter than" : length < headerEnd ? "larger than the" : "is beyond the end"
                expectError(phrase) { try scratch.load(Array(bytes[..<length])) }
            }
        }

        @Test func randomHeaderByteFlipsLoadOrThrow() throws {
            let (bytes, headerEnd) = try validFile()
            var random = SplitMix64(state: 0x5AFE)
            var rejected = 0
            for _ in 0..<200 {
                var corrupted = bytes
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    corrupted[Int.random(in: 0..<headerEnd, using: &random)] = .random(in: 0...255, using: &random)
                }
                do {
                    let file = try scratch.load(corrupted)
                    for name in file.names {  // Whatever loads must also be readable.
                        _ = try (file.withRawBytes(name) { $0.reduce(0, &+) }, try? file.floats(name))
                    }
                } catch is SafeTensorsError {
                    rejected += 1
                }
            }
            #expect(rejected > 100)
        }
    }

    // MARK: Writer and atomic file
    @Suite("SafeTensorsWriter errors and atomic writes")
    struct WriterAndAtomicFile {
        private let scratch: Scratch
        init() throws { scratch = try Scratch() }

        @Test func writerRejectsBadTensors() throws {
            var writer = SafeTensorsWriter()
            try writer.add("a", shape: [2], floats: [1, 2])
            expectError("a tensor with this name was already added") { try writer.add("a", shape: [2], floats: []) }
            expectError("'b': expected 6 values for shape [2, 3], got 1") { try writer.add("b", shape: [2, 3], floats: [1]) }
            expectError("expected 1 values for shape [], got 0") { try writer.add("c", shape: [], int32s: []) }
            expectError("negative dimension") { try writer.add("d", shape: [-1], bfloat16From: []) }
            expectError("overflows Int") { try writer.add("e", shape: [Int.max, 2], float16From: []) }
            expectError("reserved for file metadata") { try writer.add("__metadata__", shape: [], floats: [1]) }
        }

        @Test func atomicWriteReplacesAndLeavesNoTemporaryFile() throws {
            let url = scratch.url("out.bin")
            let listing = { try FileManager.default.contentsOfDirectory(atPath: scratch.directory.path) }
            try AtomicFile.write(Data("old".utf8), to: url)
            try AtomicFile.write(Data("new contents".utf8), to: url)
            #expect(try Data(contentsOf: url) == Data("new contents".utf8) && listing() == ["out.bin"])
            #expect(throws: CancellationError.self) {
                try AtomicFile.write(to: url) { output in
                    try output.write(Data("partial".utf8))
                    throw CancellationError()
                }
            }
            #expect(try Data(contentsOf: url) == Data("new contents".utf8) && listing() == ["out.bin"])
            let missing = scratch.url("missing/out.bin")
            let error = try #require(throws: AtomicFileError.self) { try AtomicFile.write(Data(), to: missing) }
            guard case let .cannotCreateTemporaryFile(path, temporaryPath, code) = error else { Issue.record("\(error)"); return }
            #expect(path == missing.path && code == ENOENT && temporaryPath.hasPrefix(scratch.url("missing/.out.bin.tmp-").path), "\(error)")
            #expect(error.description == "\(missing.path): cannot create temporary file \(temporaryPath): No such file or directory (errno \(ENOENT))")
        }

        @Test func rewritingKeepsOpenMappingsValid() throws {
            let url = scratch.url("model.safetensors")
            var first = SafeTensorsWriter(), second = SafeTensorsWriter()
            try first.add("x", shape: [2], floats: [1, 2])
            try second.add("y", shape: [1], int64s: [3])
            try first.write(to: url)
            let old = try SafeTensorsFile(contentsOf: url)
            try second.write(to: url)
            #expect(try old.floats("x") == [1, 2])  // The rename left the mapped inode intact.
            #expect(try SafeTensorsFile(contentsOf: url).names == ["y"])
        }
    }
}
