// Win rate of model A against model B on the same prompts, as a pairwise judge sees it.
//
// Each prompt's pair is judged twice, A shown first and then B shown first, to control for the
// judge's position bias (an LLM judge often prefers whatever it reads first; see Zheng et al.
// 2023, "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena", §3.3). A wins a prompt only
// when it wins in both orders, B only when B wins in both; anything else — a tie in either order
// or two verdicts that disagree — is a tie. The win rate is (wins + ties/2)/n with a 95% Wilson
// interval (which keeps its width at 0 and at n wins); each of the win/tie/loss fractions gets a
// Wilson interval. The report is written as JSON (winrate.json) and Markdown (winrate.md).

import Foundation
import Models

/// A two-sided confidence interval.
public struct ConfidenceInterval: Codable, Sendable, Equatable {
    /// Lower and upper bounds.
    public var lower: Double, upper: Double

    /// An interval.
    /// - Parameters:
    ///   - lower: the lower bound.
    ///   - upper: the upper bound (≥ lower).
    public init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
    }

    /// Whether `value` lies in the closed interval.
    /// - Parameter value: a number.
    /// - Returns: lower ≤ value ≤ upper.
    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }
}

/// A prompt's result from A's point of view.
public enum WinRateOutcome: String, Codable, Sendable {
    /// A won in both orders.
    case win
    /// Neither won in both orders (ties and disagreeing verdicts).
    case tie
    /// B won in both orders.
    case loss

    /// The per-prompt score: 1 for a win, ½ for a tie, 0 for a loss.
    public var score: Double {
        switch self {
        case .win: 1
        case .tie: 0.5
        case .loss: 0
        }
    }
}

/// One prompt, both responses and both verdicts.
public struct WinRatePair: Codable, Sendable, Equatable {
    /// The prompt.
    public var prompt: String
    /// Model A's and model B's responses.
    public var responseA: String, responseB: String
    /// The verdict with A shown first (`first` means A is better).
    public var verdictAFirst: PairwiseVerdict
    /// The verdict with B shown first (`first` means B is better).
    public var verdictBFirst: PairwiseVerdict

    enum CodingKeys: String, CodingKey {
        case prompt, responseA = "response_a", responseB = "response_b", verdictAFirst = "verdict_a_first", verdictBFirst = "verdict_b_first"
    }

    /// A judged pair.
    /// - Parameters:
    ///   - prompt: the prompt.
    ///   - responseA: model A's response.
    ///   - responseB: model B's response.
    ///   - verdictAFirst: the verdict when A was shown first.
    ///   - verdictBFirst: the verdict when B was shown first.
    public init(prompt: String, responseA: String, responseB: String, verdictAFirst: PairwiseVerdict, verdictBFirst: PairwiseVerdict) {
        self.prompt = prompt
        self.responseA = responseA
        self.responseB = responseB
        self.verdictAFirst = verdictAFirst
        self.verdictBFirst = verdictBFirst
    }

    /// A's result in each order: (A shown first, B shown first).
    public var orderOutcomes: (aFirst: WinRateOutcome, bFirst: WinRateOutcome) {
        let aFirst: WinRateOutcome = verdictAFirst == .first ? .win : verdictAFirst == .second ? .loss : .tie
        let bFirst: WinRateOutcome = verdictBFirst == .second ? .win : verdictBFirst == .first ? .loss : .tie
        return (aFirst, bFirst)
    }

    /// The prompt's outcome: a win or loss only when both orders agree on it, else a tie.
    public var outcome: WinRateOutcome {
        let (aFirst, bFirst) = orderOutcomes
        return aFirst == bFirst ? aFirst : .tie
    }

    /// Whether the two orders gave different results (the pair then counts as a tie).
    public var isInconsistent: Bool { orderOutcomes.aFirst != orderOutcomes.bFirst }
}

/// The confidence intervals the report uses.
public enum WinRateStatistics {
    /// z for a two-sided 95% interval.
    public static let z95 = 1.959963984540054

