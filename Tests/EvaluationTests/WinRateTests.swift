// The win-rate study without a network: the statistics by hand, the both-orders rule with
// scripted judges, reward judges, judge specifications, answer parsing, and the report's files.

import Alignment
import Evaluation
import Foundation
import Models
import Testing
import Tokenizers

/// Prefers whatever is shown first: the purest position bias.
struct FirstPositionJudge: PairwiseJudge {
    func judge(prompt: String, first: String, second: String) throws -> PairwiseVerdict { .first }
}

/// Prefers the response containing `word`; a tie when both or neither do.
struct WordJudge: PairwiseJudge {
    var word: String
    func judge(prompt: String, first: String, second: String) throws -> PairwiseVerdict {
        switch (first.contains(word), second.contains(word)) {
        case (true, false): .first
        case (false, true): .second
        default: .tie
        }
    }
}

/// A reward of the response's length in characters.
struct CharacterCountReward: RewardFunction {
    func rewards(prompts: [String], responses: [String]) throws -> [Float] { responses.map { Float($0.count) } }
}

@Suite("WinRate")
struct WinRateTests {
    func pair(_ aFirst: PairwiseVerdict, _ bFirst: PairwiseVerdict) -> WinRatePair {
        WinRatePair(prompt: "p", responseA: "a", responseB: "b", verdictAFirst: aFirst, verdictBFirst: bFirst)
    }

    @Test("6 wins, 2 ties, 2 losses: win rate 0.7 and the intervals computed by hand")
    func statistics() throws {
        // Scores 1,1,1,1,1,1,½,½,0,0: win rate 0.7. Wilson at p = 0.7, n = 10: denominator 1.38416;
        // centre (0.7 + 0.19208)/1.38416 = 0.644495; half 1.96·√(0.021 + 0.009604)/1.38416 = 0.247717:
        // [0.396778, 0.892209].
        let pairs = Array(repeating: pair(.first, .second), count: 6) + Array(repeating: pair(.tie, .tie), count: 2)
            + Array(repeating: pair(.second, .first), count: 2)
        let report = WinRateReport(modelA: "a", modelB: "b", judge: "scripted", pairs: pairs)
        #expect((report.wins, report.ties, report.losses, report.prompts) == (6, 2, 2, 10))
        #expect(abs(report.winRate - 0.7) < 1e-12)
        #expect(abs(report.winRateInterval.lower - 0.396778) < 1e-5)
        #expect(abs(report.winRateInterval.upper - 0.892209) < 1e-5)
        // Wilson, 6 of 10 at z = 1.96: denominator 1 + 3.8416/10 = 1.38416; centre
        // (0.6 + 0.19208)/1.38416 = 0.572246; half 1.96·√(0.024 + 0.009604)/1.38416 = 0.259576:
        // [0.312674, 0.831820] (the textbook value for 6/10 is [0.3127, 0.8318]).
        #expect(abs(report.winInterval.lower - 0.31267) < 1e-4 && abs(report.winInterval.upper - 0.83182) < 1e-4)
        // 2 of 10: centre (0.2 + 0.19208)/1.38416 = 0.283262; half 1.96·√(0.016 + 0.009604)/1.38416 = 0.226581:
        // [0.056681, 0.509843].
        #expect(abs(report.tieInterval.lower - 0.056681) < 1e-4 && abs(report.tieInterval.upper - 0.509843) < 1e-4)
        #expect(report.tieInterval == report.lossInterval)
        #expect(report.winRateInterval.contains(report.winRate))
        #expect(report.inconsistentPairs == 0 && report.firstShownWins == 8 && report.secondShownWins == 8 && report.tiedJudgements == 4)
    }

    @Test("interval edge cases: all wins, no trials, one prompt")
    func edges() {
        // All 5 won: the interval keeps width (a normal approximation would give [1, 1]):
        // centre (1 + 0.38415)/1.76832 = 0.782766, half 1.96·√(0.038415)/1.76832 = 0.217249.
        let all = WinRateStatistics.wilson(proportion: 1, trials: 5)
        #expect(all.upper == 1 && abs(all.lower - 0.565518) < 1e-5)
        #expect(WinRateStatistics.wilson(successes: 0, trials: 0) == ConfidenceInterval(lower: 0, upper: 1))
        let none = WinRateStatistics.wilson(successes: 0, trials: 10)
        #expect(none.lower == 0 && abs(none.upper - 0.277533) < 1e-4)  // 3.8416/10/1.38416 ≈ 0.2775
        let spread = WinRateStatistics.wilson(proportion: 0.5, trials: 4)
        #expect(spread.lower > 0 && spread.upper < 1 && abs(spread.lower + spread.upper - 1) < 1e-12)
    }

    @Test("a judge that always prefers the first position gives all ties, 2n first-shown wins, n inconsistent pairs")
    func positionBias() throws {
        let prompts = ["one", "two", "three", "four"]
        let report = try WinRate.judge(prompts: prompts, responsesA: ["a1", "a2", "a3", "a4"], responsesB: ["b1", "b2", "b3", "b4"],
                                       judge: FirstPositionJudge(), chunkSize: 3)
        #expect((report.wins, report.ties, report.losses) == (0, 4, 0))
        #expect(report.firstShownWins == 8 && report.secondShownWins == 0 && report.tiedJudgements == 0)
        #expect(report.inconsistentPairs == 4 && report.winRate == 0.5)
        #expect(report.pairs.allSatisfy { $0.verdictAFirst == .first && $0.verdictBFirst == .first && $0.outcome == .tie })
    }

