// Blind rating sessions: Krippendorff's alpha against published values, item building and
// blinding, the desk's validation (nothing written on a refused submission), results, export.

import Datasets
import Evaluation
import Rating
import Foundation
import Testing

func ratingFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rating-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Two sources answering the same prompts, and a third answering only the first prompt.
let pairSamples: [RatingSample] = (0..<3).flatMap { i in
    [RatingSample(source: "alpha", prompt: "p\(i)", response: "alpha says \(i)"), RatingSample(source: "beta", prompt: "p\(i)", response: "beta says \(i)")]
} + [RatingSample(source: "gamma", prompt: "p0", response: "gamma says 0")]

@Suite("Rating sessions")
struct RatingTests {
    @Test("Krippendorff's alpha: the published example (nominal 0.743, interval 0.849) and a pairwise case")
    func krippendorff() {
        // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units
        // (unit 12 has one value and is not pairable). The `krippendorff` PyPI package (0.8) gives
        // 0.743421052631579 (nominal) and 0.8491071428571428 (interval) for the same data.
        let units: [[Double]] = [[1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4], [4, 4, 4, 4],
                                 [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5], [1, 1], [3]]
        #expect(abs(KrippendorffAlpha.alpha(units: units, metric: .nominal)! - 0.743421052631579) < 1e-12)
        #expect(abs(KrippendorffAlpha.alpha(units: units, metric: .interval)! - 0.8491071428571428) < 1e-12)
        // Choices a=0, b=1, tie=2 by three raters on five pairs; the same package gives 0.5555555555555556.
        let choices: [[Double]] = [[0, 0, 0], [1, 1], [0, 1, 0], [2, 2, 2], [0, 1]]
        #expect(abs(KrippendorffAlpha.alpha(units: choices, metric: .nominal)! - 0.5555555555555556) < 1e-12)
        #expect(KrippendorffAlpha.alpha(units: [[1, 2]], metric: .interval) == nil)          // one pairable unit
        #expect(KrippendorffAlpha.alpha(units: [[3, 3], [3, 3]], metric: .interval) == nil)  // no variation
        #expect(KrippendorffAlpha.pairwiseAgreement(units: [[1, 1, 2], [4, 4]]) == 2.0 / 4)
    }

    @Test("an item id is the first 16 hex digits of SHA-256 over the secret, the seed and the sample, so ids stored in existing databases keep matching")
    func storedIdentifiers() throws {
        // Python: hashlib.sha256("7\x1falpha\x1fROMEO:\x1fhello".encode()).hexdigest()[:16]
        let items = try RatingItems.make(samples: [RatingSample(source: "alpha", prompt: "ROMEO:", response: "hello")], mode: .rating, seed: 7)
        #expect(items.map(\.id) == ["42ebf855d85ae744"])
    }