    /// The Wilson score interval of a binomial proportion (Wilson 1927): centre
    /// (p + z²/2n)/(1 + z²/n), half-width z·√(p(1−p)/n + z²/4n²)/(1 + z²/n). It stays inside
    /// [0, 1] and behaves at 0 and n successes (where the normal approximation p ± z·√(p(1−p)/n)
    /// collapses to a point). With no trials it is [0, 1].
    /// - Parameters:
    ///   - proportion: p, the observed share in [0, 1]; for a win rate with ties counted as half
    ///     a win, (wins + ties/2)/n — ties vary less than a win/loss coin, so the interval is then
    ///     slightly conservative.
    ///   - trials: n.
    ///   - z: the normal quantile (1.96 for 95%).
    /// - Returns: the interval; exactly 0 below at p = 0 and exactly 1 above at p = 1.
    public static func wilson(proportion p: Double, trials: Int, z: Double = z95) -> ConfidenceInterval {
        precondition(trials >= 0 && (0...1).contains(p), "the proportion must be in 0...1")
        guard trials > 0 else { return ConfidenceInterval(lower: 0, upper: 1) }
        let n = Double(trials), z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / denominator
        return ConfidenceInterval(lower: p == 0 ? 0 : max(0, centre - half), upper: p == 1 ? 1 : min(1, centre + half))
    }

    /// The Wilson interval of `successes` out of `trials` (see ``wilson(proportion:trials:z:)``).
    public static func wilson(successes: Int, trials: Int, z: Double = z95) -> ConfidenceInterval {
        precondition(trials >= 0 && (0...max(trials, 0)).contains(successes), "successes must be in 0...trials")
        return wilson(proportion: trials == 0 ? 0 : Double(successes) / Double(trials), trials: trials, z: z)
    }
}

/// The study's result: counts, rates and intervals, position-bias counts, and every pair.
public struct WinRateReport: Codable, Sendable, Equatable {
    /// The models' names and the judge's description.
    public var modelA: String, modelB: String, judge: String
    /// Prompts judged (n).
    public var prompts: Int
    /// Prompts A won, tied, lost.
    public var wins: Int, ties: Int, losses: Int
    /// (wins + ties/2)/n: the mean per-prompt score.
    public var winRate: Double
    /// 95% Wilson interval of the win rate, at p = (wins + ties/2)/n.
    public var winRateInterval: ConfidenceInterval
    /// 95% Wilson intervals of the win, tie and loss fractions.
    public var winInterval: ConfidenceInterval, tieInterval: ConfidenceInterval, lossInterval: ConfidenceInterval
    /// Pairs whose two orders gave different results (counted as ties).
    public var inconsistentPairs: Int
    /// Over all 2n judgements: how often the response shown first won, the second won, or it was a tie.
    public var firstShownWins: Int, secondShownWins: Int, tiedJudgements: Int
    /// Judge answers that could not be read (each counted as a tie judgement).
    public var unparsedAnswers: Int
    /// Generation settings, when the study generated the responses.
    public var maxNewTokens: Int?, temperature: Float?, seed: UInt64?
    /// Every pair, in prompt order.
    public var pairs: [WinRatePair]

    enum CodingKeys: String, CodingKey {
        case modelA = "model_a", modelB = "model_b", judge, prompts, wins, ties, losses, winRate = "win_rate"
        case winRateInterval = "win_rate_ci", winInterval = "win_ci", tieInterval = "tie_ci", lossInterval = "loss_ci"
        case inconsistentPairs = "inconsistent_pairs", firstShownWins = "first_shown_wins", secondShownWins = "second_shown_wins"
        case tiedJudgements = "tied_judgements", unparsedAnswers = "unparsed_answers"
        case maxNewTokens = "max_new_tokens", temperature, seed, pairs
    }

