// The blind rating web server (Hummingbird): the start page, rater sessions (a name claimed once,
// proved by a token in a cookie or a personal link), one item at a time per rater, form
// submissions checked for their session's CSRF token and origin, validated by the rating desk and
// answered only after the commit, and the results page — the only page that shows the blinding
// key, for the owner's token only. Binds 127.0.0.1 unless told otherwise; request bodies are capped.

import Evaluation
import Rating
import Foundation
import HTTPTypes
import Hummingbird

/// Routes and runs the rating pages.
public enum RatingServer {
    /// The largest request body accepted (a form with a note fits in a few kilobytes).
    public static let maximumBodySize = 16 * 1024

    /// The routes:
    /// - `GET /`: instructions and a name box (or, invite-only, a request to open one's personal link);
    /// - `POST /session` (form: `rater`): claims the name for a new rater, sets the session cookie
    ///   and redirects (303) to `/rate`; 409 when the name is taken, 403 when sign-up is closed;
    /// - `GET /join/TOKEN`: the personal link: a page that asks to go on as its rater (404 for an unknown token);
    /// - `POST /join` (form: `token`): sets the session cookie and redirects (303) to `/rate`; 403 from another site;
    /// - `GET /rate`: the session's next item (or the end page) and progress; without a session, 303 to `/`;
    /// - `POST /rate` (form: `item`, `csrf`, then `score_<scale>` per scale, or `choice` = left/right/tie
    ///   and an optional `note`): 303 to the next item once committed; 403 without a session, with a
    ///   wrong `csrf`, or from another site; 400 for a malformed or out-of-range submission, 404 for
    ///   an unknown item, 409 for a replay, 413 for a large body;
    /// - `GET /results?token=TOKEN` and `/results.json?token=TOKEN` (or `Authorization: Bearer
    ///   TOKEN`): the results with the blinding key, for the session's owner only (403 otherwise;
    ///   no rater page links them);
    /// - `GET /health`: "ok".
    /// - Parameters:
    ///   - ownerToken: the secret the results need (``newOwnerToken()`` makes one).
    ///   - openSignUp: whether anyone may claim a name on the start page; when false only the
    ///     personal links of invited raters (``RatingDesk/invite(name:)``) let one rate.
    public static func router(desk: RatingDesk, ownerToken: String, openSignUp: Bool = true) -> Router<BasicRequestContext> {
        precondition(!ownerToken.isEmpty, "the owner token must not be empty")
        let router = Router()
        // Every state-changing request (all of them are POSTs) must come from this server's own pages.
        router.add(middleware: SameSitePosts())
        let sessionCookie = (try? desk.cookieName()) ?? "rlhf_rater"
        /// Whether a request carries the owner's token (compared in constant time).
        @Sendable func isOwner(_ request: Request) -> Bool {
            let query = (try? formFields(request.uri.query ?? "")) ?? [:]
            let bearer = bearerTokens(request.headers[values: .authorization])
            return ([query["token"]].compactMap { $0 } + bearer).contains { constantTimeEqual(Array($0.utf8), Array(ownerToken.utf8)) }
        }
        /// The rater session the request's cookie names, if any.
        @Sendable func session(of request: Request) async throws -> RaterSession? {
            guard let token = cookie(sessionCookie, in: request) else { return nil }
            return try await desk.session(token: token)
        }
        let ownersOnly = RatingRejection(status: 403, "the results are for the session's owner: open the results link printed when the server started")
        let noSession = RatingRejection(status: 403, "you are not signed in (or your session has ended): open your personal link, or start on the start page")
        router.get("/") { request, _ -> Response in
            let current = try? await session(of: request)
            return html(RatingPages.start(desk.configuration, items: desk.items.count, openSignUp: openSignUp, signedInAs: current?.rater))
        }
        router.get("/health") { _, _ in "ok" }
        router.post("/session") { request, _ -> Response in
            do {
                guard openSignUp else { throw RatingRejection(status: 403, "this session is by invitation: open the personal link you were given") }
                let fields = try formFields(String(buffer: try await request.body.collect(upTo: maximumBodySize)))
                if let unknown = fields.keys.sorted().first(where: { $0 != "rater" }) { throw RatingRejection(status: 400, "unknown form field '\(unknown.prefix(40))'") }
                return signedIn(try await desk.signIn(name: fields["rater"] ?? ""), cookie: sessionCookie)
            } catch {
                return failure(error)
            }
        }
        let unknownLink = RatingRejection(status: 404, "no rater has this link; ask the session's owner for yours")
        // Opening a link only asks: signing in takes a same-site form post, so another site cannot
        // send a browser to someone else's link and have its ratings recorded under that name.
        router.get("/join/{token}") { request, context -> Response in
            do {
                guard let found = try await desk.session(token: context.parameters.get("token") ?? "") else { throw unknownLink }
                let current = try await session(of: request)
                return html(RatingPages.join(found, configuration: desk.configuration, signedInAs: current?.rater))
            } catch {
                return failure(error)
            }
        }
        router.post("/join") { request, _ -> Response in
            do {
                let fields = try formFields(String(buffer: try await request.body.collect(upTo: maximumBodySize)))
                guard let found = try await desk.session(token: fields["token"] ?? "") else { throw unknownLink }
                return signedIn(found, cookie: sessionCookie)
            } catch {
                return failure(error)
            }
        }
        router.get("/rate") { request, _ -> Response in
            do {
                guard let current = try await session(of: request) else { return redirect(to: "/") }
                let query = try formFields(request.uri.query ?? "")
                let task = try await desk.next(for: current.rater)
                return html(RatingPages.item(task, session: current, configuration: desk.configuration, saved: query["saved"] != nil, total: desk.items.count))
            } catch {
                return failure(error)
            }
        }
        router.post("/rate") { request, _ -> Response in
            do {
                guard let current = try await session(of: request) else { throw noSession }
                let body = try await request.body.collect(upTo: maximumBodySize)
                let fields = try formFields(String(buffer: body))
                guard let csrf = fields["csrf"], constantTimeEqual(Array(csrf.utf8), Array(current.csrf.utf8)) else {
                    throw RatingRejection(status: 403, "the form's check token is missing or wrong: reload the rating page and submit again")
                }
                try await submit(fields.filter { $0.key != "csrf" }, as: current.rater, to: desk)
                return redirect(to: "/rate?saved=1")
            } catch {
                return failure(error)
            }
        }
        router.get("/results") { request, _ -> Response in
            guard isOwner(request) else { return failure(ownersOnly) }
            do { return html(try RatingResults(desk: desk).html) } catch { return failure(error) }
        }
        router.get("/results.json") { request, _ -> Response in
            guard isOwner(request) else { return failure(ownersOnly) }
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                let data = try encoder.encode(try RatingResults(desk: desk))
                var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
                response.headers[.contentType] = "application/json"
                response.headers[.cacheControl] = "no-store"
                return response
            } catch {
                return failure(error)
            }
        }
        return router
    }

    /// ``refuseCrossSite(_:)`` in front of every POST route.
    struct SameSitePosts: RouterMiddleware {
        func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
            if request.method == .post {
                do { try refuseCrossSite(request) } catch { return failure(error) }
            }
            return try await next(request, context)
        }
    }

    /// Refuses a form post another site made the browser send: its `Sec-Fetch-Site` is not
    /// same-origin (or none, typed by the user), or its `Origin` is not this server's.
    /// Clients that send neither header (scripts, curl) are not browsers and pass.
    static func refuseCrossSite(_ request: Request) throws(RatingRejection) {
        let refusal = RatingRejection(status: 403, "form posts from another site are refused")
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], !["same-origin", "none"].contains(site.lowercased()) { throw refusal }
        if let origin = request.headers[.origin] {
            guard let host = request.head.authority, ["http://\(host)", "https://\(host)"].contains(origin.lowercased()) else { throw refusal }
        }
    }

    /// The value of cookie `name` in the request's `Cookie` headers.
    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name { return parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return nil
    }

    /// 303 to `/rate` with the session cookie set: HttpOnly (no script reads it), SameSite=Lax
    /// (not sent with another site's form posts), for a year.
    static func signedIn(_ session: RaterSession, cookie: String) -> Response {
        var response = redirect(to: "/rate")
        response.headers[.setCookie] = "\(cookie)=\(session.token); Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000"
        return response
    }

    static func redirect(to location: String) -> Response {
        var response = Response(status: .seeOther)
        response.headers[.location] = location
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Sends a parsed form to the desk as rater `rater`: scores in rating mode, a choice in pairwise mode.
    static func submit(_ fields: [String: String], as rater: String, to desk: RatingDesk) async throws {
        let allowed: Set<String> = desk.configuration.mode == .rating ? ["item"] : ["item", "choice", "note"]
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) && !(desk.configuration.mode == .rating && $0.hasPrefix("score_")) }) {
            throw RatingRejection(status: 400, "unknown form field '\(unknown.prefix(40))'")
        }
        guard let item = fields["item"] else { throw RatingRejection(status: 400, "the form needs 'item'") }
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
    static func failure(_ error: any Error) -> Response {
        let (status, message): (Int, String)
        switch error {
        case let rejection as RatingRejection: (status, message) = (rejection.status, rejection.message)
        case let http as any HTTPResponseError where http.status == .contentTooLarge:
            (status, message) = (413, "the request body is larger than \(maximumBodySize) bytes")
        case let http as any HTTPResponseError: (status, message) = (Int(http.status.code), "\(error)")
        default: (status, message) = (500, "the server failed: \(error)")
        }
        return html(RatingPages.error(status: status, message: message), status: HTTPResponse.Status(code: status))
    }

    /// A fresh owner token: 128 random bits from the system's generator, as 32 hex digits.
    public static func newOwnerToken() -> String { RaterSession.randomHex() }

    /// Serves `desk` until interrupted (SIGINT/SIGTERM end it gracefully).
    /// - Parameters:
    ///   - host: the address to bind; 127.0.0.1 keeps the server on this machine.
    ///   - port: the port; 0 picks a free one.
    ///   - ownerToken: the secret the results pages need.
    ///   - limits: how long a client may take, and how long a shutdown waits.
    ///   - onRunning: called with the bound port once the server accepts connections.
    ///   - openSignUp: whether anyone may claim a name (else only invited raters' links work).
    public static func run(desk: RatingDesk, host: String = "127.0.0.1", port: Int, ownerToken: String, openSignUp: Bool = true,
                           limits: ConnectionLimits = .standard, onRunning: @escaping @Sendable (Int) -> Void) async throws {
        try await listen(router(desk: desk, ownerToken: ownerToken, openSignUp: openSignUp), host: host, port: port, limits: limits, onRunning: onRunning)
    }
}
