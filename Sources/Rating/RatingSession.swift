// A blind rating session: its configuration (rating or pairwise mode, named scales), the samples
// it rates, the items built from them, and the per-rater order and left/right placement that keep
// the source of every response hidden from the rater (RLHF-Shakespeare's blind rating, made
// repeatable: everything the rater sees follows from the session seed, the item and the rater).

import Alignment
import Datasets
import Foundation
import Yams

/// What a rater does with each item.
public enum RatingMode: String, Codable, Sendable, CaseIterable {
    /// One response at a time, scored on each of the session's scales.
    case rating
    /// Two responses to the same prompt side by side; the rater picks one or a tie.
    case pairwise
}

/// A named integer scale, such as "positivity 1–5".
public struct RatingScale: Codable, Sendable, Equatable {
    /// The scale's name: lowercase letters, digits, `_` and `-` (used in forms and the database).
    public var name: String
    /// The lowest and highest score, inclusive.
    public var minimum: Int, maximum: Int
    /// The question shown above the buttons (default: the name).
    public var question: String?
    /// Words under the lowest and the highest button.
    public var lowLabel: String?, highLabel: String?

    enum CodingKeys: String, CodingKey {
        case name, minimum = "min", maximum = "max", question, lowLabel = "low_label", highLabel = "high_label"
    }

    /// A scale from `minimum` to `maximum`.
    public init(name: String, minimum: Int, maximum: Int, question: String? = nil, lowLabel: String? = nil, highLabel: String? = nil) {
        self.name = name
        self.minimum = minimum
        self.maximum = maximum
        self.question = question
        self.lowLabel = lowLabel
        self.highLabel = highLabel
    }

    /// Parses `NAME=MIN-MAX` (for example `positivity=1-5`).
    /// - Throws: ``RatingError`` naming the text and the expected form.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let bounds = parts.count == 2 ? parts[1].split(separator: "-").compactMap { Int($0) } : []
        guard parts.count == 2, bounds.count == 2 else {
            throw RatingError.invalidScaleSpecification(text)
        }
        self.init(name: parts[0], minimum: bounds[0], maximum: bounds[1])
    }

    /// The scores a rater may give, lowest first.
    public var scores: ClosedRange<Int> { minimum...maximum }
}

/// A session's settings: the mode, the scales, the words shown to raters, and the seed that fixes
/// every rater's item order and every pair's left/right placement.
public struct RatingSessionConfiguration: Codable, Sendable, Equatable {
    /// The page title.
    public var title: String
    /// Rating (scales) or pairwise (pick one).
    public var mode: RatingMode
    /// The scales of rating mode (unused in pairwise mode).
    public var scales: [RatingScale]
    /// What raters are asked to do, shown on the start page.
    public var instructions: String
    /// Fixes the item order of each rater and the left/right placement of each pair.
    public var seed: UInt64

    /// RLHF-Shakespeare's two questions: how positive the text is, and whether it makes sense.
    public static let shakespeareScales = [
        RatingScale(name: "positivity", minimum: 1, maximum: 5, question: "How happy or positive is this text?",
                    lowLabel: "very sad", highLabel: "very happy"),
        RatingScale(name: "sense", minimum: 1, maximum: 5, question: "Does it make sense?",
                    lowLabel: "nonsense", highLabel: "perfectly clear"),
    ]

    /// A configuration; the defaults are rating mode with ``shakespeareScales``.
    public init(title: String = "Blind rating", mode: RatingMode = .rating, scales: [RatingScale] = shakespeareScales,
                instructions: String? = nil, seed: UInt64 = 0) {
        self.title = title
        self.mode = mode
        self.scales = scales
        self.instructions = instructions ?? (mode == .rating
            ? "Read each text and answer every question. You will not be told which model wrote it."
            : "Read the prompt and both responses, then pick the better response, or a tie. Sides are shuffled.")
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey { case title, mode, scales, instructions, seed }

    /// Decodes with every field optional (defaults as in ``init(title:mode:scales:instructions:seed:)``).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let mode = try container.decodeIfPresent(RatingMode.self, forKey: .mode) ?? .rating
        self.init(title: try container.decodeIfPresent(String.self, forKey: .title) ?? "Blind rating", mode: mode,
                  scales: try container.decodeIfPresent([RatingScale].self, forKey: .scales) ?? Self.shakespeareScales,
                  instructions: try container.decodeIfPresent(String.self, forKey: .instructions),
                  seed: try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0)
    }