    /// Computes every count and interval from the judged pairs.
    /// - Parameters:
    ///   - modelA: A's name.
    ///   - modelB: B's name.
    ///   - judge: how the pairs were judged (for the reader).
    ///   - pairs: the judged pairs.
    ///   - unparsedAnswers: judge answers counted as ties because they could not be read.
    public init(modelA: String, modelB: String, judge: String, pairs: [WinRatePair], unparsedAnswers: Int = 0) {
        self.modelA = modelA
        self.modelB = modelB
        self.judge = judge
        self.pairs = pairs
        self.unparsedAnswers = unparsedAnswers
        let outcomes = pairs.map(\.outcome)
        prompts = pairs.count
        wins = outcomes.filter { $0 == .win }.count
        ties = outcomes.filter { $0 == .tie }.count
        losses = outcomes.filter { $0 == .loss }.count
        winRate = pairs.isEmpty ? 0 : outcomes.map(\.score).reduce(0, +) / Double(pairs.count)
        winRateInterval = WinRateStatistics.wilson(proportion: winRate, trials: prompts)
        winInterval = WinRateStatistics.wilson(successes: wins, trials: prompts)
        tieInterval = WinRateStatistics.wilson(successes: ties, trials: prompts)
        lossInterval = WinRateStatistics.wilson(successes: losses, trials: prompts)
        inconsistentPairs = pairs.filter(\.isInconsistent).count
        let verdicts = pairs.flatMap { [$0.verdictAFirst, $0.verdictBFirst] }
        firstShownWins = verdicts.filter { $0 == .first }.count
        secondShownWins = verdicts.filter { $0 == .second }.count
        tiedJudgements = verdicts.filter { $0 == .tie }.count
    }

    /// The report as pretty-printed JSON with sorted keys (winrate.json).
    /// - Returns: UTF-8 JSON.
    /// - Throws: an encoding error (none for finite numbers).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// The study: generate with both models, judge every pair in both orders, count.
public enum WinRate {
    /// Judges given responses in both orders.
    /// - Parameters:
    ///   - prompts: the prompts (n).
    ///   - responsesA: model A's responses, one per prompt.
    ///   - responsesB: model B's responses, one per prompt.
    ///   - judge: the judge; each prompt costs it two verdicts.
    ///   - names: A's and B's names for the report.
    ///   - judgeName: the judge's description for the report.
    ///   - chunkSize: judgements per call to `judge(pairs:)` (a progress step).
    ///   - progress: called with (judgements done, 2n) after each chunk.
    /// - Returns: the report.
    /// - Throws: the judge's error; an error when the counts differ.
    public static func judge(prompts: [String], responsesA: [String], responsesB: [String], judge: any PairwiseJudge,
                             names: (a: String, b: String) = ("A", "B"), judgeName: String = "judge", chunkSize: Int = 16,
                             progress: ((Int, Int) -> Void)? = nil) throws -> WinRateReport {
        guard prompts.count == responsesA.count, prompts.count == responsesB.count else {
            throw JudgeError(message: "\(prompts.count) prompts but \(responsesA.count) responses of \(names.a) and \(responsesB.count) of \(names.b); they must pair up")
        }
        // Judgement 2i shows A first, 2i + 1 shows B first.
        var triples: [(prompt: String, first: String, second: String)] = []
        for i in prompts.indices {
            triples.append((prompts[i], responsesA[i], responsesB[i]))
            triples.append((prompts[i], responsesB[i], responsesA[i]))
        }
        let unparsedBefore = judge.unparsedAnswers
        var verdicts: [PairwiseVerdict] = []
        for start in stride(from: 0, to: triples.count, by: max(chunkSize, 1)) {
            let chunk = Array(triples[start..<min(start + max(chunkSize, 1), triples.count)])
            let answers = try judge.judge(pairs: chunk)
            guard answers.count == chunk.count else {
                throw JudgeError(message: "the judge \(judgeName) returned \(answers.count) verdicts for \(chunk.count) pairs")
            }
            verdicts += answers
            progress?(verdicts.count, triples.count)
        }
        let pairs = prompts.indices.map { i in
            WinRatePair(prompt: prompts[i], responseA: responsesA[i], responseB: responsesB[i],
                        verdictAFirst: verdicts[2 * i], verdictBFirst: verdicts[2 * i + 1])
        }
        return WinRateReport(modelA: names.a, modelB: names.b, judge: judgeName, pairs: pairs,
                             unparsedAnswers: judge.unparsedAnswers - unparsedBefore)
    }

