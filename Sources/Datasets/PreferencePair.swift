import Foundation

/// The record layouts a preference file may use (see DESIGN.md, "Record formats").
public enum PreferenceRecordShape: String, Sendable, CaseIterable, Codable {
    /// `{"prompt","chosen","rejected"}` (TRL explicit-prompt preference): taken as is.
    case promptChosenRejected
    /// Anthropic HH `{"chosen","rejected"}`: two full dialogues whose shared prefix is the prompt.
    case anthropicHH

    /// The key set this shape is recognised by, for messages.
    public var acceptedKeys: String {
        switch self {
        case .promptChosenRejected: return #"{"prompt","chosen","rejected"}"#
        case .anthropicHH: return #"{"chosen","rejected"} (Anthropic HH)"#
        }
    }

    /// Recognises a record's shape: `prompt`+`chosen`+`rejected`, else `chosen`+`rejected`.
    /// - Parameter record: a record (normally a file's first).
    /// - Throws: ``DatasetError`` listing the accepted key sets and the keys found.
    public static func detect(_ record: RawRecord) throws(DatasetError) -> PreferenceRecordShape {
        if record.has("chosen"), record.has("rejected") {
            return record.has("prompt") ? .promptChosenRejected : .anthropicHH
        }
        let accepted = allCases.map(\.acceptedKeys).joined(separator: "; ")
        throw record.error("unknown preference record shape: found \(RawRecord.describe(keys: record.keys)); accepted: \(accepted)")
    }
}

/// A human preference between two responses to one prompt.
///
/// For Anthropic HH records (`{"chosen","rejected"}`, each a whole dialogue) the prompt is found
/// by splitting each dialogue at its own last `"\n\nAssistant:"` (``AnthropicDialogue``): the
/// prompt is the text up to and including that marker, `chosen`/`rejected` are the texts after
/// it, so `prompt + chosen` and `prompt + rejected` are the original dialogues. The two prompts
/// must be equal. In the HH harmless-base test split 2,307 of 2,312 pairs pass; in the other 5
/// the dialogues already differ in an earlier turn, so they have no common prompt: such a pair is
/// an error on field `rejected`, or, with `skipBadRecords`, is left out and counted. (Cutting at
/// the longest common prefix instead would give a prompt that ends mid-turn, which a policy could
/// not be asked to continue.)
public struct PreferencePair: Sendable, Hashable, Codable {
    /// The shared conditioning text.
    public var prompt: String
    /// The preferred response.
    public var chosen: String
    /// The dispreferred response.
    public var rejected: String

    /// Creates a pair.
    /// - Parameters:
    ///   - prompt: the shared prompt.
    ///   - chosen: the preferred response.
    ///   - rejected: the dispreferred response.
    public init(prompt: String, chosen: String, rejected: String) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }

    /// Parses a record of the given shape.
    /// - Parameters:
    ///   - record: the record.
    ///   - shape: its layout.
    /// - Throws: ``DatasetError`` naming file, line and field for a missing or mistyped field, a
    ///   dialogue with no assistant turn, or HH dialogues with different prompts.
    public init(record: RawRecord, shape: PreferenceRecordShape) throws(DatasetError) {
        switch shape {
        case .promptChosenRejected:
            self.init(prompt: try record.string("prompt"), chosen: try record.string("chosen"),
                      rejected: try record.string("rejected"))
        case .anthropicHH:
            let chosenDialogue = try record.string("chosen")
            let rejectedDialogue = try record.string("rejected")
            guard let chosenSplit = AnthropicDialogue.splitAtLastAssistantTurn(chosenDialogue) else {
                throw record.error(field: "chosen", #"no "\n\nAssistant:" turn to split at"#)
            }
            guard let rejectedSplit = AnthropicDialogue.splitAtLastAssistantTurn(rejectedDialogue) else {
                throw record.error(field: "rejected", #"no "\n\nAssistant:" turn to split at"#)
            }
            guard chosenSplit.prompt == rejectedSplit.prompt else {
                let common = Self.commonPrefixLength(chosenSplit.prompt, rejectedSplit.prompt)
                throw record.error(field: "rejected", "the dialogue differs from 'chosen' before the last assistant turn (at character \(common)), so the pair has no shared prompt")
            }
            self.init(prompt: chosenSplit.prompt, chosen: chosenSplit.response, rejected: rejectedSplit.response)
        }
    }

    /// The number of leading characters two strings share.
    static func commonPrefixLength(_ first: String, _ second: String) -> Int {
        zip(first, second).prefix { $0 == $1 }.count
    }

    /// Reads a preference file (JSON Lines, JSON array or CSV/TSV; gzip allowed).
    /// - Parameters:
    ///   - url: the file.
    ///   - shape: the layout to use; nil (the default) detects it from the first record.
    ///   - skipBadRecords: whether a bad record (including an HH pair without a shared prompt) is
    ///     counted and left out instead of thrown.
    /// - Returns: the pairs and the records skipped.
    /// - Throws: ``DatasetError`` for an unknown shape (always), or a bad record unless skipping.
    public static func read(_ url: URL, shape: PreferenceRecordShape? = nil,
                            skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<PreferencePair> {
        let raw = try RecordFile.read(url, skipBadRecords: skipBadRecords)
        guard let first = raw.records.first else { return ReadReport(records: [], skipped: raw.skipped) }
        let resolved: PreferenceRecordShape
        if let shape { resolved = shape } else { resolved = try PreferenceRecordShape.detect(first) }
        return try raw.compactMapRecords(skipBadRecords: skipBadRecords) { (record) throws(DatasetError) in
            try PreferencePair(record: record, shape: resolved)
        }
    }
}
