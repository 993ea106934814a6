// `rlhf rate` end to end: the real server process rated by clicking in headless Chromium, the
// database checked afterwards; kill -9 loses no acknowledged rating; exported pairwise labels
// train a reward model unchanged.

import Evaluation
import Rating
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Keeps redirects from being followed: the caller sees the 303 itself.
final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

let noRedirectSession = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)

/// A blocking HTTP request: (status after redirects, body); with `cookie`, sent with that Cookie
/// header and without following redirects.
func httpRequest(_ url: String, method: String = "GET", form: String? = nil, cookie: String? = nil) throws -> (Int, String) {
    var request = URLRequest(url: URL(string: url)!, timeoutInterval: 20)
    request.httpMethod = method
    if let form {
        request.httpBody = Data(form.utf8)
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
    }
    if let cookie { request.setValue(cookie, forHTTPHeaderField: "Cookie") }
    nonisolated(unsafe) var result: (Int, String)?
    nonisolated(unsafe) var failure: (any Error)?
    let done = DispatchSemaphore(value: 0)
    (cookie == nil ? URLSession.shared : noRedirectSession).dataTask(with: request) { data, response, error in
        if let error { failure = error } else { result = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self)) }
        done.signal()
    }.resume()
    done.wait()
    if let failure { throw failure }
    return result!
}

