// The rating desk: what a rater sees next, and the validation of every submission before it is
// committed. Front ends (the web page, tests) go through the desk; the store trusts it.

import Checksums
import Crypto
import Datasets
import Foundation

/// The next thing a rater is asked to judge.
public struct RatingTask: Sendable, Equatable {
    /// The item.
    public var item: RatingItem
    /// For a pair, which response this rater sees on the left; nil in rating mode.
    public var side: PairSide?
    /// Items this rater has done, and the session's item count.
    public var done: Int, total: Int

    /// The (left, right) responses of a pair, as this rater sees them.
    public var leftAndRight: (left: String, right: String)? {
        guard let second = item.secondResponse, let side else { return nil }
        return side == .aLeft ? (item.response, second) : (second, item.response)
    }
}

/// A submission refused before anything was written: the HTTP status it maps to and why.
public struct RatingRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400 (malformed or out of range), 404 (unknown item) or 409 (already rated by this rater).
    public var status: Int
    /// What was wrong and what was expected.
    public var message: String
    /// A rejection.
    public init(status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    /// The message.
    public var description: String { message }
}

/// A rating session open for submissions: its configuration, its items and its store.
public final class RatingDesk: Sendable {
    /// The session's settings.
    public let configuration: RatingSessionConfiguration
    /// The items, in stored order.
    public let items: [RatingItem]
    /// The database.
    public let store: RatingStore
    let itemsByID: [String: RatingItem]
    /// The session's secret (ids, orders and sides are keyed by it; never shown to raters).
    let secret: String

    /// Which side response A of `item` is on for `rater` in this session.
    public func side(of item: RatingItem, rater: String) -> PairSide {
        RatingItems.side(of: item, rater: rater.precomposedStringWithCanonicalMapping, seed: configuration.seed, secret: secret)
    }

    /// The longest rater name and note accepted.
    public static let maximumNameLength = 40, maximumNoteLength = 2000