    /// Generates with both checkpoints (``generateResponses(directory:prompts:generation:seed:batchSize:)``,
    /// the same seed for each) and judges the pairs in both orders.
    /// - Parameters:
    ///   - a: model A's name and checkpoint directory.
    ///   - b: model B's name and checkpoint directory.
    ///   - prompts: the prompts.
    ///   - judge: the judge.
    ///   - judgeName: the judge's description for the report.
    ///   - generation: max new tokens, sampling, stop strings.
    ///   - seed: the sampling seed.
    ///   - batchSize: prompts per generation batch.
    ///   - progress: called with a line of text at each stage and judging step.
    /// - Returns: the report, with the generation settings filled in.
    /// - Throws: a checkpoint or tokenizer error, or the judge's error.
    public static func run(a: (name: String, directory: URL), b: (name: String, directory: URL), prompts: [String], judge: any PairwiseJudge,
                           judgeName: String, generation: GenerationConfiguration, seed: UInt64 = 0, batchSize: Int = 8,
                           progress: ((String) -> Void)? = nil) throws -> WinRateReport {
        progress?("generating with \(a.name) on \(prompts.count) prompts")
        let responsesA = try generateResponses(directory: a.directory, prompts: prompts, generation: generation, seed: seed, batchSize: batchSize)
        progress?("generating with \(b.name) on \(prompts.count) prompts")
        let responsesB = try generateResponses(directory: b.directory, prompts: prompts, generation: generation, seed: seed, batchSize: batchSize)
        var report = try Self.judge(prompts: prompts, responsesA: responsesA, responsesB: responsesB, judge: judge, names: (a.name, b.name),
                                    judgeName: judgeName, progress: { done, total in progress?("judged \(done)/\(total)") })
        report.maxNewTokens = generation.maxNewTokens
        report.temperature = generation.sampling.temperature
        report.seed = seed
        return report
    }
}

// MARK: - The report in words: winrate.md (the table, the position-bias counts, a few example
// pairs with their verdicts) and a few lines for the terminal.

extension WinRateReport {
    /// A few pairs to show: up to `perOutcome` wins, losses and ties each (inconsistent ties
    /// first, as they say most about the judge), in prompt order within each group.
    /// - Parameter perOutcome: pairs per outcome at most.
    /// - Returns: (prompt index, pair) in the order wins, losses, ties.
    public func examples(perOutcome: Int = 2) -> [(index: Int, pair: WinRatePair)] {
        let indexed = pairs.enumerated().map { (index: $0.offset, pair: $0.element) }
        let wins = indexed.filter { $0.pair.outcome == .win }.prefix(perOutcome)
        let losses = indexed.filter { $0.pair.outcome == .loss }.prefix(perOutcome)
        let ties = (indexed.filter { $0.pair.outcome == .tie && $0.pair.isInconsistent }
            + indexed.filter { $0.pair.outcome == .tie && !$0.pair.isInconsistent }).prefix(perOutcome)
        return Array(wins) + Array(losses) + Array(ties)
    }

