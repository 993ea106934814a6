import Foundation

/// The record layouts an SFT file may use (see DESIGN.md, "Record formats").
public enum SFTRecordShape: String, Sendable, CaseIterable, Codable {
    /// `{"prompt","completion"}` (TRL prompt-completion): taken as is.
    case promptCompletion
    /// `{"messages":[{"role","content"}]}` (TRL conversational), rendered with ``ChatTemplate``.
    case messages
    /// Anthropic HH `{"chosen"}`: split at the last `"\n\nAssistant:"` (``AnthropicDialogue``).
    case anthropicHH
    /// Alpaca `{"instruction","input","output"}`, or the self-instruct seed-task layout
    /// `{"instruction","instances":[{"input","output"}]}` (first instance), via ``AlpacaTemplate``.
    case alpaca

    /// The key set this shape is recognised by, for messages.
    public var acceptedKeys: String {
        switch self {
        case .promptCompletion: return #"{"prompt","completion"}"#
        case .messages: return #"{"messages":[{"role","content"}]}"#
        case .anthropicHH: return #"{"chosen"} (Anthropic HH)"#
        case .alpaca: return #"{"instruction","input","output"} or {"instruction","instances":[{"input","output"}]} (Alpaca)"#
        }
    }

    /// Recognises a record's shape from its keys, checked in this order: `messages`;
    /// `prompt`+`completion`; `instruction` with `output` or `instances`; `chosen`.
    /// - Parameter record: a record (normally a file's first).
    /// - Returns: the shape.
    /// - Throws: ``DatasetError`` at the record, listing the accepted key sets and the keys found.
    public static func detect(_ record: RawRecord) throws(DatasetError) -> SFTRecordShape {
        if record.has("messages") { return .messages }
        if record.has("prompt"), record.has("completion") { return .promptCompletion }
        if record.has("instruction"), record.has("output") || record.has("instances") { return .alpaca }
        if record.has("chosen") { return .anthropicHH }
        let accepted = allCases.map(\.acceptedKeys).joined(separator: "; ")
        throw record.error("unknown SFT record shape: found \(RawRecord.describe(keys: record.keys)); accepted: \(accepted)")
    }
}

/// A supervised fine-tuning example: the text the model is given and the text it should write.
///
/// Training computes the loss on `response` only; `prompt + response` is the full sequence.
public struct SFTExample: Sendable, Hashable, Codable {
    /// The conditioning text (template applied).
    public var prompt: String
    /// The target text.
    public var response: String

    /// Creates an example.
    /// - Parameters:
    ///   - prompt: the conditioning text.
    ///   - response: the target text.
    public init(prompt: String, response: String) {
        self.prompt = prompt
        self.response = response
    }

    /// `prompt + response`.
    public var text: String { prompt + response }

    /// Parses a record of the given shape.
    /// - Parameters:
    ///   - record: the record.
    ///   - shape: its layout.
    /// - Throws: ``DatasetError`` naming the file, line and field when a field is missing, of the
    ///   wrong type, or (HH, messages) not splittable.
    public init(record: RawRecord, shape: SFTRecordShape) throws(DatasetError) {
        switch shape {
        case .promptCompletion:
            self.init(prompt: try record.string("prompt"), response: try record.string("completion"))
        case .messages:
            let messages = try Self.messages(in: record)
            guard let last = messages.last, last.role == "assistant" else {
                throw record.error(field: "messages", "the last message must have role 'assistant' (it is the response)")
            }
            self.init(prompt: ChatTemplate.prompt(for: Array(messages.dropLast())), response: last.content)
        case .anthropicHH:
            let dialogue = try record.string("chosen")
            guard let split = AnthropicDialogue.splitAtLastAssistantTurn(dialogue) else {
                throw record.error(field: "chosen", #"no "\n\nAssistant:" turn to split at"#)
            }
            self.init(prompt: split.prompt, response: split.response)
        case .alpaca:
            let instruction = try record.string("instruction")
            let input: String, output: String
            if record.has("output") {
                input = try record.optionalString("input") ?? ""
                output = try record.string("output")
            } else {
                let instances = try record.array("instances")
                guard let first = instances.first else {
                    throw record.error(field: "instances", "expected at least one {\"input\",\"output\"} instance")
                }
                guard let instance = first as? [String: Any] else {
                    throw record.error(field: "instances[0]", "expected an object, found \(RawRecord.typeName(of: first))")
                }
                let inner = RawRecord(location: record.location, object: instance)
                do {
                    input = try inner.optionalString("input") ?? ""
                    output = try inner.string("output")
                } catch {
                    throw record.error(field: "instances[0].\(error.field ?? "")", error.message)
                }
            }
            self.init(prompt: AlpacaTemplate.prompt(instruction: instruction, input: input), response: output)
        }
    }

    /// The `messages` array of a record, each element checked.
    static func messages(in record: RawRecord) throws(DatasetError) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        for (index, element) in try record.array("messages").enumerated() {
            guard let object = element as? [String: Any] else {
                throw record.error(field: "messages[\(index)]", "expected an object {\"role\",\"content\"}, found \(RawRecord.typeName(of: element))")
            }
            var fields: [String] = []
            for key in ["role", "content"] {
                guard let value = object[key], !(value is NSNull) else {
                    throw record.error(field: "messages[\(index)].\(key)", "missing field")
                }
                guard let text = value as? String else {
                    throw record.error(field: "messages[\(index)].\(key)", "expected a string, found \(RawRecord.typeName(of: value))")
                }
                fields.append(text)
            }
            messages.append(ChatMessage(role: fields[0], content: fields[1]))
        }
        guard !messages.isEmpty else { throw record.error(field: "messages", "expected at least one message") }
        return messages
    }

    /// Reads an SFT file (JSON Lines, JSON array or CSV/TSV; gzip allowed).
    /// - Parameters:
    ///   - url: the file.
    ///   - shape: the layout to use; nil (the default) detects it from the first record's keys
    ///     (``SFTRecordShape/detect(_:)``) and applies it to every record.
    ///   - skipBadRecords: whether a bad record is counted and left out instead of thrown.
    /// - Returns: the examples and the records skipped.
    /// - Throws: ``DatasetError`` for an unknown shape (always), or a bad record unless skipping.
    public static func read(_ url: URL, shape: SFTRecordShape? = nil,
                            skipBadRecords: Bool = false) throws(DatasetError) -> ReadReport<SFTExample> {
        let located = try readLocated(url, shape: shape, skipBadRecords: skipBadRecords)
        return ReadReport(records: located.records.map(\.example), skipped: located.skipped)
    }

    /// Reads an SFT file like ``read(_:shape:skipBadRecords:)``, keeping each example's location
    /// so that later checks (such as a response too long for the model) can name its line.
    public static func readLocated(_ url: URL, shape: SFTRecordShape? = nil, skipBadRecords: Bool = false)
        throws(DatasetError) -> ReadReport<(location: RecordLocation, example: SFTExample)> {
        let raw = try RecordFile.read(url, skipBadRecords: skipBadRecords)
        guard let first = raw.records.first else { return ReadReport(records: [], skipped: raw.skipped) }
        let resolved: SFTRecordShape
        if let shape { resolved = shape } else { resolved = try SFTRecordShape.detect(first) }
        return try raw.compactMapRecords(skipBadRecords: skipBadRecords) { (record) throws(DatasetError) in
            (record.location, try SFTExample(record: record, shape: resolved))
        }
    }
}
