// The blind rating web server (Hummingbird): the start page, one item at a time per rater, form
// submissions validated by the rating desk and answered only after the commit, and the results
// page — the only page that shows the blinding key, for the owner's token only. Binds 127.0.0.1 unless told otherwise;
// request bodies are capped.

import Evaluation
import Foundation
import Hummingbird

/// Routes and runs the rating pages.
public enum RatingServer {
    /// The largest request body accepted (a form with a note fits in a few kilobytes).
    public static let maximumBodySize = 16 * 1024

    /// The routes:
    /// - `GET /`: instructions and a name box;
    /// - `GET /rate?rater=NAME`: the rater's next item (or the end page) and their progress;
    /// - `POST /rate` (form: `rater`, `item`, then `score_<scale>` per scale, or `choice` = left/right/tie
    ///   and an optional `note`): 303 to the next item once committed; 400 for a malformed or
    ///   out-of-range submission, 404 for an unknown item, 409 for a replay, 413 for a large body;
    /// - `GET /results?token=TOKEN` and `/results.json?token=TOKEN` (or `Authorization: Bearer
    ///   TOKEN`): the results with the blinding key, for the session's owner only (403 otherwise;
    ///   no rater page links them);
    /// - `GET /health`: "ok".
    /// - Parameter ownerToken: the secret the results need (``newOwnerToken()`` makes one).
    public static func router(desk: RatingDesk, ownerToken: String) -> Router<BasicRequestContext> {
        precondition(!ownerToken.isEmpty, "the owner token must not be empty")
        let router = Router()
        /// Whether a request carries the owner's token (compared in constant time).
        @Sendable func isOwner(_ request: Request) -> Bool {
            let query = (try? formFields(request.uri.query ?? "")) ?? [:]
            let bearer = bearerTokens(request.headers[values: .authorization])
            return ([query["token"]].compactMap { $0 } + bearer).contains { constantTimeEqual(Array($0.utf8), Array(ownerToken.utf8)) }
        }
        let ownersOnly = RatingRejection(status: 403, "the results are for the session's owner: open the results link printed when the server started")
        router.get("/") { _, _ in html(RatingPages.start(desk.configuration, items: desk.items.count)) }
        router.get("/health") { _, _ in "ok" }
        router.get("/rate") { request, _ -> Response in
            let query: [String: String]
            do { query = try formFields(request.uri.query ?? "") } catch { return failure(error, rater: nil) }
            let rater = query["rater"] ?? ""
            do {
                let task = try await desk.next(for: rater)
                return html(RatingPages.item(task, rater: rater, configuration: desk.configuration, saved: query["saved"] != nil, total: desk.items.count))
            } catch {
                return failure(error, rater: nil)
            }
        }
        router.post("/rate") { request, _ -> Response in
            var fields: [String: String] = [:]
            do {
                let body = try await request.body.collect(upTo: maximumBodySize)
                fields = try formFields(String(buffer: body))
                try await submit(fields, to: desk)
                var response = Response(status: .seeOther)
                response.headers[.location] = "/rate?rater=\(queryEscaped(fields["rater"] ?? ""))&saved=1"
                response.headers[.cacheControl] = "no-store"
                return response
            } catch {
                return failure(error, rater: fields["rater"])
            }
        }
        router.get("/results") { request, _ -> Response in
            guard isOwner(request) else { return failure(ownersOnly, rater: nil) }
            do { return html(try RatingResults(desk: desk).html) } catch { return failure(error, rater: nil) }
        }
        router.get("/results.json") { request, _ -> Response in
            guard isOwner(request) else { return failure(ownersOnly, rater: nil) }
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                let data = try encoder.encode(try RatingResults(desk: desk))
                var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
                response.headers[.contentType] = "application/json"
                response.headers[.cacheControl] = "no-store"
                return response
            } catch {
                return failure(error, rater: nil)
            }
        }
        return router
    }

    /// Sends a parsed form to the desk: scores in rating mode, a choice in pairwise mode.
    static func submit(_ fields: [String: String], to desk: RatingDesk) async throws {
        let allowed: Set<String> = desk.configuration.mode == .rating ? ["rater", "item"] : ["rater", "item", "choice", "note"]
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) && !(desk.configuration.mode == .rating && $0.hasPrefix("score_")) }) {
            throw RatingRejection(status: 400, "unknown form field '\(unknown.prefix(40))'")
        }
        guard let rater = fields["rater"], let item = fields["item"] else { throw RatingRejection(status: 400, "the form needs 'rater' and 'item'") }
        switch desk.configuration.mode {
        case .rating:
            var scores: [String: String] = [:]
            for (key, value) in fields where key.hasPrefix("score_") { scores[String(key.dropFirst("score_".count))] = value }
            try await desk.submitRating(rater: rater, itemID: item, scores: scores)
        case .pairwise:
            guard let choice = fields["choice"] else { throw RatingRejection(status: 400, "the form needs 'choice' (left, right or tie)") }
            try await desk.submitChoice(rater: rater, itemID: item, choice: choice, note: fields["note"] ?? "")
        }
    }

    /// Parses `application/x-www-form-urlencoded` text (also a URL query): `+` is a space, `%XX` a byte.
    /// - Throws: ``RatingRejection`` (400) for bad percent-encoding or a field given twice.
    public static func formFields(_ text: String) throws -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) throws -> String {
                guard let decoded = part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw RatingRejection(status: 400, "malformed form encoding in '\(part.prefix(40))'")
                }
                return decoded
            }
            let key = try decode(parts[0])
            guard fields[key] == nil else { throw RatingRejection(status: 400, "the field '\(key.prefix(40))' is given twice") }
            fields[key] = parts.count > 1 ? try decode(parts[1]) : ""
        }
        return fields
    }

    /// `text` escaped for a URL query value.
    public static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.contentType] = "text/html; charset=utf-8"
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// An error page: the desk's status for a rejection, 413 for a large body, an HTTP error's own status, else 500.
    static func failure(_ error: any Error, rater: String?) -> Response {
        let (status, message): (Int, String)
        switch error {
        case let rejection as RatingRejection: (status, message) = (rejection.status, rejection.message)
        case let http as any HTTPResponseError where http.status == .contentTooLarge:
            (status, message) = (413, "the request body is larger than \(maximumBodySize) bytes")
        case let http as any HTTPResponseError: (status, message) = (Int(http.status.code), "\(error)")
        default: (status, message) = (500, "the server failed: \(error)")
        }
        return html(RatingPages.error(status: status, message: message, rater: rater), status: HTTPResponse.Status(code: status))
    }

    /// A fresh owner token: 128 random bits from the system's generator, as 32 hex digits.
    public static func newOwnerToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%08x", UInt32.random(in: 0...UInt32.max, using: &generator)) }.joined()
    }

    /// Serves `desk` until interrupted (SIGINT/SIGTERM end it gracefully).
    /// - Parameters:
    ///   - host: the address to bind; 127.0.0.1 keeps the server on this machine.
    ///   - port: the port; 0 picks a free one.
    ///   - ownerToken: the secret the results pages need.
    ///   - limits: how long a client may take, and how long a shutdown waits.
    ///   - onRunning: called with the bound port once the server accepts connections.
    public static func run(desk: RatingDesk, host: String = "127.0.0.1", port: Int, ownerToken: String, limits: ConnectionLimits = .standard,
                           onRunning: @escaping @Sendable (Int) -> Void) async throws {
        try await listen(router(desk: desk, ownerToken: ownerToken), host: host, port: port, limits: limits, onRunning: onRunning)
    }
}
