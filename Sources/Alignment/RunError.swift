// Why a job cannot run: a setting, the config file or command line, a data file, the model, the
// run directory, or an external scorer. Each message names the file (or "config" / "command
// line"), the line or field, and what was expected.

/// A job's error: what went wrong and where. The description is "<where>: <what>", where `<where>`
/// is a file or folder, "config" (a resolved setting), "command line", or the input's name
/// ("prompts", "reward", "normalization").
public enum RunError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A setting holds a value the job cannot use; `problem` continues "field 'NAME' …" ("must be
    /// positive, got 0", "is 0; it must be at least 1"). `source` is "config", "command line" or
    /// the config file.
    case invalidSetting(field: String, source: String, problem: String)
    /// A setting's value has the wrong type (a word where a number belongs, a list for a scalar).
    case wrongType(field: String, source: String, expected: String)
    /// A closed-choice setting holds a value outside its choices.
    case invalidChoice(field: String, source: String, value: String, choices: [String])
    /// Settings that cannot hold together; `problem` says why and what to change.
    case conflictingSettings(fields: [Setting], source: String, problem: String)
    /// A setting the job does not know; `known` lists those it does.
    case unknownField(name: String, source: String, known: [String])
    /// A required setting is absent or empty; `expected` says what it should name.
    case missingField(name: String, source: String, expected: String?)
    /// A command-line word that is not `--field` where one was expected.
    case unexpectedArgument(String)
    /// A `--field` at the end of the command line, without its value.
    case missingValue(option: String)
    /// A configuration that cannot be read as a whole: not YAML, not a mapping of field: value, a
    /// key that is not a string.
    case invalidConfiguration(source: String, problem: String)
    /// A file that is there but cannot be read; `what` names it ("config file", "corpus").
    case unreadableFile(path: String, what: String)
    /// A file or folder that does not exist; `expected` says what should be there.
    case missingFile(path: String, expected: String)
    /// A data file (or named input such as "prompts") whose content the job cannot use: a bad
    /// record, a sequence too long for the model, labels that do not fit. `path` may end in
    /// ":LINE"; `problem` names the record and field.
    case invalidData(path: String, problem: String)
    /// Data that holds nothing to work on: no records, no prompts, an empty corpus.
    case emptyData(path: String, problem: String)
    /// A token id outside the model's vocabulary 0..<`vocabularySize`: the tokenizer does not
    /// belong to the model.
    case tokenOutsideVocabulary(path: String, token: Int, vocabularySize: Int)
    /// A model checkpoint that cannot serve this job (no end-of-sequence token, a head with the
    /// wrong number of outputs).
    case unsuitableModel(path: String, problem: String)
    /// The run directory cannot be used: it cannot be created or written, it has no checkpoints,
    /// or its recorded configuration cannot be read.
    case runDirectory(path: String, problem: String)
    /// Another live process is writing the run (`process`: its id, when its lock file names one).
    case runInUse(path: String, process: Int32?)
    /// A resume would change settings the run recorded in config.yaml (`path`).
    case changedOnResume(path: String, changes: [SettingChange])
    /// A reward function, judge or server returned `scores` scores for `responses` responses.
    case wrongScoreCount(source: String, scores: Int, responses: Int)
    /// A reward function, judge or server failed or answered with something unusable.
    case external(source: String, problem: String)

    /// A setting's name and value, as named in a conflict.
    public struct Setting: Equatable, Sendable {
        /// The field ("max_new_tokens").
        public var name: String
        /// Its value as written ("16").
        public var value: String

        /// A field and its value.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A setting that differs between the recorded run and a resume.
    public struct SettingChange: Equatable, Sendable {
        /// The field.
        public var field: String
        /// The value in config.yaml ("(absent)" when the run did not record it).
        public var recorded: String
        /// The value the resume asks for ("(absent)" when not set).
        public var requested: String

        /// A change of `field` from `recorded` to `requested`.
        public init(field: String, recorded: String, requested: String) {
            self.field = field
            self.recorded = recorded
            self.requested = requested
        }
    }

    /// Where the error is: a file or folder, "config", "command line", or an input's name.
    public var location: String {
        switch self {
        case let .invalidSetting(_, source, _), let .wrongType(_, source, _), let .invalidChoice(_, source, _, _),
             let .conflictingSettings(_, source, _), let .unknownField(_, source, _), let .missingField(_, source, _),
             let .invalidConfiguration(source, _), let .wrongScoreCount(source, _, _), let .external(source, _):
            return source
        case .unexpectedArgument, .missingValue:
            return "command line"
        case let .unreadableFile(path, _), let .missingFile(path, _), let .invalidData(path, _), let .emptyData(path, _),
             let .tokenOutsideVocabulary(path, _, _), let .unsuitableModel(path, _), let .runDirectory(path, _),
             let .runInUse(path, _), let .changedOnResume(path, _):
            return path
        }
    }

    /// What went wrong and what was expected, without the location.
    public var message: String {
        switch self {
        case let .invalidSetting(field, _, problem):
            return "field '\(field)' \(problem)"
        case let .wrongType(field, _, expected):
            return "field '\(field)': expected \(expected)"
        case let .invalidChoice(field, _, value, choices):
            return "field '\(field)' is '\(value)'; expected \(choices.joined(separator: ", "))"
        case let .conflictingSettings(fields, _, problem):
            let named = fields.map { "'\($0.name)' (\($0.value))" }
            let list = named.count > 1 ? named.dropLast().joined(separator: ", ") + " and " + named.last! : named.joined()
            return "fields \(list) disagree: \(problem)"
        case let .unknownField(name, _, known):
            return "unknown field '\(name)'; known fields: \(known.joined(separator: ", "))"
        case let .missingField(name, _, expected):
            return "field '\(name)' is required\(expected.map { " (\($0))" } ?? "")"
        case let .unexpectedArgument(argument):
            return "expected --field value, got '\(argument)'"
        case let .missingValue(option):
            return "--\(option) needs a value"
        case let .invalidConfiguration(_, problem), let .invalidData(_, problem), let .emptyData(_, problem),
             let .unsuitableModel(_, problem), let .runDirectory(_, problem), let .external(_, problem):
            return problem
        case let .unreadableFile(_, what):
            return "cannot read the \(what)"
        case let .missingFile(_, expected):
            return "no such file (\(expected))"
        case let .tokenOutsideVocabulary(_, token, vocabularySize):
            return "token id \(token) is outside the model's vocabulary 0..<\(vocabularySize) (does the tokenizer belong to this model?)"
        case let .runInUse(_, process):
            return "the run is being written by \(process.map { "process \($0)" } ?? "another process"); wait for it to finish, or use another --name"
        case let .changedOnResume(_, changes):
            let list = changes.map { "'\($0.field)' was \($0.recorded), now \($0.requested)" }.joined(separator: "; ")
            return "resuming with a changed configuration: \(list). Resume with the recorded settings, pass --override-config to resume anyway, or start a new run with another --name"
        case let .wrongScoreCount(_, scores, responses):
            return "the reward function returned \(scores) scores for \(responses) responses"
        }
    }

    /// "<location>: <message>".
    public var description: String { "\(location): \(message)" }
}
