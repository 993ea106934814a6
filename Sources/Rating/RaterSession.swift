// A rater's session: the name they rate under, the unguessable token that proves it (kept in a
// cookie, or in the personal link the owner hands out), and the token every form they submit
// must carry (against cross-site request forgery).

import Checksums
import Crypto
import Datasets
import Foundation

/// One rater's identity in a rating session.
public struct RaterSession: Sendable, Equatable {
    /// The rater's name (NFC), as stored with their ratings.
    public var rater: String
    /// 128 random bits as 32 hex digits: whoever holds it rates as `rater`.
    public var token: String
    /// 128 random bits as 32 hex digits, sent in every form and checked on submission.
    public var csrf: String

    /// A session.
    public init(rater: String, token: String, csrf: String) {
        self.rater = rater
        self.token = token
        self.csrf = csrf
    }

    /// A new session for `rater` with fresh random tokens.
    public static func new(rater: String) -> RaterSession {
        RaterSession(rater: rater, token: randomHex(), csrf: randomHex())
    }

    /// 128 bits from the system's generator as 32 hex digits.
    public static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let value = UInt64.random(in: 0...UInt64.max, using: &generator)
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    /// The personal-link session of an invited rater: its token is derived from the database's
    /// link secret and the name (HMAC-SHA-256), so every start prints the same link without the
    /// database holding the token itself.
    static func invited(rater: String, linkSecret: String) -> RaterSession {
        let code = HMAC<SHA256>.authenticationCode(for: Data(("rater-link\u{0}" + rater).utf8), using: SymmetricKey(data: Data(linkSecret.utf8)))
        let token = String(code.map { String(format: "%02x", $0) }.joined().prefix(32))
        return RaterSession(rater: rater, token: token, csrf: randomHex())
    }

    /// The SHA-256 of a token, by which sessions are looked up (a lookup's timing tells nothing of the token).
    static func hash(_ token: String) -> String { SHA256.hash(data: Data(token.utf8)).hexadecimal }
}
