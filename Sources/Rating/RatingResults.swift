// The results of a rating session — the only place the blinding key is revealed: per-source mean
// and standard deviation on each scale, pairwise wins/ties/losses per pair of sources, which side
// raters picked, inter-rater agreement, and the item → source key; as JSON, Markdown and HTML.
// Also the export of pairwise labels as preference pairs for `rlhf reward`.

import Datasets
import Evaluation
import Foundation

/// A source's scores on one scale.
public struct ScaleSummary: Codable, Sendable, Equatable {
    /// The source and the scale.
    public var source: String, scale: String
    /// Ratings, their mean, and their sample standard deviation (0 for one rating).
    public var count: Int, mean: Double, standardDeviation: Double

    /// A summary.
    public init(source: String, scale: String, count: Int, mean: Double, standardDeviation: Double) {
        (self.source, self.scale, self.count, self.mean, self.standardDeviation) = (source, scale, count, mean, standardDeviation)
    }
}

/// Agreement between raters on one scale (or, in pairwise mode, on the choice).
public struct AgreementSummary: Codable, Sendable, Equatable {
    /// The scale's name, or "choice".
    public var scale: String
    /// The distance used.
    public var metric: KrippendorffAlpha.Metric
    /// Krippendorff's alpha; nil with fewer than two items judged twice or no variation.
    public var alpha: Double?
    /// The share of rater pairs on an item that agree exactly.
    public var exactAgreement: Double?
    /// Items judged by two or more raters.
    public var itemsJudgedTwice: Int
}

/// Pairwise outcomes between two sources, from the first's point of view.
public struct PairTally: Codable, Sendable, Equatable {
    /// The two sources.
    public var source: String, opponent: String
    /// Judgments preferring the source, ties, and judgments preferring the opponent.
    public var wins: Int, ties: Int, losses: Int

    /// A tally.
    public init(source: String, opponent: String, wins: Int, ties: Int, losses: Int) {
        (self.source, self.opponent, self.wins, self.ties, self.losses) = (source, opponent, wins, ties, losses)
    }
    /// (wins + ties/2) / judgments.
    public var winRate: Double { Double(wins) + Double(ties) / 2 == 0 ? 0 : (Double(wins) + Double(ties) / 2) / Double(max(wins + ties + losses, 1)) }
}

/// One line of the blinding key.
public struct KeyEntry: Codable, Sendable, Equatable {
    /// The item id, and its source (and the second source of a pair).
    public var item: String, source: String, secondSource: String?
}

/// Everything the results page shows.
public struct RatingResults: Codable, Sendable, Equatable {
    /// The session's title and mode.
    public var title: String, mode: RatingMode
    /// Items in the session, and (item, rater) submissions stored.
    public var items: Int, submissions: Int
    /// Submissions per rater.
    public var raters: [String: Int]
    /// Rating mode: per source and scale.
    public var scales: [ScaleSummary]
    /// Pairwise mode: per pair of sources (in sample order).
    public var pairs: [PairTally]
    /// Pairwise mode: how often the response shown on the left, on the right, or neither was chosen.
    public var chosenLeft: Int, chosenRight: Int, chosenTie: Int
    /// Agreement per scale (rating) or on the choice (pairwise).
    public var agreement: [AgreementSummary]
    /// The blinding key.
    public var key: [KeyEntry]

    /// Computes the results of the session behind `desk`.
    public init(desk: RatingDesk) throws {
        try self.init(configuration: desk.configuration, items: desk.items, ratings: desk.store.ratings(), judgments: desk.store.judgments())
    }