    @Test("pairwise items: every two sources per shared prompt; ids opaque; orders per rater; sides vary and are fixed")
    func itemsAndBlinding() throws {
        let items = try RatingItems.make(samples: pairSamples, mode: .pairwise, seed: 7)
        #expect(items.count == 5)  // alpha–beta on p0, p1, p2; alpha–gamma and beta–gamma on p0
        #expect(items.filter { $0.source == "alpha" && $0.secondSource == "beta" }.count == 3)
        #expect(items.contains { $0.source == "beta" && $0.secondSource == "gamma" && $0.prompt == "p0" })
        #expect(Set(items.map(\.id)).count == 5 && items.allSatisfy { $0.id.count == 16 && !$0.id.contains("alpha") })
        #expect(try RatingItems.make(samples: pairSamples, mode: .pairwise, seed: 7) == items)
        #expect(try RatingItems.make(samples: pairSamples, mode: .pairwise, seed: 8).map(\.id) != items.map(\.id))

        let many = try RatingItems.make(samples: (0..<40).map { RatingSample(source: $0 % 2 == 0 ? "x" : "y", prompt: "q\($0 / 2)", response: "r\($0)") },
                                        mode: .pairwise, seed: 1)
        let orderA = RatingItems.order(many, rater: "Ann", seed: 1).map(\.id), orderB = RatingItems.order(many, rater: "Ben", seed: 1).map(\.id)
        #expect(orderA != orderB && Set(orderA) == Set(orderB) && orderA.count == 20)
        let swapped = many.filter { RatingItems.side(of: $0, rater: "Ann", seed: 1) == .bLeft }.count
        #expect(swapped > 3 && swapped < 17, "\(swapped) of 20 pairs swapped")
        #expect(many.map { RatingItems.side(of: $0, rater: "Ann", seed: 1) } == many.map { RatingItems.side(of: $0, rater: "Ann", seed: 1) })

        #expect(throws: RatingError.singleSource("alpha")) { try RatingItems.make(samples: [pairSamples[0]], mode: .pairwise, seed: 0) }
        #expect(throws: RatingError.noSharedPrompts) {
            try RatingItems.make(samples: [pairSamples[0], RatingSample(source: "beta", prompt: "elsewhere", response: "r")], mode: .pairwise, seed: 0)
        }
        #expect(throws: RatingError.noSamples) { try RatingItems.make(samples: [], mode: .rating, seed: 0) }
        #expect(try RatingItems.make(samples: pairSamples, mode: .rating, seed: 0).count == pairSamples.count)
    }

    @Test("samples files: NAME=FILE, source fields, response field names; a record without a response names file and line")
    func samplesFiles() throws {
        let folder = try ratingFolder("samples")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("ckpt-40.jsonl")
        try #"{"prompt":"a","completion":"b"}\#n{"text":"c","source":"own"}\#n"#.write(to: file, atomically: true, encoding: .utf8)
        #expect(try RatingSample.read(file.path) == [RatingSample(source: "ckpt-40", prompt: "a", response: "b"), RatingSample(source: "own", prompt: "", response: "c")])
        #expect(try RatingSample.read("ppo=\(file.path)").map(\.source) == ["ppo", "ppo"])
        let bad = folder.appendingPathComponent("bad.jsonl")
        try #"{"prompt":"a","completion":"b"}\#n{"prompt":"a","answer":"b"}\#n"#.write(to: bad, atomically: true, encoding: .utf8)
        let error = try #require(throws: DatasetError.self) { try RatingSample.read(bad.path) }
        #expect(error.path == bad.path && error.line == 2 && error.message.hasPrefix("expected a response field"), "\(error)")
    }

    @Test("session files: YAML with scales; bad scales are named")
    func sessionFiles() throws {
        let folder = try ratingFolder("session")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("session.yaml")
        try "title: Sonnets\nscales:\n  - {name: joy, min: 0, max: 10, low_label: grim}\nseed: 3\n".write(to: file, atomically: true, encoding: .utf8)
        let configuration = try RatingSessionConfiguration.read(file)
        #expect(configuration.title == "Sonnets" && configuration.mode == .rating && configuration.seed == 3)
        #expect(configuration.scales == [RatingScale(name: "joy", minimum: 0, maximum: 10, lowLabel: "grim")])
        try "scales:\n  - {name: Joy!, min: 1, max: 5}\n".write(to: file, atomically: true, encoding: .utf8)
        let error = try #require(throws: RatingError.self) { try RatingSessionConfiguration.read(file) }
        #expect(error == .invalidScaleName(source: file.path, name: "Joy!"))
        #expect(error.description == "\(file.path): scale name 'Joy!': expected 1–40 lowercase letters, digits, '_' or '-'")
        #expect(throws: RatingError.invalidScaleSpecification("joy=5")) { try RatingScale(parsing: "joy=5") }
        #expect(throws: RatingError.duplicateScale(source: "session", name: "joy")) {
            try RatingSessionConfiguration(scales: [RatingScale(name: "joy", minimum: 1, maximum: 5), RatingScale(name: "joy", minimum: 0, maximum: 2)]).validate()
        }
        #expect(throws: RatingError.invalidScaleRange(source: "session", name: "joy", minimum: 5, maximum: 5)) {
            try RatingSessionConfiguration(scales: [RatingScale(name: "joy", minimum: 5, maximum: 5)]).validate()
        }
        #expect(throws: RatingError.noScales(source: "session")) { try RatingSessionConfiguration(scales: []).validate() }
        #expect(try RatingScale(parsing: "joy=1-7") == RatingScale(name: "joy", minimum: 1, maximum: 7))
    }

    @Test("ids, orders and sides are keyed by a random secret kept in the database: two databases from the same samples differ, a reopened one keeps them, and no id is a hash of public facts")
    func secretKeyedPlacement() async throws {
        let folder = try ratingFolder("secret")
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = (0..<12).flatMap { i in ["x", "y"].map { RatingSample(source: $0, prompt: "p\(i)", response: "\($0) answers \(i)") } }
        let configuration = RatingSessionConfiguration(mode: .pairwise)
        let first = try RatingDesk(store: RatingStore(path: folder.appendingPathComponent("a.sqlite").path), configuration: configuration, samples: samples)
        let second = try RatingDesk(store: RatingStore(path: folder.appendingPathComponent("b.sqlite").path), configuration: configuration, samples: samples)
        #expect(Set(first.items.map(\.id)).isDisjoint(with: second.items.map(\.id)))
        // Without the secret (all anyone can compute from the samples and the seed), no id comes out.
        let computable = try RatingItems.make(samples: samples, mode: .pairwise, seed: configuration.seed)
        #expect(Set(first.items.map(\.id)).isDisjoint(with: computable.map(\.id)))
        // Sides differ between the two sessions for the same pair and rater (12 pairs: all equal by chance is 1 in 2^12).
        func sides(_ desk: RatingDesk) -> [PairSide] {
            desk.items.sorted { $0.prompt < $1.prompt }.map { desk.side(of: $0, rater: "Ann") }
        }
        #expect(sides(first) != sides(second))
        // A restart keeps the placement.
        let reopened = try RatingDesk(store: RatingStore(path: first.store.path), samples: samples)
        #expect(reopened.items == first.items && sides(reopened) == sides(first))
        let (a, b) = (try await reopened.next(for: "Ann"), try await first.next(for: "Ann"))
        #expect(a == b)
    }

    @Test("the desk refuses bad submissions with 400/404/409 and writes nothing; a rater never gets an item twice")
    func deskValidation() async throws {
        let folder = try ratingFolder("desk")
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = [RatingSample(source: "m1", prompt: "", response: "one"), RatingSample(source: "m2", prompt: "", response: "two")]
        let desk = try RatingDesk(store: RatingStore(path: folder.appendingPathComponent("r.sqlite").path), samples: samples)
        let first = try #require(try await desk.next(for: "Ann"))
        let valid = ["positivity": "4", "sense": "5"]
        let cases: [(String, String, [String: String], Int)] = [
            ("Ann", "0000000000000000", valid, 404),
            ("Ann", first.item.id, ["positivity": "6", "sense": "5"], 400),
            ("Ann", first.item.id, ["positivity": "four", "sense": "5"], 400),
            ("Ann", first.item.id, ["positivity": "4"], 400),
            ("Ann", first.item.id, ["positivity": "4", "sense": "5", "joy": "1"], 400),
            ("<script>", first.item.id, valid, 400),
        ]
        for (rater, item, scores, status) in cases {
            let rejection = try await #require(throws: RatingRejection.self) { try await desk.submitRating(rater: rater, itemID: item, scores: scores) }
            #expect(rejection.status == status, "\(rejection)")
        }
        let choice = try await #require(throws: RatingRejection.self) { try await desk.submitChoice(rater: "Ann", itemID: first.item.id, choice: "left") }
        #expect(choice.status == 400)
        #expect(try desk.store.submissionCount() == 0)

        try await desk.submitRating(rater: "Ann", itemID: first.item.id, scores: valid)
        let replay = try await #require(throws: RatingRejection.self) { try await desk.submitRating(rater: "Ann", itemID: first.item.id, scores: valid) }
        #expect(replay.status == 409)
        #expect(try desk.store.submissionCount() == 1)
        let second = try #require(try await desk.next(for: "Ann"))
        #expect(second.item.id != first.item.id && second.done == 1 && second.total == 2)
        try await desk.submitRating(rater: "Ann", itemID: second.item.id, scores: valid)
        #expect(try await desk.next(for: "Ann") == nil)
        #expect(try await desk.next(for: "Ben")?.done == 0)
        // "René" typed composed (U+00E9) and decomposed (e + U+0301) is one rater: the second is a replay.
        let composed = "Ren\u{E9}", decomposed = "Ren\u{65}\u{301}"
        #expect(Array(composed.unicodeScalars) != Array(decomposed.unicodeScalars))
        let forRene = try #require(try await desk.next(for: decomposed))
        try await desk.submitRating(rater: decomposed, itemID: forRene.item.id, scores: valid)
        #expect(try await desk.next(for: composed)?.done == 1)
        let twice = try await #require(throws: RatingRejection.self) { try await desk.submitRating(rater: composed, itemID: forRene.item.id, scores: valid) }
        #expect(twice.status == 409)

        // Reopening: the stored session comes back; other samples or settings are refused.
        let reopened = try RatingDesk(store: RatingStore(path: desk.store.path))
        #expect(reopened.items == desk.items && reopened.configuration == desk.configuration)
        #expect(throws: RatingError.otherSamples(database: desk.store.path, items: 2)) {
            try RatingDesk(store: RatingStore(path: desk.store.path), samples: [samples[0]])
        }
        #expect(throws: RatingError.otherSettings(database: desk.store.path)) {
            try RatingDesk(store: RatingStore(path: desk.store.path), configuration: RatingSessionConfiguration(mode: .pairwise))
        }
        #expect(throws: RatingError.sessionExists(database: desk.store.path)) {
            try RatingStore(path: desk.store.path).create(configuration: desk.configuration, items: desk.items)
        }
    }

    @Test("pairwise: left/right map to the rater's sides; results tally wins, sides and agreement; export drops ties")
    func pairwiseResultsAndExport() async throws {
        let folder = try ratingFolder("pairs")
        defer { try? FileManager.default.removeItem(at: folder) }
        let desk = try RatingDesk(store: RatingStore(path: folder.appendingPathComponent("p.sqlite").path),
                                  configuration: RatingSessionConfiguration(mode: .pairwise, seed: 5), samples: Array(pairSamples.prefix(6)))
        #expect(desk.items.count == 3)
        // Ann and Ben pick whichever side shows alpha; Cy says tie on one item.
        for rater in ["Ann", "Ben"] {
            while let task = try await desk.next(for: rater) {
                try await desk.submitChoice(rater: rater, itemID: task.item.id, choice: task.side == .aLeft ? "left" : "right", note: "n")
            }
        }
        try await desk.submitChoice(rater: "Cy", itemID: desk.items[0].id, choice: "tie")
        let judgments = try desk.store.judgments()
        #expect(judgments.filter { $0.rater != "Cy" }.allSatisfy { $0.choice == .a })
        let results = try RatingResults(desk: desk)
        #expect(results.pairs == [PairTally(source: "alpha", opponent: "beta", wins: 6, ties: 1, losses: 0)])
        #expect(results.chosenTie == 1 && results.chosenLeft + results.chosenRight == 6)
        #expect(results.chosenLeft == judgments.filter { $0.choice == .a && $0.shown == .aLeft }.count)
        // Units: item 0 has (a, a, tie); items 1, 2 have (a, a). Observed disagreement: item 0 has 4 ordered
        // unequal pairs / (3 − 1) = 2; n = 7 values; D_o = 2/7. Values: six a, one tie: D_e = 2·6·1/(7·6) = 2/7.
        // alpha = 1 − (2/7)/(2/7) = 0.
        let agreement = try #require(results.agreement.first)
        #expect(agreement.scale == "choice" && abs(agreement.alpha! - 0) < 1e-12 && agreement.itemsJudgedTwice == 3)
        #expect(results.key.count == 3 && results.html.contains("alpha") && results.markdown.contains("| alpha | beta | 6 | 1 | 0 |"))
        let pairs = RatingExport.preferencePairs(items: desk.items, judgments: judgments)
        #expect(pairs.count == 6 && pairs.allSatisfy { $0.chosen.hasPrefix("alpha") && $0.rejected.hasPrefix("beta") })
        let line = try RatingExport.jsonLines([PreferencePair(prompt: "p/0", chosen: "alpha", rejected: "beta")])
        #expect(line == #"{"chosen":"alpha","prompt":"p/0","rejected":"beta"}"# + "\n")
    }

    @Test("rating results: per-source mean and sample standard deviation, interval alpha, the key")
    func ratingResults() {
        let items = [RatingItem(id: "i1", prompt: "", source: "s", response: "a"), RatingItem(id: "i2", prompt: "", source: "t", response: "b")]
        let ratings = [StoredRating(itemID: "i1", rater: "A", scores: ["joy": 2]), StoredRating(itemID: "i1", rater: "B", scores: ["joy": 4]),
                       StoredRating(itemID: "i2", rater: "A", scores: ["joy": 5]), StoredRating(itemID: "i2", rater: "B", scores: ["joy": 5])]
        let configuration = RatingSessionConfiguration(scales: [RatingScale(name: "joy", minimum: 1, maximum: 5)])
        let results = RatingResults(configuration: configuration, items: items, ratings: ratings, judgments: [])
        // s: 2 and 4 → mean 3, sd √2; t: 5 and 5 → mean 5, sd 0.
        #expect(results.scales == [ScaleSummary(source: "s", scale: "joy", count: 2, mean: 3, standardDeviation: 2.0.squareRoot()),
                                   ScaleSummary(source: "t", scale: "joy", count: 2, mean: 5, standardDeviation: 0)])
        // Units (2, 4), (5, 5): D_o = (8 + 0)/4 = 2; values 2, 4, 5, 5: Σ_{c≠k} δ = 2·(4 + 9 + 9 + 1 + 1 + 0) = 48; D_e = 48/12 = 4; alpha = 0.5.
        #expect(abs(results.agreement[0].alpha! - 0.5) < 1e-12)
        #expect(results.raters == ["A": 2, "B": 2] && results.submissions == 4)
    }
}
