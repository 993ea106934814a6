// Gzip (RFC 1952) decompression of data files through zlib (compress-nio's ZlibDecompressor):
// members one after another as `gzip -dc` reads them, each member's CRC-32 and length checked by
// zlib, the output bounded as it is produced.

import CompressNIO
import Foundation
import NIOCore

/// Decompresses gzip data in memory, refusing output beyond a limit before it is produced.
///
/// A file may hold several gzip members back to back (what `cat a.gz b.gz` makes); their outputs
/// are joined, as `gzip -dc` does. Zero bytes after the last member (tape padding) are ignored, as
/// gzip ignores them; anything else after it is an error. zlib checks each member's header, its
/// deflate data, and the CRC-32 and length in its trailer.
public enum Gzip {
    /// The gzip magic bytes, `1f 8b`, that every member starts with.
    public static let magic: [UInt8] = [0x1f, 0x8b]

    /// Whether `data` starts with the gzip magic bytes.
    /// - Parameter data: the file's bytes.
    /// - Returns: true when the first two bytes are `1f 8b`.
    public static func isCompressed(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == magic[0] && data[data.startIndex + 1] == magic[1]
    }

    /// Input fed to zlib per step, and output taken per step.
    static let inputChunk = 1 << 20, outputChunk = 1 << 18

    /// The decompressed bytes of every member of `data`.
    /// - Parameters:
    ///   - data: gzip data (one or more members).
    ///   - path: the file the data came from, for errors.
    ///   - limit: the most bytes the output may have; decoding stops as soon as it would pass it.
    /// - Returns: the joined output of all members.
    /// - Throws: ``DatasetError`` naming `path`: the output would pass `limit`; a member is corrupt
    ///   (bad header, deflate data, CRC-32 or length); the data ends inside a member; or bytes after
    ///   the last member are neither another member nor zero padding.
    public static func decompress(_ data: Data, path: String, limit: Int) throws(DatasetError) -> Data {
        do {
            return try inflateMembers(data, path: path, limit: limit)
        } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError(path: path, message: "cannot decompress the gzip data (\(error))")
        }
    }

    /// ``decompress(_:path:limit:)`` with the library's errors let through.
    private static func inflateMembers(_ data: Data, path: String, limit: Int) throws -> Data {
        var output = Data()
        var decompressor = try ZlibDecompressor(algorithm: .gzip)
        var buffer = ByteBufferAllocator().buffer(capacity: outputChunk)
        var member = 1
        var offset = data.startIndex
        /// Whether the current member's stream has ended (zlib returned Z_STREAM_END).
        var ended = false
        /// Whether the current member has been given any input yet.
        var started = false
        while offset < data.endIndex {
            let end = min(offset + inputChunk, data.endIndex)
            var input = ByteBuffer(bytes: data[offset..<end])
            offset = end
            while input.readableBytes > 0 || (started && !ended) {
                if ended {
                    // A member ended with input left: zero padding to the end, or the next member.
                    let rest = input.readableBytesView
                    if rest.allSatisfy({ $0 == 0 }) && data[offset...].allSatisfy({ $0 == 0 }) {
                        return output
                    }
                    decompressor = try ZlibDecompressor(algorithm: .gzip)
                    member += 1
                    ended = false
                    started = false
                }
                started = true
                let consumedBefore = input.readerIndex
                buffer.clear()
                var needsInput = false, outputFull = false
                do {
                    try decompressor.inflate(from: &input, to: &buffer)
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    outputFull = true
                } catch let error as CompressNIOError where error == .inputBufferOverflow {
                    needsInput = true
                } catch let error as CompressNIOError where error == .corruptData {
                    let what = member == 1 ? "the gzip data" : "gzip member \(member) (after \(member - 1) complete member\(member == 2 ? "" : "s"))"
                    throw DatasetError(path: path, message: "\(what) is corrupt: a bad header, bad deflate data, or a CRC-32 or length check that fails\(member > 1 ? "; bytes after a gzip member must be another member" : "")")
                }
                guard output.count + buffer.readableBytes <= limit else {
                    throw DatasetError(path: path, message: "the gzip file inflates to more than \(limit) bytes; refused (decompress it yourself if it is meant to be that large)")
                }
                buffer.withUnsafeReadableBytes { bytes in
                    if let base = bytes.baseAddress, bytes.count > 0 { output.append(base.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
                }
                if outputFull { continue }
                if needsInput { break }
                // zlib returned Z_OK or Z_STREAM_END. With input left, only the end of the member
                // stops it; with none left, a call that neither reads nor writes is Z_STREAM_END
                // again (Z_OK without progress would have been reported as needing input).
                if input.readableBytes > 0 || (input.readerIndex == consumedBefore && buffer.readableBytes == 0) {
                    ended = true
                }
            }
        }
        guard ended || !started else {
            throw DatasetError(path: path, message: "the gzip data is truncated: it ends inside member \(member) (\(output.count) bytes decompressed so far)")
        }
        return output
    }
}
