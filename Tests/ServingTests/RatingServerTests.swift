// The rating server's routes in process: pages hide the sources, a valid form is committed before
// the 303, and every invalid submission gets a 4xx and changes nothing.

import Evaluation
import Foundation
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

@Suite("Rating server")
struct RatingServerTests {
    @Test("pages hide sources and escape text; a valid rating is committed, then 303 to the next item")
    func ratingFlow() async throws {
        let desk = try ratingDesk(mode: .rating, name: "flow")
        let app = Application(router: RatingServer.router(desk: desk, ownerToken: "owner-secret"))
        try await app.test(.router) { client in
            let start = try await client.execute(uri: "/", method: .get)
            #expect(start.status == .ok && String(buffer: start.body).contains("name=rater"))
            let page = try await client.execute(uri: "/rate?rater=Ann+Lee", method: .get)
            let html = String(buffer: page.body)
            #expect(page.status == .ok && html.contains("Item 1 of 6") && html.contains("rating as Ann Lee"))
            #expect(!html.contains("secret-model") && html.contains("Prompt") && !html.contains("<b>"))
            let item = try #require(html.firstMatch(of: /name=item value='([0-9a-f]{16})'/)).1
            let saved = try await client.execute(uri: "/rate", method: .post, headers: formHeaders,
                                                 body: ByteBuffer(string: "rater=Ann+Lee&item=\(item)&score_joy=4"))
            #expect(saved.status == .seeOther && saved.headers[.location] == "/rate?rater=Ann%20Lee&saved=1")
            #expect(try desk.store.ratings() == [StoredRating(itemID: String(item), rater: "Ann Lee", scores: ["joy": 4])])
            let next = String(buffer: try await client.execute(uri: "/rate?rater=Ann%20Lee&saved=1", method: .get).body)
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
        ("rater=Ann&item=ITEM&score_joy=9", 400), ("rater=Ann&item=ITEM&score_joy=x", 400), ("rater=Ann&item=ITEM", 400),
        ("rater=Ann&item=ITEM&score_joy=3&score_fun=2", 400), ("rater=Ann&item=ITEM&score_joy=3&admin=1", 400),
        ("rater=Ann&item=ITEM&score_joy=3&score_joy=4", 400), ("rater=&item=ITEM&score_joy=3", 400), ("rater=Ann&item=ITEM&score_joy=%ZZ", 400),
        ("rater=Ann&item=ffffffffffffffff&score_joy=3", 404), ("rater=Ann&item=ITEM&score_joy=3&note=" + String(repeating: "x", count: 20_000), 413),
    ])
    func invalidSubmissions(form: String, status: Int) async throws {
        let desk = try ratingDesk(mode: .rating, name: "invalid")
        let item = desk.items[0].id
        let app = Application(router: RatingServer.router(desk: desk, ownerToken: "owner-secret"))
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/rate", method: .post, headers: formHeaders,
                                                    body: ByteBuffer(string: form.replacingOccurrences(of: "ITEM", with: item)))
            #expect(Int(response.status.code) == status, "\(String(buffer: response.body))")
            #expect(String(buffer: response.body).contains("id=error"))
        }
        #expect(try desk.store.submissionCount() == 0)
    }

    @Test("a replayed submission gets 409 and keeps the first rating")
    func replay() async throws {
        let desk = try ratingDesk(mode: .rating, name: "replay")
        let item = desk.items[0].id
        let app = Application(router: RatingServer.router(desk: desk, ownerToken: "owner-secret"))
        try await app.test(.router) { client in
            let first = try await client.execute(uri: "/rate", method: .post, headers: formHeaders, body: ByteBuffer(string: "rater=Ann&item=\(item)&score_joy=2"))
            #expect(first.status == .seeOther)
            let again = try await client.execute(uri: "/rate", method: .post, headers: formHeaders, body: ByteBuffer(string: "rater=Ann&item=\(item)&score_joy=5"))
            #expect(again.status == .conflict)
        }
        #expect(try desk.store.ratings().map(\.scores) == [["joy": 2]])
    }

    @Test("pairwise: the page shows left/right without sources; the choice is stored in A/B terms; scores are refused")
    func pairwise() async throws {
        let desk = try ratingDesk(mode: .pairwise, name: "pairwise")
        let app = Application(router: RatingServer.router(desk: desk, ownerToken: "owner-secret"))
        try await app.test(.router) { client in
            let html = String(buffer: try await client.execute(uri: "/rate?rater=Ann", method: .get).body)
            #expect(html.contains("id=choose-left") && html.contains("id=choose-tie") && !html.contains("secret-model"))
            let item = try #require(html.firstMatch(of: /name=item value='([0-9a-f]{16})'/)).1
            let left = try #require(html.firstMatch(of: /id=left>([^<]*)</)).1
            let wrong = try await client.execute(uri: "/rate", method: .post, headers: formHeaders, body: ByteBuffer(string: "rater=Ann&item=\(item)&score_joy=3"))
            #expect(wrong.status == .badRequest)
            let bad = try await client.execute(uri: "/rate", method: .post, headers: formHeaders, body: ByteBuffer(string: "rater=Ann&item=\(item)&choice=both"))
            #expect(bad.status == .badRequest)
            let saved = try await client.execute(uri: "/rate", method: .post, headers: formHeaders,
                                                 body: ByteBuffer(string: "rater=Ann&item=\(item)&choice=left&note=close+call"))
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