    @Test("a judge that prefers a word: wins where A has it, losses where B has it, ties otherwise")
    func wordJudge() throws {
        let a = ["good day", "meh", "good", "plain"]
        let b = ["bad day", "good meh", "good too", "plain"]
        var steps: [Int] = []
        let report = try WinRate.judge(prompts: ["p1", "p2", "p3", "p4"], responsesA: a, responsesB: b, judge: WordJudge(word: "good"),
                                       names: ("alpha", "beta"), judgeName: "word", chunkSize: 2, progress: { done, _ in steps.append(done) })
        #expect(report.pairs.map(\.outcome) == [.win, .loss, .tie, .tie])
        #expect((report.wins, report.ties, report.losses) == (1, 2, 1))
        #expect(report.inconsistentPairs == 0 && report.firstShownWins == 2 && report.secondShownWins == 2)
        #expect(steps == [2, 4, 6, 8])
        #expect(report.modelA == "alpha" && report.judge == "word")
        #expect(throws: JudgeError.self) {
            try WinRate.judge(prompts: ["p"], responsesA: [], responsesB: ["x"], judge: FirstPositionJudge())
        }
    }

    @Test("a reward judge: the higher score wins in either position, equal scores tie")
    func rewardJudge() throws {
        let lengths = RewardModelJudge(reward: CharacterCountReward())
        #expect(try lengths.judge(prompt: "p", first: "long answer", second: "short") == .first)
        #expect(try lengths.judge(prompt: "p", first: "short", second: "long answer") == .second)
        #expect(try lengths.judge(prompt: "p", first: "same", second: "four") == .tie)
        let lexicon = RewardModelJudge(reward: try RewardSpecification.make("lexicon"))
        let verdicts = try lexicon.judge(pairs: [("q", "what a lovely happy day", "a sad and wretched day"),
                                                  ("q", "a sad and wretched day", "what a lovely happy day"),
                                                  ("q", "the table", "the chair")])
        #expect(verdicts == [.first, .second, .tie])
        let report = try WinRate.judge(prompts: ["q", "r"], responsesA: ["joy and love", "grief"], responsesB: ["grief", "joy and love"], judge: lexicon)
        #expect((report.wins, report.losses, report.inconsistentPairs) == (1, 1, 0))
    }

    @Test("judge specifications: rm:, reward specs; bad ones say what is expected (openai: in ClientsTests)")
    func specifications() throws {
        #expect(try JudgeSpecification.make("lexicon") is RewardModelJudge)
        for (bad, mention) in [("gpt4", "expected rm:DIR"), ("rm:", "rm: needs")] {
            let error = try #require(throws: JudgeError.self) { try JudgeSpecification.make(bad) }
            #expect(error.message.contains(mention), "\(bad): \(error.message)")
        }
    }

    @Test("the report's JSON round-trips with snake_case keys; the Markdown has the table and examples")
    func files() throws {
        let report = WinRateReport(modelA: "sft", modelB: "ppo|x", judge: "lexicon",
                                   pairs: [pair(.first, .second), pair(.first, .first), pair(.second, .first)], unparsedAnswers: 1)
        let data = try report.json()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["model_a", "model_b", "win_rate", "win_rate_ci", "win_ci", "tie_ci", "loss_ci", "inconsistent_pairs",
                    "first_shown_wins", "unparsed_answers", "pairs"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(try JSONDecoder().decode(WinRateReport.self, from: data) == report)
        let markdown = report.markdown
        #expect(markdown.contains("| A (sft) wins | 1 | 0.333 |"))
        #expect(markdown.contains("| B (ppo\\|x) wins | 1 | 0.333 |"))
        #expect(markdown.contains("Inconsistent pairs (the two orders disagree; counted as ties): 1 of 3"))
        #expect(markdown.contains("### Prompt 2: A ties (inconsistent verdicts)"))
        #expect(markdown.contains("Verdicts: A shown first → A better; B shown first → B better."))
        #expect(report.summary.contains("A wins 1 (33.3%), ties 1 (33.3%), B wins 1 (33.3%)"))
        #expect(report.summary.contains("unparsed judge answers 1"))
    }

    @Test("two checkpoints end to end: generation for both, every pair judged twice")
    func run() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("winrate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenizer = CharacterTokenizer(corpus: " abcABC")
        var directories: [URL] = []
        for seed in [UInt64(1), 2] {
            let model = GPT2LMHeadModel(GPT2Configuration(vocabularySize: tokenizer.vocabularySize, positions: 16, embeddingDimension: 16,
                                                          layers: 1, heads: 2, bosTokenId: nil, eosTokenId: nil), seed: seed)
            let directory = folder.appendingPathComponent("m\(seed)")
            try model.save(to: directory, tokenizer: tokenizer)
            directories.append(directory)
        }
        let generation = GenerationConfiguration(maxNewTokens: 5, sampling: SamplingConfiguration(temperature: 0))
        let report = try WinRate.run(a: ("one", directories[0]), b: ("two", directories[1]), prompts: ["ab", "c", "Ab"],
                                     judge: RewardModelJudge(reward: UppercaseFractionReward()), judgeName: "uppercase", generation: generation)
        let expectedA = try generateResponses(directory: directories[0], prompts: ["ab", "c", "Ab"], generation: generation)
        #expect(report.pairs.map(\.responseA) == expectedA)
        #expect(report.wins + report.ties + report.losses == 3 && report.inconsistentPairs == 0)
        #expect(report.maxNewTokens == 5 && report.temperature == 0 && report.seed == 0)
    }
}
