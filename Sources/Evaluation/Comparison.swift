// Side-by-side generations of several models on the same prompts, each scored by one reward
// (a reward model, or any RewardFunction), with the gold response's score when the data has one;
// written as Markdown, CSV and a self-contained HTML page.

import Alignment
import Foundation
import Models
import Tensors
import Tokenizers

/// One prompt's row: the generation of each model and the scores.
public struct ComparisonRow: Sendable, Equatable {
    /// The prompt.
    public var prompt: String
    /// One generation per model, in model order, and its score.
    public var responses: [String], scores: [Float]
    /// The gold response and its score, when given.
    public var gold: String?, goldScore: Float?

    /// A row.
    public init(prompt: String, responses: [String], scores: [Float], gold: String? = nil, goldScore: Float? = nil) {
        self.prompt = prompt
        self.responses = responses
        self.scores = scores
        self.gold = gold
        self.goldScore = goldScore
    }
}

/// A comparison table.
public struct Comparison: Sendable {
    /// Model names, in column order.
    public var models: [String]
    /// One row per prompt.
    public var rows: [ComparisonRow]

    /// A table of `rows` for `models`.
    public init(models: [String], rows: [ComparisonRow]) {
        self.models = models
        self.rows = rows
    }

    /// Generates with each model (greedy unless a temperature is given; fixed seed) and scores.
    /// - Parameters:
    ///   - models: (name, checkpoint directory) pairs.
    ///   - prompts: prompts with optional gold responses.
    ///   - reward: scores (prompt, response) pairs.
    ///   - generation: max new tokens, sampling; EOS ends a response.
    ///   - seed: the sampling seed (the same for every model).
    ///   - batchSize: prompts per generation batch.
    /// - Returns: the table, one row per prompt.
    /// - Throws: a checkpoint or tokenizer error, or the reward's error.
    public static func run(models: [(name: String, directory: URL)], prompts: [(prompt: String, gold: String?)], reward: any RewardFunction,
                           generation: GenerationConfiguration, seed: UInt64 = 0, batchSize: Int = 8) throws -> Comparison {
        let texts = prompts.map(\.prompt)
        let columns = try models.map { try generateResponses(directory: $0.directory, prompts: texts, generation: generation, seed: seed, batchSize: batchSize) }
        let scores = try columns.map { try reward.rewards(prompts: texts, responses: $0) }
        let goldIndices = prompts.indices.filter { prompts[$0].gold != nil }
        let goldScores = goldIndices.isEmpty ? [] : try reward.rewards(prompts: goldIndices.map { texts[$0] }, responses: goldIndices.map { prompts[$0].gold! })
        var goldByIndex: [Int: Float] = [:]
        for (index, score) in zip(goldIndices, goldScores) { goldByIndex[index] = score }
        let rows = prompts.indices.map { i in
            ComparisonRow(prompt: texts[i], responses: columns.map { $0[i] }, scores: scores.map { $0[i] },
                          gold: prompts[i].gold, goldScore: goldByIndex[i])
        }
        return Comparison(models: models.map(\.name), rows: rows)
    }

    /// Mean score of each model's column (and of the gold responses, when present).
    public var meanScores: [Double] {
        models.indices.map { m in rows.map { Double($0.scores[m]) }.reduce(0, +) / Double(max(rows.count, 1)) }
    }

    /// Mean gold score, if any row has one.
    public var meanGoldScore: Double? {
        let golds = rows.compactMap(\.goldScore)
        return golds.isEmpty ? nil : golds.map(Double.init).reduce(0, +) / Double(golds.count)
    }

    var hasGold: Bool { rows.contains { $0.gold != nil } }

