// The rating database: one SQLite file (GRDB, write-ahead log, synchronous=FULL) holding the
// session's configuration, its items, and every rating and pairwise judgment. A submission is one
// transaction; it is acknowledged only after the commit returns, so a killed server keeps every
// rating it acknowledged.

import Foundation
import GRDB

/// One rater's scores for one item (rating mode).
public struct StoredRating: Sendable, Equatable {
    /// The item and the rater.
    public var itemID: String, rater: String
    /// Score per scale name.
    public var scores: [String: Int]

    /// A rating.
    public init(itemID: String, rater: String, scores: [String: Int]) {
        self.itemID = itemID
        self.rater = rater
        self.scores = scores
    }
}

/// The winner of a pair in the item's own terms (A = the item's `source`, B = its `secondSource`).
public enum PairChoice: String, Codable, Sendable, CaseIterable {
    /// Response A is better.
    case a
    /// Response B is better.
    case b
    /// Neither.
    case tie
}

/// One rater's judgment of one pair.
public struct StoredJudgment: Sendable, Equatable {
    /// The item and the rater.
    public var itemID: String, rater: String
    /// The chosen response, and how the pair was shown (which response was on the left).
    public var choice: PairChoice, shown: PairSide
    /// The rater's note (may be empty).
    public var note: String

    /// A judgment.
    public init(itemID: String, rater: String, choice: PairChoice, shown: PairSide, note: String = "") {
        self.itemID = itemID
        self.rater = rater
        self.choice = choice
        self.shown = shown
        self.note = note
    }
}