/// Writes samples of two sources, "good" and "plain", for `prompts` prompts.
func writeRatingSamples(in directory: URL, prompts: Int) throws -> (good: URL, plain: URL) {
    let good = directory.appendingPathComponent("good.jsonl"), plain = directory.appendingPathComponent("plain.jsonl")
    let goodLines = (0..<prompts).map { #"{"prompt":"Tell me about day \#($0).","response":"A good and happy day \#($0)."}"# }
    let plainLines = (0..<prompts).map { #"{"prompt":"Tell me about day \#($0).","response":"Day \#($0) came and went."}"# }
    try (goodLines.joined(separator: "\n") + "\n").write(to: good, atomically: true, encoding: .utf8)
    try (plainLines.joined(separator: "\n") + "\n").write(to: plain, atomically: true, encoding: .utf8)
    return (good, plain)
}

@Suite("rlhf rate")
struct RateCommandTests {
    @Test("pairwise in a real browser: a rater clicks through every pair, the database and results page agree, export trains a reward model",
          .enabled(if: chromium != nil))
    func pairwiseInBrowser() async throws {
        let directory = try scratchFolder("rate-pairwise")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (good, plain) = try writeRatingSamples(in: directory, prompts: 4)
        let db = directory.appendingPathComponent("pairs.sqlite").path
        let server = try ToolServer(["rate", "serve", "--samples", "good=\(good.path)", "--samples", "plain=\(plain.path)", "--mode", "pairwise", "--db", db])
        let browser = try await ChromiumDriver.start(executable: chromium!)
        try await browser.open(server.base + "/")
        try await browser.type("Ann Lee", into: "#rater")
        try await browser.click("#start")
        try await browser.wait(until: "location.pathname === '/rate' && document.querySelector('#progress') !== null")
        var seen: [String] = []
        var lefts = 0
        while try await browser.evaluate("document.querySelector('#finished') !== null") as? Bool != true {
            let item = try #require(try await browser.evaluate("document.querySelector('input[name=item]').value") as? String)
            #expect(!seen.contains(item), "item \(item) shown twice")
            seen.append(item)
            let page = try #require(try await browser.evaluate("document.body.innerText") as? String)
            #expect(!page.contains("good=") && !page.contains("plain"), "the page reveals a source")
            let leftIsGood = try #require(try await browser.evaluate("document.querySelector('#left').textContent.includes('good')") as? Bool)
            if leftIsGood { lefts += 1 }
            if seen.count == 1 { try await browser.type("clear winner", into: "#note") }
            try await browser.click(leftIsGood ? "#choose-left" : "#choose-right")
            try await browser.wait(until: "document.querySelector('#saved') !== null && document.querySelector('input[name=item]')?.value !== '\(item)'")
        }
        #expect(seen.count == 4)

        let store = try RatingStore(path: db)
        #expect(try store.journalMode() == "wal")
        let judgments = try store.judgments()
        #expect(judgments.count == 4)
        #expect(judgments.allSatisfy { $0.rater == "Ann Lee" && $0.choice == .a })  // "good" is source A: it came first
        #expect(judgments.filter { $0.note == "clear winner" }.count == 1)
        // The sides come from the session's random secret: what the page showed is what was recorded.
        #expect(judgments.filter { $0.shown == .aLeft }.count == lefts, "good was on the left \(lefts) of 4 times")

        // The results answer only the owner's link from the banner.
        let token = try #require(server.banner.firstMatch(of: /results\?token=([0-9a-f]{32})/)).1
        try await browser.open(server.base + "/results")
        #expect(try await browser.evaluate("document.querySelector('#pairs') === null") as? Bool == true)
        try await browser.open(server.base + "/results?token=\(token)")
        let results = try #require(try await browser.evaluate("document.querySelector('#pairs').innerText") as? String)
        #expect(results.contains("good") && results.contains("plain") && results.contains("1.000"))
        let key = try #require(try await browser.evaluate("document.querySelector('#key').innerText") as? String)
        #expect(seen.allSatisfy(key.contains))

        let pairs = directory.appendingPathComponent("pairs.jsonl")
        let (status, out, err) = try await runTool(["rate", "export", "--db", db, "--pairs", pairs.path])
        #expect(status == 0, "\(err)")
        #expect(out.contains("4 preference pairs from 4 judgments (0 ties left out)"))
        let exported = try jsonLines(String(contentsOf: pairs, encoding: .utf8))
        #expect(exported.count == 4 && exported.allSatisfy { ($0["chosen"] as? String)?.contains("good") == true && Set($0.keys) == ["prompt", "chosen", "rejected"] })

        // The labels train a reward model unchanged.
        let model = try await tinyCheckpoint(in: directory)
        let (trained, trainOut, trainErr) = try await runTool(["reward", "--data", pairs.path, "--model", model.path, "--runs_dir", directory.appendingPathComponent("runs").path,
                                                         "--name", "rm", "--max_length", "48", "--batch_size", "2", "--valid_fraction", "0", "--max_steps", "2"])
        #expect(trained == 0, "\(trainErr)")
        #expect(trainOut.contains("data: 4 pairwise examples"), "\(trainOut)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("runs/rm/final/model.safetensors").path))
    }

    @Test("rating mode in a real browser: scales are clicked, scores stored, results give per-source means", .enabled(if: chromium != nil))
    func ratingInBrowser() async throws {
        let directory = try scratchFolder("rate-scales")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (good, plain) = try writeRatingSamples(in: directory, prompts: 2)
        let db = directory.appendingPathComponent("ratings.sqlite").path
        let server = try ToolServer(["rate", "serve", "--samples", "good=\(good.path)", "--samples", "plain=\(plain.path)", "--db", db,
                                              "--scale", "positivity=1-5", "--scale", "sense=1-3"])
        let browser = try await ChromiumDriver.start(executable: chromium!)
        try await browser.open(server.base + "/")
        try await browser.type("Bo", into: "#rater")
        try await browser.click("#start")
        try await browser.wait(until: "location.pathname === '/rate' && document.querySelector('#progress') !== null")
        var rated = 0
        while try await browser.evaluate("document.querySelector('#finished') !== null") as? Bool != true {
            let item = try #require(try await browser.evaluate("document.querySelector('input[name=item]').value") as? String)
            let isGood = try #require(try await browser.evaluate("document.querySelector('#response').textContent.includes('good')") as? Bool)
            try await browser.click(isGood ? "label[for=positivity-5]" : "label[for=positivity-2]")
            try await browser.click("label[for=sense-3]")
            try await browser.click("#save")
            try await browser.wait(until: "document.querySelector('#finished') !== null || (document.querySelector('#saved') !== null && document.querySelector('input[name=item]')?.value !== '\(item)')")
            rated += 1
        }
        #expect(rated == 4)
        let ratings = try RatingStore(path: db).ratings()
        #expect(ratings.count == 4 && ratings.allSatisfy { $0.rater == "Bo" && $0.scores["sense"] == 3 })
        let (status, out, err) = try await runTool(["rate", "results", "--db", db, "--json"])
        #expect(status == 0, "\(err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let scales = try #require(object["scales"] as? [[String: Any]])
        let goodPositivity = scales.first { $0["source"] as? String == "good" && $0["scale"] as? String == "positivity" }
        #expect(goodPositivity?["mean"] as? Double == 5 && goodPositivity?["count"] as? Int == 2)
        let plainPositivity = scales.first { $0["source"] as? String == "plain" && $0["scale"] as? String == "positivity" }
        #expect(plainPositivity?["mean"] as? Double == 2)
    }

    @Test("hostile text in every field that reaches a page (prompts, responses, sources, title, instructions, scale texts) is shown as text in a real browser: no script runs, no element is injected",
          .enabled(if: chromium != nil))
    func hostileTextInBrowser() async throws {
        let directory = try scratchFolder("rate-hostile")
        defer { try? FileManager.default.removeItem(at: directory) }
        let payloads = ["\u{600}<img src=x onerror=window.__xss=1>\u{301}", "<script>window.__xss=2</script>", "' onmouseover='window.__xss=3' x='",
                        "\" autofocus onfocus=\"window.__xss=4\" x=\"", "</textarea><svg onload=window.__xss=5>", "&amp; &lt;b&gt; \u{202E}"]
        let joined = payloads.joined(separator: " | ")
        func json(_ text: String) throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]), as: UTF8.self).dropFirst().dropLast().description }
        let samples = directory.appendingPathComponent("samples.jsonl")
        let lines = try payloads.enumerated().flatMap { index, payload in
            try ["A\(payload)", "B\(payload)"].map { source in
                #"{"source":\#(try json(source)),"prompt":\#(try json("prompt \(index) " + payload)),"response":\#(try json("response " + payload))}"#
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(to: samples, atomically: true, encoding: .utf8)
        let session = directory.appendingPathComponent("session.json")
        let sessionObject: [String: Any] = ["title": "Title " + joined, "instructions": "Rate " + joined, "mode": "rating",
                                            "scales": [["name": "joy", "min": 1, "max": 3, "question": "Q " + joined, "low_label": "low " + joined, "high_label": "high " + joined]]]
        try JSONSerialization.data(withJSONObject: sessionObject).write(to: session)
        let server = try ToolServer(["rate", "serve", "--samples", samples.path, "--session", session.path, "--db", directory.appendingPathComponent("db.sqlite").path])
        let token = try #require(server.banner.firstMatch(of: /results\?token=([0-9a-f]{32})/)).1
        let browser = try await ChromiumDriver.start(executable: chromium!)
        /// Nothing injected ran or was made: no script, image, SVG or inline handler, and the marker is unset.
        func expectInert(_ page: String) async throws {
            let injected = try await browser.evaluate("document.querySelectorAll('script, img, svg, iframe, [onerror], [onload], [onfocus], [onmouseover], [autofocus]').length")
            #expect(injected as? Int == 0, "\(page): \(String(describing: injected)) injected elements")
            #expect(try await browser.evaluate("typeof window.__xss") as? String == "undefined", "\(page): a script ran")
        }
        try await browser.open(server.base + "/")
        try await expectInert("start")
        #expect(try await browser.evaluate("document.title") as? String == "Title " + joined)
        #expect((try await browser.evaluate("document.body.textContent") as? String)?.contains("Rate " + joined) == true)
        try await browser.type("Eve", into: "#rater")
        try await browser.click("#start")
        try await browser.wait(until: "location.pathname === '/rate' && document.querySelector('#progress') !== null")
        for _ in 0..<3 {
            try await expectInert("item")
            let text = try #require(try await browser.evaluate("document.querySelector('#response').textContent") as? String)
            #expect(payloads.contains { text == "response " + $0 }, "\(text)")
            let legend = try #require(try await browser.evaluate("document.querySelector('legend').textContent") as? String)
            #expect(legend == "Q " + joined)
            let item = try #require(try await browser.evaluate("document.querySelector('input[name=item]').value") as? String)
            try await browser.click("label[for=joy-2]")
            try await browser.click("#save")
            try await browser.wait(until: "document.querySelector('#saved') !== null && document.querySelector('input[name=item]')?.value !== '\(item)'")
        }
        try await browser.open(server.base + "/results?token=\(token)")
        try await expectInert("results")
        let results = try #require(try await browser.evaluate("document.body.innerText") as? String)
        #expect(results.contains("A" + payloads[1]) && results.contains("B" + payloads[4]), "the source names are shown as text")
    }

    @Test("rate sample: every checkpoint answers every prompt of a CSV column; the file is a samples file")
    func sample() async throws {
        let directory = try scratchFolder("rate-sample")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try await tinyCheckpoint(in: directory)
        let prompts = directory.appendingPathComponent("prompts.csv")
        try "act,prompt\nbard,\"Human: hello, there\"\nfool,Human: hi\n".write(to: prompts, atomically: true, encoding: .utf8)
        let samples = directory.appendingPathComponent("samples.jsonl")
        let (status, out, err) = try await runTool(["rate", "sample", "--model", "early=\(model.path)", "--model", "late=\(model.path)", "--prompts", prompts.path,
                                              "--max-new-tokens", "4", "--output", samples.path])
        #expect(status == 0, "\(err)")
        #expect(out.contains("2 prompts × 2 models = 4 samples"))
        let records = try jsonLines(String(contentsOf: samples, encoding: .utf8))
        #expect(records.map { $0["source"] as? String } == ["early", "early", "late", "late"])
        #expect(records.map { $0["prompt"] as? String } == ["Human: hello, there", "Human: hi", "Human: hello, there", "Human: hi"])
        // Same checkpoint, same seed: the same responses.
        #expect(records[0]["response"] as? String == records[2]["response"] as? String)
        let (missing, _, missingErr) = try await runTool(["rate", "sample", "--model", "a=\(model.path)", "--prompts", prompts.path, "--prompt-field", "question",
                                                    "--output", samples.path])
        #expect(missing != 0 && missingErr.contains("prompts.csv") && missingErr.contains("question"), "\(missingErr)")
    }

    @Test("kill -9 loses no acknowledged rating: submit, kill, restart, count")
    func killNineKeepsAcknowledgedRatings() async throws {
        let directory = try scratchFolder("rate-kill")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (good, plain) = try writeRatingSamples(in: directory, prompts: 6)
        let db = directory.appendingPathComponent("ratings.sqlite").path
        var server = try ToolServer(["rate", "serve", "--samples", good.path, "--samples", plain.path, "--db", db, "--rater", "Cy", "--invite-only"])
        let link = String(try #require(server.banner.firstMatch(of: /link for Cy: (http:\/\/\S+)/)).1)
        let token = String(try #require(link.firstMatch(of: /join\/([0-9a-f]{32})/)).1)
        let cookie = "\(try RatingDesk(store: RatingStore(path: db)).cookieName())=\(token)"
        var acknowledged = 0
        var rated: [String] = []
        for _ in 0..<7 {
            let (_, page) = try httpRequest(server.base + "/rate", cookie: cookie)
            let item = try #require(page.firstMatch(of: /name=item value='([0-9a-f]+)'/)).1
            let csrf = try #require(page.firstMatch(of: /name=csrf value='([0-9a-f]+)'/)).1
            let (status, _) = try httpRequest(server.base + "/rate", method: "POST", form: "csrf=\(csrf)&item=\(item)&score_positivity=4&score_sense=2", cookie: cookie)
            if status == 303 { acknowledged += 1 }
            rated.append(String(item))
        }
        #expect(acknowledged == 7)
        server.killHard()
        #expect(try RatingStore(path: db).submissionCount() == 7)

        server = try ToolServer(["rate", "serve", "--db", db, "--rater", "Cy"])  // goes on without --samples; Cy's link is the same
        #expect(server.banner.contains("/join/\(token)"))
        let (_, page) = try httpRequest(server.base + "/rate", cookie: cookie)
        #expect(page.contains("Item 8 of 12"))
        let next = try #require(page.firstMatch(of: /name=item value='([0-9a-f]+)'/)).1
        let csrf = try #require(page.firstMatch(of: /name=csrf value='([0-9a-f]+)'/)).1
        #expect(!rated.contains(String(next)), "a rated item was shown again after the restart")
        let (replay, _) = try httpRequest(server.base + "/rate", method: "POST", form: "csrf=\(csrf)&item=\(rated[0])&score_positivity=1&score_sense=1", cookie: cookie)
        #expect(replay == 409)
        let (status, out, _) = try await runTool(["rate", "results", "--db", db, "--json"])
        #expect(status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(object["submissions"] as? Int == 7)

        // Other samples with the same database are refused with a clear message.
        let (refused, _, err) = try await runTool(["rate", "serve", "--samples", good.path, "--db", db, "--port", "0"])
        #expect(refused != 0 && err.contains("other samples"), "\(err)")
    }
}