    /// A Markdown table: prompt, then each model's response and score, then gold; a mean row last.
    public var markdown: String {
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "<br>")
        }
        var header = ["prompt"]
        for name in models { header += [name, "\(name) score"] }
        if hasGold { header += ["gold", "gold score"] }
        var lines = ["| " + header.map(cell).joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: header.count)]
        for row in rows {
            var cells = [cell(row.prompt)]
            for (response, score) in zip(row.responses, row.scores) { cells += [cell(response), String(format: "%.4f", score)] }
            if hasGold { cells += [cell(row.gold ?? ""), row.goldScore.map { String(format: "%.4f", $0) } ?? ""] }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        var mean = ["**mean**"]
        for score in meanScores { mean += ["", String(format: "**%.4f**", score)] }
        if hasGold { mean += ["", meanGoldScore.map { String(format: "**%.4f**", $0) } ?? ""] }
        lines.append("| " + mean.joined(separator: " | ") + " |")
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 CSV with the same columns as the Markdown table (no mean row).
    public var csv: String {
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var header = ["prompt"]
        for name in models { header += [name, "\(name)_score"] }
        if hasGold { header += ["gold", "gold_score"] }
        var lines = [header.map(field).joined(separator: ",")]
        for row in rows {
            var cells = [field(row.prompt)]
            for (response, score) in zip(row.responses, row.scores) { cells += [field(response), "\(score)"] }
            if hasGold { cells += [field(row.gold ?? ""), row.goldScore.map { "\($0)" } ?? ""] }
            lines.append(cells.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A self-contained HTML page (inline CSS, no scripts, every text escaped).
    public var html: String {
        var header = "<th>prompt</th>" + models.map { "<th>\(escapeHTML($0))</th><th>score</th>" }.joined()
        if hasGold { header += "<th>gold</th><th>score</th>" }
        var body = ""
        for row in rows {
            body += "<tr><td>\(escapeHTML(row.prompt))</td>"
            for (response, score) in zip(row.responses, row.scores) {
                body += "<td>\(escapeHTML(response))</td><td class=n>\(String(format: "%.4f", score))</td>"
            }
            if hasGold { body += "<td>\(escapeHTML(row.gold ?? ""))</td><td class=n>\(row.goldScore.map { String(format: "%.4f", $0) } ?? "")</td>" }
            body += "</tr>\n"
        }
        var mean = "<tr class=mean><td>mean</td>" + meanScores.map { "<td></td><td class=n>\(String(format: "%.4f", $0))</td>" }.joined()
        if hasGold { mean += "<td></td><td class=n>\(meanGoldScore.map { String(format: "%.4f", $0) } ?? "")</td>" }
        mean += "</tr>"
        return """
        <!doctype html><html><head><meta charset="utf-8"><title>Model comparison</title>
        <style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;white-space:pre-wrap;max-width:32em}th{background:#f3f3f3}.n{text-align:right;font-variant-numeric:tabular-nums}.mean td{font-weight:bold}</style>
        </head><body><h1>Model comparison</h1><table><thead><tr>\(header)</tr></thead><tbody>
        \(body)\(mean)
        </tbody></table></body></html>

        """
    }
}

/// The responses of the checkpoint in `directory` to `prompts`, in prompt order: each prompt keeps
/// its last tokens that fit beside `generation.maxNewTokens` (an empty one becomes the EOS token);
/// generation stops at EOS (not included in the text) or at the first stop string (cut there).
/// Greedy at temperature 0, else sampled from one generator seeded with `seed`, so the same seed
/// gives every model the same random stream.
/// - Parameters:
///   - directory: an LM checkpoint directory (config, weights, tokenizer files).
///   - prompts: the prompts.
///   - generation: max new tokens, sampling, stop strings; a nil EOS id means the tokenizer's.
///   - seed: the sampling seed.
///   - batchSize: prompts per generation batch.
/// - Returns: one decoded response per prompt.
/// - Throws: a checkpoint or tokenizer error (for example a character the tokenizer cannot encode).
public func generateResponses(directory: URL, prompts: [String], generation: GenerationConfiguration, seed: UInt64 = 0,
                              batchSize: Int = 8) throws -> [String] {
    let model = try ModelLoader.autoregressiveModel(from: directory)
    let tokenizer = try loadTokenizer(from: directory)
    var generator = RandomGenerator(seed: seed)
    var responses: [String] = []
    let budget = model.modelConfiguration.positions - generation.maxNewTokens
    var configuration = generation
    configuration.endOfSequenceTokenId = configuration.endOfSequenceTokenId ?? tokenizer.endOfTextTokenId
    configuration.vocabularyLimit = configuration.vocabularyLimit
        ?? GenerationConfiguration.vocabularyLimit(model: model.modelConfiguration, tokenizer: tokenizer, endOfSequence: configuration.endOfSequenceTokenId)
    for start in stride(from: 0, to: prompts.count, by: max(batchSize, 1)) {
        let chunk = try prompts[start..<min(start + max(batchSize, 1), prompts.count)].map { prompt -> [Int] in
            let ids = Array(try tokenizer.encodeChecked(prompt).suffix(max(budget, 1)))
            return ids.isEmpty ? [configuration.endOfSequenceTokenId ?? 0] : ids
        }
        let generated = try generate(model, prompts: chunk, configuration: configuration, generator: &generator,
                                     decode: { tokenizer.decode($0) })
        responses += generated.map { sequence in
            let tokens = sequence.finishReason == .endOfSequence ? Array(sequence.tokens.dropLast()) : sequence.tokens
            return truncating(tokenizer.decode(tokens), atFirstOf: configuration.stopStrings)
        }
    }
    return responses
}
