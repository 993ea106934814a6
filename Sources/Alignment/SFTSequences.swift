// SFT examples as token sequences: prompt tokens, response tokens, end-of-sequence; prompts cut
// from the left so that the response fits; batches whose targets cover the response only.

import Datasets
import Foundation
import Models
import Tensors
import Tokenizers

/// What to do with an example whose response (plus end-of-sequence, plus one prompt token) does
/// not fit in `max_length`.
public enum LongResponsePolicy: String, SettingChoice {
    /// Stop with an error naming the file and line (the default).
    case error
    /// Cut the response's end (the sequence then has no end-of-sequence token); counted.
    case truncate
    /// Leave the example out; counted.
    case skip
}

/// One tokenized SFT example: `tokens = prompt + response + [EOS]`.
public struct SFTSequence: Sendable, Equatable {
    /// The whole sequence.
    public var tokens: [Int32]
    /// How many leading tokens are prompt (no loss on them).
    public var promptLength: Int

    /// A sequence whose first `promptLength` tokens are prompt.
    public init(tokens: [Int32], promptLength: Int) {
        self.tokens = tokens
        self.promptLength = promptLength
    }

    /// The sequence as a teacher-forced pair: the prompt (at least the first token: a sequence
    /// without a prompt never predicts its first token) and the response + EOS after it.
    public var pair: (prompt: [Int32], response: [Int32]) {
        let split = max(promptLength, 1)
        return (Array(tokens[..<split]), Array(tokens[split...]))
    }

    /// The sequences as one batch of teacher-forced pairs (``pair``).
    public static func responseBatch(_ sequences: [SFTSequence]) -> ResponseBatch {
        let pairs = sequences.map(\.pair)
        return ResponseBatch(prompts: pairs.map(\.prompt), responses: pairs.map(\.response))
    }

    /// Next-token targets for `tokens.dropLast()`: position i predicts `tokens[i + 1]`, and is
    /// trained on only when that token is response (or end-of-sequence); prompt targets are −100.
    public var targets: [Int32] {
        (0..<(tokens.count - 1)).map { i in i + 1 >= promptLength ? tokens[i + 1] : -100 }
    }
}

/// How the examples of a file fared on the way to sequences.
public struct SFTPreparationReport: Sendable, Equatable {
    /// Sequences made.
    public var sequences = 0
    /// Examples whose prompt was cut from the left to make room for the response.
    public var promptsTruncated = 0
    /// Examples whose response was cut (`long_responses: truncate`).
    public var responsesTruncated = 0
    /// Examples left out because the response did not fit (`long_responses: skip`).
    public var longResponsesSkipped = 0
    /// Bad records left out (`skip_bad_records: true`).
    public var badRecordsSkipped = 0

    /// One line for the terminal, e.g. "2,000 sequences; 31 prompts truncated from the left".
    public var summary: String {
        var parts = ["\(sequences) sequences", "\(promptsTruncated) prompts truncated from the left"]
        if responsesTruncated > 0 { parts.append("\(responsesTruncated) responses truncated") }
        if longResponsesSkipped > 0 { parts.append("\(longResponsesSkipped) examples skipped (response too long)") }
        if badRecordsSkipped > 0 { parts.append("\(badRecordsSkipped) bad records skipped") }
        return parts.joined(separator: "; ")
    }
}

/// Turns SFT examples into training sequences.
public enum SFTSequenceBuilder {
    /// Tokenizes `prompt` and `response` separately and appends `endOfSequence`.
    ///
    /// When the whole does not fit in `maxLength` tokens, the prompt loses tokens from its start
    /// (keeping at least one), so the response is always whole. When even that does not fit, the
    /// `policy` decides: an error naming the record's file and line, a response cut at its end
    /// (without end-of-sequence), or the example left out.
    /// - Parameters:
    ///   - examples: the examples with where each came from.
    ///   - tokenizer: the model's tokenizer.
    ///   - endOfSequence: the id appended after each response.
    ///   - maxLength: the longest sequence (≤ the model's positions + 1: the last token is only a target).
    /// - Returns: the sequences (in example order) and the counts.
    public static func build(_ examples: [(location: RecordLocation, example: SFTExample)], tokenizer: any Tokenizer,
                             endOfSequence: Int32, maxLength: Int,
                             policy: LongResponsePolicy) throws -> (sequences: [SFTSequence], report: SFTPreparationReport) {
        var sequences: [SFTSequence] = []
        var report = SFTPreparationReport()
        sequences.reserveCapacity(examples.count)
        for (location, example) in examples {
            var prompt: [Int32], response: [Int32]
            do {
                prompt = try tokenizer.encodeChecked(example.prompt).map { Int32($0) }
                response = try tokenizer.encodeChecked(example.response).map { Int32($0) } + [endOfSequence]
            } catch {
                throw location.error("cannot tokenize: \(error)")
            }
            let minimumPrompt = min(prompt.count, 1)
            if minimumPrompt + response.count > maxLength {
                switch policy {
                case .error:
                    throw location.error(field: "response", "the response takes \(response.count) tokens with end-of-sequence, "
                        + "which with \(minimumPrompt) prompt token leaves no room in max_length \(maxLength); raise max_length "
                        + "or set long_responses to truncate or skip")
                case .skip:
                    report.longResponsesSkipped += 1
                    continue
                case .truncate:
                    response = Array(response.prefix(maxLength - minimumPrompt))
                    report.responsesTruncated += 1
                }
            }
            if prompt.count + response.count > maxLength {
                prompt = Array(prompt.suffix(maxLength - response.count))
                report.promptsTruncated += 1
            }
            guard prompt.count + response.count >= 2 else {
                throw location.error(field: "response", "the example is \(prompt.count + response.count) token long; "
                    + "a training sequence needs at least 2 (a token and the one it predicts)")
            }
            sequences.append(SFTSequence(tokens: prompt + response, promptLength: prompt.count))
        }
        report.sequences = sequences.count
        return (sequences, report)
    }

    /// The sequences as one right-padded micro-batch: inputs (B, T) and targets (B, T), with
    /// T the longest sequence minus one; padding inputs are `padding`, padding targets −100.
    public static func batch(_ sequences: [SFTSequence], padding: Int32) -> LanguageModelBatch {
        let B = sequences.count
        let T = sequences.map { $0.tokens.count - 1 }.max() ?? 0
        var inputs = [Int32](repeating: padding, count: B * T)
        var targets = [Int32](repeating: -100, count: B * T)
        var real = 0
        for (b, sequence) in sequences.enumerated() {
            let n = sequence.tokens.count - 1
            for (t, token) in sequence.tokens.prefix(n).enumerated() { inputs[b * T + t] = token }
            for (t, target) in sequence.targets.enumerated() { targets[b * T + t] = target }
            real += n
        }
        return LanguageModelBatch(inputs: IndexTensor(shape: [B, T], values: inputs),
                                  targets: IndexTensor(shape: [B, T], values: targets), tokenCount: real)
    }
}
