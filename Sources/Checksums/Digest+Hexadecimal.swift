// Digests as the hex strings that checksums, rating ids and session hashes are stored as.

import Crypto

extension Digest {
    /// The digest as lowercase hexadecimal digits, two per byte, most significant nibble first:
    /// what `sha256sum` prints (64 digits for swift-crypto's `SHA256`). Stored checksums, rating
    /// ids and session hashes are these strings, so their spelling must not change.
    public var hexadecimal: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(Self.byteCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