    /// Computes results from a session's items and submissions.
    public init(configuration: RatingSessionConfiguration, items: [RatingItem], ratings: [StoredRating], judgments: [StoredJudgment]) {
        title = configuration.title
        mode = configuration.mode
        self.items = items.count
        submissions = ratings.count + judgments.count
        raters = [:]
        for rater in ratings.map(\.rater) + judgments.map(\.rater) { raters[rater, default: 0] += 1 }
        let itemsByID = Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var sources: [String] = []
        for item in items {
            for source in [item.source] + (item.secondSource.map { [$0] } ?? []) where !sources.contains(source) { sources.append(source) }
        }
        scales = []
        agreement = []
        for scale in configuration.mode == .rating ? configuration.scales : [] {
            for source in sources {
                let values = ratings.filter { itemsByID[$0.itemID]?.source == source }.compactMap { $0.scores[scale.name] }.map(Double.init)
                guard !values.isEmpty else { continue }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.count > 1 ? values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1) : 0
                scales.append(ScaleSummary(source: source, scale: scale.name, count: values.count, mean: mean, standardDeviation: variance.squareRoot()))
            }
            let units = Dictionary(grouping: ratings.compactMap { rating in rating.scores[scale.name].map { (rating.itemID, Double($0)) } }, by: \.0)
                .values.map { $0.map(\.1) }
            agreement.append(AgreementSummary(scale: scale.name, metric: .interval, alpha: KrippendorffAlpha.alpha(units: units, metric: .interval),
                                              exactAgreement: KrippendorffAlpha.pairwiseAgreement(units: units),
                                              itemsJudgedTwice: units.filter { $0.count >= 2 }.count))
        }
        pairs = []
        (chosenLeft, chosenRight, chosenTie) = (0, 0, 0)
        if configuration.mode == .pairwise {
            var tallies: [String: PairTally] = [:]
            var order: [String] = []
            for judgment in judgments {
                guard let item = itemsByID[judgment.itemID], let opponent = item.secondSource else { continue }
                let key = item.source + "\u{1F}" + opponent
                if tallies[key] == nil { order.append(key) }
                var tally = tallies[key] ?? PairTally(source: item.source, opponent: opponent, wins: 0, ties: 0, losses: 0)
                switch judgment.choice {
                case .a: tally.wins += 1
                case .b: tally.losses += 1
                case .tie: tally.ties += 1
                }
                tallies[key] = tally
                switch (judgment.choice, judgment.shown) {
                case (.tie, _): chosenTie += 1
                case (.a, .aLeft), (.b, .bLeft): chosenLeft += 1
                default: chosenRight += 1
                }
            }
            pairs = order.map { tallies[$0]! }
            let code: [PairChoice: Double] = [.a: 0, .b: 1, .tie: 2]
            let units = Dictionary(grouping: judgments, by: \.itemID).values.map { $0.map { code[$0.choice]! } }
            agreement.append(AgreementSummary(scale: "choice", metric: .nominal, alpha: KrippendorffAlpha.alpha(units: units, metric: .nominal),
                                              exactAgreement: KrippendorffAlpha.pairwiseAgreement(units: units),
                                              itemsJudgedTwice: units.filter { $0.count >= 2 }.count))
        }
        key = items.map { KeyEntry(item: $0.id, source: $0.source, secondSource: $0.secondSource) }
    }

    static func format(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "n/a" }

    /// Markdown tables: per-source scale summaries or pairwise tallies, agreement, raters.
    public var markdown: String {
        var lines = ["# \(title): results", "", "\(items) items, \(submissions) submissions from \(raters.count) raters.", ""]
        if mode == .rating {
            lines += ["| source | scale | n | mean | sd |", "|---|---|---|---|---|"]
            lines += scales.map { "| \($0.source) | \($0.scale) | \($0.count) | \(Self.format($0.mean)) | \(Self.format($0.standardDeviation)) |" }
        } else {
            lines += ["| A | B | A wins | ties | B wins | A win rate |", "|---|---|---|---|---|---|"]
            lines += pairs.map { "| \($0.source) | \($0.opponent) | \($0.wins) | \($0.ties) | \($0.losses) | \(Self.format($0.winRate)) |" }
            lines += ["", "Chosen side: left \(chosenLeft), right \(chosenRight), tie \(chosenTie)."]
        }
        lines += ["", "| agreement on | Krippendorff's alpha | exact agreement | items judged twice |", "|---|---|---|---|"]
        lines += agreement.map { "| \($0.scale) (\($0.metric.rawValue)) | \(Self.format($0.alpha)) | \(Self.format($0.exactAgreement)) | \($0.itemsJudgedTwice) |" }
        lines += ["", "| rater | submissions |", "|---|---|"] + raters.sorted { $0.key < $1.key }.map { "| \($0.key) | \($0.value) |" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// An HTML fragment (no heading; the page gives it): the same tables, and the blinding key.
    public var htmlBody: String {
        var body = "<p>\(items) items, \(submissions) submissions from \(raters.count) raters.</p>"
        if mode == .rating {
            body += "<table id=scales><tr><th>source</th><th>scale</th><th>n</th><th>mean</th><th>sd</th></tr>"
            body += scales.map { "<tr><td>\(escapeHTML($0.source))</td><td>\(escapeHTML($0.scale))</td><td class=n>\($0.count)</td><td class=n>\(Self.format($0.mean))</td><td class=n>\(Self.format($0.standardDeviation))</td></tr>" }.joined() + "</table>"
        } else {
            body += "<table id=pairs><tr><th>A</th><th>B</th><th>A wins</th><th>ties</th><th>B wins</th><th>A win rate</th></tr>"
            body += pairs.map { "<tr><td>\(escapeHTML($0.source))</td><td>\(escapeHTML($0.opponent))</td><td class=n>\($0.wins)</td><td class=n>\($0.ties)</td><td class=n>\($0.losses)</td><td class=n>\(Self.format($0.winRate))</td></tr>" }.joined()
            body += "</table><p>Chosen side: left \(chosenLeft), right \(chosenRight), tie \(chosenTie).</p>"
        }
        body += "<h2>Agreement</h2><table id=agreement><tr><th>on</th><th>Krippendorff's alpha</th><th>exact agreement</th><th>items judged twice</th></tr>"
        body += agreement.map { "<tr><td>\(escapeHTML($0.scale)) (\($0.metric.rawValue))</td><td class=n>\(Self.format($0.alpha))</td><td class=n>\(Self.format($0.exactAgreement))</td><td class=n>\($0.itemsJudgedTwice)</td></tr>" }.joined()
        body += "</table><h2>Raters</h2><table id=raters><tr><th>rater</th><th>submissions</th></tr>"
        body += raters.sorted { $0.key < $1.key }.map { "<tr><td>\(escapeHTML($0.key))</td><td class=n>\($0.value)</td></tr>" }.joined()
        body += "</table><h2>Blinding key</h2><table id=key><tr><th>item</th><th>source (A)</th><th>B</th></tr>"
        body += key.map { "<tr><td><code>\($0.item)</code></td><td>\(escapeHTML($0.source))</td><td>\(escapeHTML($0.secondSource ?? ""))</td></tr>" }.joined()
        return body + "</table>"
    }

    /// The whole results page.
    public var html: String { RunReport.page(title: "\(title): results", body: htmlBody) }
}

/// Pairwise labels as preference pairs.
public enum RatingExport {
    /// One pair per judgment that picked a side (ties are left out): the prompt, the chosen and the rejected response.
    public static func preferencePairs(items: [RatingItem], judgments: [StoredJudgment]) -> [PreferencePair] {
        let itemsByID = Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return judgments.compactMap { judgment in
            guard let item = itemsByID[judgment.itemID], let second = item.secondResponse, judgment.choice != .tie else { return nil }
            return judgment.choice == .a ? PreferencePair(prompt: item.prompt, chosen: item.response, rejected: second)
                                         : PreferencePair(prompt: item.prompt, chosen: second, rejected: item.response)
        }
    }

    /// JSON Lines, one `{"prompt","chosen","rejected"}` object per line (keys sorted).
    public static func jsonLines(_ pairs: [PreferencePair]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try pairs.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
    }
}