/// The SQLite file of a rating session.
public final class RatingStore: Sendable {
    /// The database file.
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` in WAL mode with synchronous=FULL and
    /// foreign keys on, and brings its schema up to date.
    /// - Throws: ``RatingError`` naming the file when it cannot be opened or is not a rating database.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw RatingError.cannotOpenDatabase(path: path, reason: "\(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                CREATE TABLE items (
                    id TEXT PRIMARY KEY NOT NULL, position INTEGER NOT NULL UNIQUE, prompt TEXT NOT NULL,
                    source TEXT NOT NULL, response TEXT NOT NULL, second_source TEXT, second_response TEXT);
                CREATE TABLE ratings (
                    item_id TEXT NOT NULL REFERENCES items(id), rater TEXT NOT NULL, scale TEXT NOT NULL,
                    score INTEGER NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (item_id, rater, scale));
                CREATE TABLE judgments (
                    item_id TEXT NOT NULL REFERENCES items(id), rater TEXT NOT NULL,
                    choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie')), shown TEXT NOT NULL CHECK (shown IN ('a', 'b')),
                    note TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (item_id, rater));
                """)
        }
        // Rater sessions: a name is claimed once, by the holder of its token (only the token's hash is kept).
        migrator.registerMigration("v2-raters") { db in
            try db.execute(sql: """
                CREATE TABLE raters (
                    name TEXT PRIMARY KEY NOT NULL, token_hash TEXT NOT NULL UNIQUE, csrf TEXT NOT NULL, created_at TEXT NOT NULL);
                """)
        }
        return migrator
    }

    /// The journal mode SQLite reports ("wal").
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: Session

    /// The stored session secret ("" for a database made before secrets existed).
    public func secret() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'secret'") ?? "" }
    }

    /// The stored configuration and items, or nil for a new database.
    public func session() throws -> (configuration: RatingSessionConfiguration, items: [RatingItem])? {
        try pool.read { db in
            guard let json = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'configuration'") else { return nil }
            let configuration = try JSONDecoder().decode(RatingSessionConfiguration.self, from: Data(json.utf8))
            let items = try Row.fetchAll(db, sql: "SELECT * FROM items ORDER BY position").map { row in
                RatingItem(id: row["id"], prompt: row["prompt"], source: row["source"], response: row["response"],
                           secondSource: row["second_source"], secondResponse: row["second_response"])
            }
            return (configuration, items)
        }
    }

    /// Stores a new session's configuration, items and secret in one transaction.
    /// - Throws: ``RatingError`` when the database already holds a session.
    public func create(configuration: RatingSessionConfiguration, items: [RatingItem], secret: String = "") throws {
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        try pool.write { db in
            if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'configuration'") != nil {
                throw RatingError.sessionExists(database: path)
            }
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('configuration', ?)", arguments: [json])
            if !secret.isEmpty { try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('secret', ?)", arguments: [secret]) }
            for (position, item) in items.enumerated() {
                try db.execute(sql: """
                    INSERT INTO items (id, position, prompt, source, response, second_source, second_response)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [item.id, position, item.prompt, item.source, item.response, item.secondSource, item.secondResponse])
            }
        }
    }

    // MARK: Raters

    /// Stores a new rater session, unless the name is already taken.
    /// - Returns: false (and nothing written) when a session for `session.rater` exists.
    public func insertRater(_ session: RaterSession) async throws -> Bool {
        let now = Self.timestamp()
        return try await pool.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM raters WHERE name = ?", arguments: [session.rater]) == 0 else { return false }
            try db.execute(sql: "INSERT INTO raters (name, token_hash, csrf, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [session.rater, RaterSession.hash(session.token), session.csrf, now])
            return true
        }
    }

    /// Stores `session` as rater `session.rater`'s, replacing any earlier one (whose token stops working).
    public func replaceRater(_ session: RaterSession) async throws {
        let now = Self.timestamp()
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM raters WHERE name = ?", arguments: [session.rater])
            try db.execute(sql: "INSERT INTO raters (name, token_hash, csrf, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [session.rater, RaterSession.hash(session.token), session.csrf, now])
        }
    }

    /// The session whose token is `token` (looked up by the token's hash), if any.
    public func rater(token: String) async throws -> RaterSession? {
        let hash = RaterSession.hash(token)
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT name, csrf FROM raters WHERE token_hash = ?", arguments: [hash])
                .map { RaterSession(rater: $0["name"], token: token, csrf: $0["csrf"]) }
        }
    }

    /// The hash of rater `name`'s token and their CSRF token, if they have a session.
    public func raterRecord(named name: String) throws -> (tokenHash: String, csrf: String)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT token_hash, csrf FROM raters WHERE name = ?", arguments: [name]).map { ($0["token_hash"], $0["csrf"]) }
        }
    }

    /// Every rater with a session: name, the hash of their token and their CSRF token, by name.
    public func raterRecords() throws -> [(name: String, tokenHash: String, csrf: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, token_hash, csrf FROM raters ORDER BY name").map { ($0["name"], $0["token_hash"], $0["csrf"]) }
        }
    }

    /// Names with ratings or judgments but no session (stored before sessions existed), sorted.
    public func unclaimedRaters() throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT rater FROM ratings UNION SELECT rater FROM judgments EXCEPT SELECT name FROM raters ORDER BY 1
                """)
        }
    }

    /// The secret personal links are derived from, made on first use and kept.
    public func linkSecret() throws -> String {
        try pool.write { db in
            if let secret = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'link_secret'") { return secret }
            let secret = RaterSession.randomHex() + RaterSession.randomHex()
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('link_secret', ?)", arguments: [secret])
            return secret
        }
    }

    // MARK: Submissions

    /// Commits `scores` for (`itemID`, `rater`) in one transaction, unless the rater already rated the item.
    /// - Returns: false (and nothing written) when the rater had already rated the item.
    public func insertRating(itemID: String, rater: String, scores: [String: Int]) async throws -> Bool {
        let now = Self.timestamp()
        return try await pool.write { db in
            let existing = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ratings WHERE item_id = ? AND rater = ?", arguments: [itemID, rater]) ?? 0
            guard existing == 0 else { return false }
            for (scale, score) in scores.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: "INSERT INTO ratings (item_id, rater, scale, score, created_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [itemID, rater, scale, score, now])
            }
            return true
        }
    }

    /// Commits a pairwise judgment, unless the rater already judged the item.
    /// - Returns: false (and nothing written) when the rater had already judged the item.
    public func insertJudgment(itemID: String, rater: String, choice: PairChoice, shown: PairSide, note: String) async throws -> Bool {
        let now = Self.timestamp()
        return try await pool.write { db in
            let existing = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM judgments WHERE item_id = ? AND rater = ?", arguments: [itemID, rater]) ?? 0
            guard existing == 0 else { return false }
            try db.execute(sql: "INSERT INTO judgments (item_id, rater, choice, shown, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [itemID, rater, choice.rawValue, shown.rawValue, note, now])
            return true
        }
    }

    /// The ids of the items `rater` has rated or judged.
    public func doneItemIDs(rater: String) async throws -> Set<String> {
        try await pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT item_id FROM ratings WHERE rater = ? UNION SELECT item_id FROM judgments WHERE rater = ?",
                                    arguments: [rater, rater]))
        }
    }

    // MARK: Reading everything

    /// Every rating, grouped per (item, rater), in submission order.
    public func ratings() throws -> [StoredRating] {
        try pool.read { db in
            var result: [StoredRating] = []
            var index: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT item_id, rater, scale, score FROM ratings ORDER BY rowid") {
                let key = (row["item_id"] as String) + "\u{1F}" + (row["rater"] as String)
                if let at = index[key] {
                    result[at].scores[row["scale"]] = row["score"]
                } else {
                    index[key] = result.count
                    result.append(StoredRating(itemID: row["item_id"], rater: row["rater"], scores: [row["scale"]: row["score"]]))
                }
            }
            return result
        }
    }

    /// Every pairwise judgment, in submission order.
    public func judgments() throws -> [StoredJudgment] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT item_id, rater, choice, shown, note FROM judgments ORDER BY rowid").map { row in
                StoredJudgment(itemID: row["item_id"], rater: row["rater"], choice: PairChoice(rawValue: row["choice"]) ?? .tie,
                               shown: PairSide(rawValue: row["shown"]) ?? .aLeft, note: row["note"])
            }
        }
    }

    /// The number of (item, rater) submissions stored: ratings plus judgments.
    public func submissionCount() throws -> Int {
        try pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT DISTINCT item_id, rater FROM ratings)") ?? 0)
                + (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM judgments") ?? 0)
        }
    }

    static func timestamp() -> String { ISO8601DateFormatter().string(from: Date()) }
}