    /// Reads a YAML or JSON session file (`title`, `mode`, `scales: [{name, min, max, question,
    /// low_label, high_label}]`, `instructions`, `seed`), then validates it.
    /// - Throws: ``RatingError`` naming the file and the bad field.
    public static func read(_ url: URL) throws -> RatingSessionConfiguration {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw RatingError.unreadableSessionFile(path: url.path)
        }
        let configuration: RatingSessionConfiguration
        do {
            configuration = try YAMLDecoder().decode(RatingSessionConfiguration.self, from: String(decoding: data, as: UTF8.self))
        } catch {
            throw RatingError.invalidSessionFile(path: url.path, problem: "\(error)")
        }
        try configuration.validate(path: url.path)
        return configuration
    }

    /// Checks the scales: rating mode has at least one; names are unique, of lowercase letters,
    /// digits, `_` or `-`; each has 2 to 101 scores.
    /// - Throws: ``RatingError`` naming `path` and the scale at fault.
    public func validate(path: String = "session") throws {
        if mode == .rating && scales.isEmpty { throw RatingError.noScales(source: path) }
        var seen = Set<String>()
        for scale in scales {
            guard !scale.name.isEmpty, scale.name.count <= 40,
                  scale.name.unicodeScalars.allSatisfy({ CharacterSet.lowercaseLetters.contains($0) || CharacterSet.decimalDigits.contains($0) || "_-".unicodeScalars.contains($0) })
            else { throw RatingError.invalidScaleName(source: path, name: scale.name) }
            guard seen.insert(scale.name).inserted else { throw RatingError.duplicateScale(source: path, name: scale.name) }
            guard scale.minimum < scale.maximum, scale.maximum - scale.minimum <= 100 else {
                throw RatingError.invalidScaleRange(source: path, name: scale.name, minimum: scale.minimum, maximum: scale.maximum)
            }
        }
    }
}

/// One response to rate, with the source (a model or checkpoint) that the rater is not shown.
public struct RatingSample: Codable, Sendable, Equatable {
    /// The model or checkpoint that wrote the response.
    public var source: String
    /// The prompt (may be empty when the response stands alone, as a snippet does).
    public var prompt: String
    /// The text rated.
    public var response: String

    /// A sample.
    public init(source: String, prompt: String, response: String) {
        self.source = source
        self.prompt = prompt
        self.response = response
    }

    /// The fields read as the response, in order of preference.
    public static let responseFields = ["response", "completion", "text", "generation"]

    /// Reads samples from `NAME=FILE` or `FILE` (JSONL, JSON, CSV or TSV). Each record needs one of
    /// ``responseFields``; `prompt` (or `query`) is optional. The source is NAME when given, else
    /// the record's `source` or `model` field, else the file's name without its extension.
    /// - Throws: ``DatasetError`` naming the file, the line and the missing field.
    public static func read(_ argument: String) throws -> [RatingSample] {
        var name: String?
        var path = argument
        if let equals = argument.firstIndex(of: "="), !FileManager.default.fileExists(atPath: argument) {
            name = String(argument[..<equals])
            path = String(argument[argument.index(after: equals)...])
        }
        let url = URL(fileURLWithPath: path)
        let fallback = name ?? url.deletingPathExtension().lastPathComponent
        let samples = try RecordFile.read(url) { (record) throws(DatasetError) -> RatingSample in
            guard let field = responseFields.first(where: record.has) else {
                throw record.error("expected a response field (one of \(responseFields.joined(separator: ", "))); the record has \(RawRecord.describe(keys: record.keys))")
            }
            var prompt = try record.optionalString("prompt")
            if prompt == nil { prompt = try record.optionalString("query") }
            var source = name
            if source == nil { source = try record.optionalString("source") }
            if source == nil { source = try record.optionalString("model") }
            return RatingSample(source: source ?? fallback, prompt: prompt ?? "", response: try record.string(field))
        }.records
        guard !samples.isEmpty else { throw DatasetError(path: url.path, message: "no samples in the file") }
        return samples
    }
}
