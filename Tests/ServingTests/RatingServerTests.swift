// The rating server's routes in process: pages hide the sources, a valid form is committed before
// the 303, and every invalid submission gets a 4xx and changes nothing.

import Evaluation
import Rating
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Serving
import Testing

func ratingDesk(mode: RatingMode, name: String) throws -> RatingDesk {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("serving-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let samples = (0..<3).flatMap { i in
        [RatingSample(source: "secret-model-a", prompt: "Prompt \(i) <b>", response: "Answer A\(i)"),
         RatingSample(source: "secret-model-b", prompt: "Prompt \(i) <b>", response: "Answer B\(i)")]
    }
    return try RatingDesk(store: RatingStore(path: folder.appendingPathComponent("db.sqlite").path),
                          configuration: RatingSessionConfiguration(mode: mode, scales: [RatingScale(name: "joy", minimum: 1, maximum: 5)]),
                          samples: samples)
}

let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

/// A rater signed in through the start page's form: the headers that carry the session cookie, and the page's CSRF token.
struct SignedIn {
    var headers: HTTPFields
    var csrf: String
    var token: String
}

func signIn(_ client: some TestClientProtocol, _ name: String) async throws -> SignedIn {
    let response = try await client.execute(uri: "/session", method: .post, headers: formHeaders,
                                            body: ByteBuffer(string: "rater=" + RatingServer.queryEscaped(name)))
    #expect(response.status == .seeOther && response.headers[.location] == "/rate", "\(String(buffer: response.body))")
    let cookie = try #require(response.headers[.setCookie])
    #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"))
    let match = try #require(cookie.firstMatch(of: /(rlhf_rater_[0-9a-f]{12})=([0-9a-f]{32});/))
    let token = String(match.2)
    var headers = formHeaders
    headers[.cookie] = "\(match.1)=\(token)"
    let page = String(buffer: try await client.execute(uri: "/rate", method: .get, headers: headers).body)
    let csrf = String(try #require(page.firstMatch(of: /name=csrf value='([0-9a-f]{32})'/)).1)
    return SignedIn(headers: headers, csrf: csrf, token: token)
}

/// Runs `body` against the rating routes of `desk` (owner token "owner-secret") with `name` signed in.
func withSignedIn(_ desk: RatingDesk, _ name: String = "Ann", _ body: @escaping @Sendable (any TestClientProtocol, SignedIn) async throws -> Void) async throws {
    try await Application(router: RatingServer.router(desk: desk, ownerToken: "owner-secret")).test(.router) { client in
        try await body(client, try await signIn(client, name))
    }
}

@Suite("Rating server")
struct RatingServerTests {
    @Test("pages hide sources and escape text; a valid rating is committed, then 303 to the next item")
    func ratingFlow() async throws {
        let desk = try ratingDesk(mode: .rating, name: "flow")
        let app = Application(router: RatingServer.router(desk: desk, ownerToken: "owner-secret"))
        try await app.test(.router) { client in
            let start = try await client.execute(uri: "/", method: .get)
            #expect(start.status == .ok && String(buffer: start.body).contains("name=rater"))
            let ann = try await signIn(client, "Ann Lee")
            let page = try await client.execute(uri: "/rate", method: .get, headers: ann.headers)
            let html = String(buffer: page.body)
            #expect(page.status == .ok && html.contains("Item 1 of 6") && html.contains("rating as Ann Lee") && html.contains("/join/\(ann.token)"))
            #expect(!html.contains("secret-model") && html.contains("Prompt") && !html.contains("<b>"))
            let item = try #require(html.firstMatch(of: /name=item value='([0-9a-f]{16})'/)).1
            let saved = try await client.execute(uri: "/rate", method: .post, headers: ann.headers,
                                                 body: ByteBuffer(string: "csrf=\(ann.csrf)&item=\(item)&score_joy=4"))
            #expect(saved.status == .seeOther && saved.headers[.location] == "/rate?saved=1")
            #expect(try desk.store.ratings() == [StoredRating(itemID: String(item), rater: "Ann Lee", scores: ["joy": 4])])
            let next = String(buffer: try await client.execute(uri: "/rate?saved=1", method: .get, headers: ann.headers).body)
            #expect(next.contains("Saved.") && next.contains("Item 2 of 6") && !next.contains("value='\(item)'"))
            // The results (the blinding key) are the owner's: without the token, or with a wrong one, 403 and nothing revealed.
            for uri in ["/results", "/results.json", "/results?token=owner-secreT", "/results.json?token="] {
                let refused = try await client.execute(uri: uri, method: .get)
                #expect(refused.status == .forbidden && !String(buffer: refused.body).contains("secret-model"), "\(uri)")
            }
            #expect(!String(buffer: start.body).contains("/results") && !html.contains("/results"))
            let results = String(buffer: try await client.execute(uri: "/results?token=owner-secret", method: .get).body)
            #expect(results.contains("secret-model-a") && results.contains(String(item)))
            let byHeader = try await client.execute(uri: "/results", method: .get, headers: [.authorization: "Bearer owner-secret"])
            #expect(byHeader.status == .ok)
            let json = try await client.execute(uri: "/results.json?token=owner-secret", method: .get)
            #expect(json.headers[.contentType] == "application/json")
            #expect(try JSONDecoder().decode(RatingResults.self, from: Data(buffer: json.body)).submissions == 1)
        }
    }

    @Test("invalid submissions get 4xx and change nothing", arguments: [
        ("item=ITEM&score_joy=9", 400), ("item=ITEM&score_joy=x", 400), ("item=ITEM", 400),
        ("item=ITEM&score_joy=3&score_fun=2", 400), ("item=ITEM&score_joy=3&admin=1", 400),
        ("item=ITEM&score_joy=3&score_joy=4", 400), ("item=ITEM&score_joy=3&rater=Bob", 400), ("item=ITEM&score_joy=%ZZ", 400),
        ("item=ffffffffffffffff&score_joy=3", 404), ("item=ITEM&score_joy=3&note=" + String(repeating: "x", count: 20_000), 413),
    ])
    func invalidSubmissions(form: String, status: Int) async throws {
        let desk = try ratingDesk(mode: .rating, name: "invalid")
        let item = desk.items[0].id
        try await withSignedIn(desk) { client, ann in
            let response = try await client.execute(uri: "/rate", method: .post, headers: ann.headers,
                                                    body: ByteBuffer(string: "csrf=\(ann.csrf)&" + form.replacingOccurrences(of: "ITEM", with: item)))
            #expect(Int(response.status.code) == status, "\(String(buffer: response.body))")
            #expect(String(buffer: response.body).contains("id=error"))
        }
        #expect(try desk.store.submissionCount() == 0)
    }

    @Test("sessions: a name is claimed once; no submission without the session's cookie and CSRF token; cross-site posts are refused")
    func sessions() async throws {
        let desk = try ratingDesk(mode: .rating, name: "sessions")
        let item = desk.items[0].id
        try await withSignedIn(desk) { client, ann in
            let form = ByteBuffer(string: "csrf=\(ann.csrf)&item=\(item)&score_joy=3")
            // Someone else typing "Ann" (in either Unicode spelling of a name) cannot become Ann.
            for name in ["Ann", "Zoe\u{308}"] {
                if name != "Ann" { _ = try await signIn(client, "Zo\u{EB}") }
                let taken = try await client.execute(uri: "/session", method: .post, headers: formHeaders, body: ByteBuffer(string: "rater=" + RatingServer.queryEscaped(name)))
                #expect(taken.status == .conflict && taken.headers[.setCookie] == nil, "\(name)")
            }
            // No cookie, an unknown token, Ann's form with Mallory's session or no token: 403.
            let mallory = try await signIn(client, "Mallory")
            var unknown = formHeaders
            unknown[.cookie] = (try desk.cookieName()) + "=" + String(repeating: "0", count: 32)
            let attempts: [(HTTPFields, ByteBuffer)] = [
                (formHeaders, form), (unknown, form), (mallory.headers, form),
                (ann.headers, ByteBuffer(string: "item=\(item)&score_joy=3")), (ann.headers, ByteBuffer(string: "csrf=\(mallory.csrf)&item=\(item)&score_joy=3")),
            ]
            for (headers, body) in attempts {
                let refused = try await client.execute(uri: "/rate", method: .post, headers: headers, body: body)
                #expect(refused.status == .forbidden, "\(headers) \(String(buffer: body))")
            }
            // Another site's form, with Ann's cookie and even her token: refused by Origin or Sec-Fetch-Site.
            for (name, value) in [("Origin", "http://evil.example"), ("Origin", "null"), ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site")] {
                var headers = ann.headers
                headers[HTTPField.Name(name)!] = value
                #expect(try await client.execute(uri: "/rate", method: .post, headers: headers, body: form).status == .forbidden, "\(name): \(value)")
                #expect(try await client.execute(uri: "/session", method: .post, headers: headers.removingCookie, body: ByteBuffer(string: "rater=Eve")).status == .forbidden)
            }
            #expect(try desk.store.submissionCount() == 0)
            // The same page's post goes through.
            var sameOrigin = ann.headers
            sameOrigin[.origin] = "http://localhost"
            sameOrigin[HTTPField.Name("Sec-Fetch-Site")!] = "same-origin"
            #expect(try await client.execute(uri: "/rate", method: .post, headers: sameOrigin, body: form).status == .seeOther)
            #expect(try desk.store.ratings().map(\.rater) == ["Ann"])
            // The personal link asks first (opening it changes nothing), and a same-site post signs in on another
            // device; another site's post is refused (no login forgery); a wrong link is 404.
            let asked = try await client.execute(uri: "/join/\(ann.token)", method: .get)
            #expect(asked.status == .ok && asked.headers[.setCookie] == nil && String(buffer: asked.body).contains("id=join"))
            var forged = formHeaders
            forged[.origin] = "http://evil.example"
            #expect(try await client.execute(uri: "/join", method: .post, headers: forged, body: ByteBuffer(string: "token=\(ann.token)")).status == .forbidden)
            let joined = try await client.execute(uri: "/join", method: .post, headers: formHeaders, body: ByteBuffer(string: "token=\(ann.token)"))
            let cookieName = try desk.cookieName()
            #expect(joined.status == .seeOther && joined.headers[.setCookie]?.hasPrefix("\(cookieName)=\(ann.token);") == true)
            #expect(try await client.execute(uri: "/join/\(String(repeating: "a", count: 32))", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/join", method: .post, headers: formHeaders, body: ByteBuffer(string: "token=\(String(repeating: "a", count: 32))")).status == .notFound)
            let anonymous = try await client.execute(uri: "/rate", method: .get)
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/")
        }
    }

    @Test("invite only: the start page has no name box, sign-up is refused, an invited rater's link works")
    func inviteOnly() async throws {
        let desk = try ratingDesk(mode: .rating, name: "invite")
        let bo = try await desk.invite(name: "Bo")
        #expect(try await desk.invite(name: "Bo") == bo)  // the same link on every start
        let app = Application(router: RatingServer.router(desk: desk, ownerToken: "owner-secret", openSignUp: false))
        try await app.test(.router) { client in
            let start = String(buffer: try await client.execute(uri: "/", method: .get).body)
            #expect(!start.contains("name=rater") && start.contains("id=invite-only"))
            #expect(try await client.execute(uri: "/session", method: .post, headers: formHeaders, body: ByteBuffer(string: "rater=Bo")).status == .forbidden)
            let joined = try await client.execute(uri: "/join", method: .post, headers: formHeaders, body: ByteBuffer(string: "token=\(bo.token)"))
            #expect(joined.status == .seeOther)
            var headers = formHeaders
            headers[.cookie] = "\(try desk.cookieName())=\(bo.token)"
            let page = String(buffer: try await client.execute(uri: "/rate", method: .get, headers: headers).body)
            #expect(page.contains("rating as Bo") && page.contains("name=csrf value='\(bo.csrf)'"))
        }
    }

    @Test("reflected: a hostile form field name or rater name comes back escaped in the error page")
    func reflectedFieldEscaped() async throws {
        let desk = try ratingDesk(mode: .rating, name: "reflected")
        try await withSignedIn(desk) { client, ann in
            let hostile = RatingServer.queryEscaped("\u{600}<img src=x onerror=alert(1)>\u{301}")
            let response = try await client.execute(uri: "/rate", method: .post, headers: ann.headers,
                                                    body: ByteBuffer(string: "csrf=\(ann.csrf)&item=\(desk.items[0].id)&\(hostile)=1"))
            let page = String(buffer: response.body)
            #expect(response.status == .badRequest && page.contains("&lt;img") && !page.contains("<img"), "\(page)")
            let name = try await client.execute(uri: "/session", method: .post, headers: formHeaders, body: ByteBuffer(string: "rater=\(hostile)"))
            #expect(name.status == .badRequest && !String(buffer: name.body).contains("<img"))
        }
    }

    @Test("names rated before sessions existed cannot be claimed on the start page, only through the owner's link; each database has its own cookie")
    func unclaimedNames() async throws {
        let desk = try ratingDesk(mode: .rating, name: "legacy")
        #expect(try await desk.store.insertRating(itemID: desk.items[0].id, rater: "Old", scores: ["joy": 2]))  // as an old database holds it
        #expect(try desk.unclaimedRaters() == ["Old"])
        await #expect(throws: RatingRejection.self) { try await desk.signIn(name: "Old") }
        let old = try await desk.invite(name: "Old")
        #expect(try desk.unclaimedRaters().isEmpty && (try desk.invitedRaters()) == [old])
        #expect(try await desk.session(token: old.token)?.rater == "Old")
        #expect(try ratingDesk(mode: .rating, name: "other").cookieName() != desk.cookieName())
    }

    @Test("a replayed submission gets 409 and keeps the first rating")
    func replay() async throws {
        let desk = try ratingDesk(mode: .rating, name: "replay")
        let item = desk.items[0].id
        try await withSignedIn(desk) { client, ann in
            let first = try await client.execute(uri: "/rate", method: .post, headers: ann.headers, body: ByteBuffer(string: "csrf=\(ann.csrf)&item=\(item)&score_joy=2"))
            #expect(first.status == .seeOther)
            let again = try await client.execute(uri: "/rate", method: .post, headers: ann.headers, body: ByteBuffer(string: "csrf=\(ann.csrf)&item=\(item)&score_joy=5"))
            #expect(again.status == .conflict)
        }
        #expect(try desk.store.ratings().map(\.scores) == [["joy": 2]])
    }

    @Test("pairwise: the page shows left/right without sources; the choice is stored in A/B terms; scores are refused")
    func pairwise() async throws {
        let desk = try ratingDesk(mode: .pairwise, name: "pairwise")
        try await withSignedIn(desk) { client, ann in
            let html = String(buffer: try await client.execute(uri: "/rate", method: .get, headers: ann.headers).body)
            #expect(html.contains("id=choose-left") && html.contains("id=choose-tie") && !html.contains("secret-model"))
            let item = try #require(html.firstMatch(of: /name=item value='([0-9a-f]{16})'/)).1
            let left = try #require(html.firstMatch(of: /id=left>([^<]*)</)).1
            let wrong = try await client.execute(uri: "/rate", method: .post, headers: ann.headers, body: ByteBuffer(string: "csrf=\(ann.csrf)&item=\(item)&score_joy=3"))
            #expect(wrong.status == .badRequest)
            let bad = try await client.execute(uri: "/rate", method: .post, headers: ann.headers, body: ByteBuffer(string: "csrf=\(ann.csrf)&item=\(item)&choice=both"))
            #expect(bad.status == .badRequest)
            let saved = try await client.execute(uri: "/rate", method: .post, headers: ann.headers,
                                                 body: ByteBuffer(string: "csrf=\(ann.csrf)&item=\(item)&choice=left&note=close+call"))
            #expect(saved.status == .seeOther)
            let judgment = try #require(try desk.store.judgments().first)
            #expect(judgment.note == "close call")
            #expect(judgment.choice == (left.hasPrefix("Answer A") ? .a : .b))
        }
    }

    @Test("form decoding: plus is a space, percent escapes decode, repeated fields are refused")
    func formDecoding() throws {
        #expect(try RatingServer.formFields("a=1+2&b=%C3%A9t%C3%A9&c=") == ["a": "1 2", "b": "été", "c": ""])
        #expect(throws: RatingRejection.self) { try RatingServer.formFields("a=1&a=2") }
        #expect(RatingServer.queryEscaped("Ann Lee") == "Ann%20Lee")
    }
}

extension HTTPFields {
    /// These fields without the Cookie header.
    var removingCookie: HTTPFields {
        var copy = self
        copy[.cookie] = nil
        return copy
    }
}