    /// Opens a session: from the database when it holds one (then `configuration` and `samples`,
    /// if given, must describe the same session), else creates it from them.
    /// - Throws: ``RatingError`` when the database is new and no samples are given, or when it holds a
    ///   different session.
    public init(store: RatingStore, configuration: RatingSessionConfiguration? = nil, samples: [RatingSample]? = nil) throws {
        if let stored = try store.session() {
            if let configuration, configuration != stored.configuration {
                throw RatingError.otherSettings(database: store.path)
            }
            secret = try store.secret()
            if let samples {
                let items = try RatingItems.make(samples: samples, mode: stored.configuration.mode, seed: stored.configuration.seed, secret: secret)
                guard items == stored.items else {
                    throw RatingError.otherSamples(database: store.path, items: stored.items.count)
                }
            }
            (self.configuration, self.items) = stored
        } else {
            guard let samples else { throw RatingError.samplesNeeded(database: store.path) }
            let configuration = configuration ?? RatingSessionConfiguration()
            try configuration.validate()
            secret = RatingItems.newSecret()
            let items = try RatingItems.make(samples: samples, mode: configuration.mode, seed: configuration.seed, secret: secret)
            try store.create(configuration: configuration, items: items, secret: secret)
            (self.configuration, self.items) = (configuration, items)
        }
        self.store = store
        itemsByID = Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Whether `name` is a usable rater name: 1–40 letters, digits, spaces, `.`, `_` or `-`, not all spaces.
    public static func isValidRaterName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= maximumNameLength && !name.allSatisfy { $0 == " " }
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || " ._-".unicodeScalars.contains($0) }
    }

    /// `rater` in Unicode's composed form (NFC), so that "é" typed as one scalar or as "e" + U+0301
    /// is one rater everywhere; or a rejection when it is not a usable name.
    func checkRater(_ rater: String) throws(RatingRejection) -> String {
        let name = rater.precomposedStringWithCanonicalMapping
        guard Self.isValidRaterName(name) else {
            throw RatingRejection(status: 400, "rater name: expected 1–\(Self.maximumNameLength) letters, digits, spaces, '.', '_' or '-'")
        }
        return name
    }

    // MARK: Raters

    /// Claims `name` for a new rater and returns their session.
    /// - Throws: ``RatingRejection``: 400 for an unusable name, 409 when the name is taken (its
    ///   holder goes on through their own link or cookie; nobody else can rate as them) or has
    ///   ratings from before sessions (the owner hands out its link: ``invite(name:)``).
    public func signIn(name: String) async throws -> RaterSession {
        let rater = try checkRater(name)
        if try store.unclaimedRaters().contains(rater) {
            throw RatingRejection(status: 409, "the name '\(rater)' already has ratings: ask the session's owner for its personal link, or choose another name")
        }
        let session = RaterSession.new(rater: rater)
        guard try await store.insertRater(session) else {
            throw RatingRejection(status: 409, "the name '\(rater)' is taken: open your personal link to go on as \(rater), or choose another name")
        }
        return session
    }

    /// The personal-link session of rater `name`: the owner's way to hand out links. The link is
    /// the same on every start; if the name was claimed on the start page, the claimant's
    /// session is replaced by the link (the owner decides who rates as whom).
    /// - Throws: ``RatingRejection`` (400) for an unusable name.
    public func invite(name: String) async throws -> RaterSession {
        let rater = try checkRater(name)
        var session = RaterSession.invited(rater: rater, linkSecret: try store.linkSecret())
        if let record = try store.raterRecord(named: rater), record.tokenHash == RaterSession.hash(session.token) {
            session.csrf = record.csrf
            return session
        }
        try await store.replaceRater(session)
        return session
    }

    /// The sessions of the raters the owner invited (whose link is derived from the database), by name.
    public func invitedRaters() throws -> [RaterSession] {
        let secret = try store.linkSecret()
        return try store.raterRecords().compactMap { name, hash, csrf in
            var session = RaterSession.invited(rater: name, linkSecret: secret)
            session.csrf = csrf
            return RaterSession.hash(session.token) == hash ? session : nil
        }
    }

    /// Names with ratings from before sessions existed (nobody can sign in as them; invite them).
    public func unclaimedRaters() throws -> [String] { try store.unclaimedRaters() }

    /// The name of the session cookie: one per database, so that two rating sessions on one host
    /// (cookies ignore ports) do not sign each other's raters out.
    public func cookieName() throws -> String {
        "rlhf_rater_" + SHA256.hash(data: Data(("cookie\u{0}" + (try store.linkSecret())).utf8)).hexadecimal.prefix(12)
    }

    /// The session a token belongs to, or nil for an unknown (or malformed) token.
    public func session(token: String) async throws -> RaterSession? {
        guard token.count == 32, token.allSatisfy(\.isHexDigit) else { return nil }
        return try await store.rater(token: token)
    }

    /// The first item in `rater`'s own order that they have not done, or nil when they are finished.
    public func next(for rater: String) async throws -> RatingTask? {
        let rater = try checkRater(rater)
        let done = try await store.doneItemIDs(rater: rater)
        guard let item = RatingItems.order(items, rater: rater, seed: configuration.seed, secret: secret).first(where: { !done.contains($0.id) }) else { return nil }
        return RatingTask(item: item, side: item.isPair ? RatingItems.side(of: item, rater: rater, seed: configuration.seed, secret: secret) : nil,
                          done: done.count, total: items.count)
    }

    /// How many items `rater` has done, of all.
    public func progress(for rater: String) async throws -> (done: Int, total: Int) {
        let rater = try checkRater(rater)
        return (try await store.doneItemIDs(rater: rater).count, items.count)
    }

    /// Validates and commits a rating-mode submission.
    /// - Parameter scores: form values by scale name; every scale must be present with an integer in range, and nothing else.
    /// - Throws: ``RatingRejection`` (400, 404, 409) before writing anything.
    public func submitRating(rater: String, itemID: String, scores: [String: String]) async throws {
        let rater = try checkRater(rater)
        let item = try lookUp(itemID)
        guard !item.isPair else { throw RatingRejection(status: 400, "item \(itemID) is a pair: submit a choice, not scores") }
        var parsed: [String: Int] = [:]
        for scale in configuration.scales {
            guard let text = scores[scale.name] else { throw RatingRejection(status: 400, "missing a score for '\(scale.name)'") }
            guard let score = Int(text), scale.scores.contains(score) else {
                throw RatingRejection(status: 400, "score for '\(scale.name)' must be an integer from \(scale.minimum) to \(scale.maximum), got '\(text.prefix(20))'")
            }
            parsed[scale.name] = score
        }
        if let unknown = scores.keys.sorted().first(where: { parsed[$0] == nil }) {
            throw RatingRejection(status: 400, "unknown scale '\(unknown.prefix(40))'; the scales are \(configuration.scales.map(\.name).joined(separator: ", "))")
        }
        guard try await store.insertRating(itemID: itemID, rater: rater, scores: parsed) else {
            throw RatingRejection(status: 409, "\(rater) has already rated item \(itemID)")
        }
    }

    /// Validates and commits a pairwise submission.
    /// - Parameters:
    ///   - choice: "left", "right" or "tie", as the rater saw the pair.
    ///   - note: an optional note, at most ``maximumNoteLength`` characters.
    /// - Throws: ``RatingRejection`` (400, 404, 409) before writing anything.
    public func submitChoice(rater: String, itemID: String, choice: String, note: String = "") async throws {
        let rater = try checkRater(rater)
        let item = try lookUp(itemID)
        guard item.isPair else { throw RatingRejection(status: 400, "item \(itemID) is a single response: submit scores, not a choice") }
        guard note.count <= Self.maximumNoteLength else { throw RatingRejection(status: 400, "the note is longer than \(Self.maximumNoteLength) characters") }
        let side = RatingItems.side(of: item, rater: rater, seed: configuration.seed, secret: secret)
        let winner: PairChoice
        switch choice {
        case "left": winner = side == .aLeft ? .a : .b
        case "right": winner = side == .aLeft ? .b : .a
        case "tie": winner = .tie
        default: throw RatingRejection(status: 400, "choice must be left, right or tie, got '\(choice.prefix(20))'")
        }
        guard try await store.insertJudgment(itemID: itemID, rater: rater, choice: winner, shown: side, note: note) else {
            throw RatingRejection(status: 409, "\(rater) has already judged item \(itemID)")
        }
    }

    func lookUp(_ itemID: String) throws(RatingRejection) -> RatingItem {
        guard let item = itemsByID[itemID] else { throw RatingRejection(status: 404, "no item '\(itemID.prefix(40))' in this session") }
        return item
    }
}