    /// The short summary printed by `rlhf winrate`: counts with percentages, the win rate with
    /// its interval, and the position-bias line.
    public var summary: String {
        func percent(_ count: Int) -> String { String(format: "%.1f%%", 100 * Double(count) / Double(max(prompts, 1))) }
        return """
        \(modelA) (A) vs \(modelB) (B), judge \(judge): \(prompts) prompts, each judged in both orders
        A wins \(wins) (\(percent(wins))), ties \(ties) (\(percent(ties))), B wins \(losses) (\(percent(losses)))
        A's win rate \(String(format: "%.3f", winRate)), 95% CI [\(String(format: "%.3f", winRateInterval.lower)), \(String(format: "%.3f", winRateInterval.upper))]
        inconsistent pairs \(inconsistentPairs) (counted as ties); first-shown response won \(firstShownWins)/\(2 * prompts) judgements, \
        second-shown \(secondShownWins), tied \(tiedJudgements); unparsed judge answers \(unparsedAnswers)
        """
    }

    /// The Markdown page: the result table with Wilson intervals, the win rate with its interval,
    /// the consistency and position-bias counts, and ``examples(perOutcome:)`` with their verdicts.
    public var markdown: String {
        func number(_ value: Double) -> String { String(format: "%.3f", value) }
        func interval(_ value: ConfidenceInterval) -> String { "[\(number(value.lower)), \(number(value.upper))]" }
        func fraction(_ count: Int) -> String { number(Double(count) / Double(max(prompts, 1))) }
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        func quoted(_ text: String) -> String {
            let body = text.isEmpty ? "*(empty)*" : text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\n> ")
            return "> " + body
        }
        func said(_ verdict: PairwiseVerdict, first: String, second: String) -> String {
            switch verdict {
            case .first: "\(first) better"
            case .second: "\(second) better"
            case .tie: "tie"
            }
        }
        var lines = [
            "# Win rate: \(cell(modelA)) (A) vs \(cell(modelB)) (B)",
            "",
            "Judge: `\(judge)`. \(prompts) prompts; each pair was judged twice, A shown first and B shown first, "
                + "to control for position bias. A wins a prompt only when it wins in both orders, B likewise; "
                + "a tie in either order or two verdicts that disagree count as a tie.",
            "",
            "| result | count | fraction | 95% CI (Wilson) |",
            "|---|---:|---:|---|",
            "| A (\(cell(modelA))) wins | \(wins) | \(fraction(wins)) | \(interval(winInterval)) |",
            "| tie | \(ties) | \(fraction(ties)) | \(interval(tieInterval)) |",
            "| B (\(cell(modelB))) wins | \(losses) | \(fraction(losses)) | \(interval(lossInterval)) |",
            "",
            "**A's win rate** (wins + ties/2)/n = **\(number(winRate))**, 95% CI \(interval(winRateInterval)) "
                + "(Wilson score interval at p = (wins + ties/2)/n; conservative when there are ties).",
            "",
            "- Inconsistent pairs (the two orders disagree; counted as ties): \(inconsistentPairs) of \(prompts)",
            "- Position bias over \(2 * prompts) judgements: the first-shown response won \(firstShownWins), "
                + "the second-shown \(secondShownWins), ties \(tiedJudgements)",
            "- Judge answers that could not be read (counted as ties): \(unparsedAnswers)",
        ]
        if let maxNewTokens, let temperature, let seed {
            lines.append("- Generation: \(maxNewTokens) new tokens at most, temperature \(temperature), seed \(seed)")
        }
        let shown = examples()
        if !shown.isEmpty {
            lines += ["", "## Examples", ""]
            for (index, pair) in shown {
                lines += [
                    "### Prompt \(index + 1): A \(pair.outcome == .win ? "wins" : pair.outcome == .loss ? "loses" : "ties")"
                        + (pair.isInconsistent ? " (inconsistent verdicts)" : ""),
                    "", quoted(pair.prompt), "",
                    "**A (\(cell(modelA))):**", "", quoted(pair.responseA), "",
                    "**B (\(cell(modelB))):**", "", quoted(pair.responseB), "",
                    "Verdicts: A shown first → \(said(pair.verdictAFirst, first: "A", second: "B")); "
                        + "B shown first → \(said(pair.verdictBFirst, first: "B", second: "A")).",
                    "",
                ]
            }
        }
        return lines.joined(separator: "\n").trimmingCharacters(in: .newlines) + "\n"
    }
}
