// Why a blind-rating session cannot be set up: a bad scale, session file, set of samples, or
// rating database.

/// A rating session that cannot be set up. The description is "<where>: <what>", where `<where>`
/// is the session file or database, "session" (settings given in code), "--scale" or "--samples".
public enum RatingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A `--scale` text that is not `NAME=MIN-MAX`.
    case invalidScaleSpecification(String)
    /// The session file cannot be read.
    case unreadableSessionFile(path: String)
    /// The session file is not YAML or JSON of a session's fields; `problem` is the decoder's reason.
    case invalidSessionFile(path: String, problem: String)
    /// Rating mode without any scale (`source`: the session file, or "session").
    case noScales(source: String)
    /// A scale name that is not 1–40 lowercase letters, digits, `_` or `-`.
    case invalidScaleName(source: String, name: String)
    /// Two scales with one name.
    case duplicateScale(source: String, name: String)
    /// A scale whose minimum is not below its maximum, or that has more than 101 scores.
    case invalidScaleRange(source: String, name: String, minimum: Int, maximum: Int)
    /// `--samples` holds no samples.
    case noSamples
    /// Pairwise mode with samples from one source only (`source`: that one, "" when there is none).
    case singleSource(String)
    /// Pairwise mode where no prompt has responses from two sources.
    case noSharedPrompts
    /// The database holds a session with other settings than those given.
    case otherSettings(database: String)
    /// The database holds a session made from other samples (it has `items` items).
    case otherSamples(database: String, items: Int)
    /// A new database, and no samples to make its session from.
    case samplesNeeded(database: String)
    /// The database cannot be opened or is not a rating database; `reason` is SQLite's.
    case cannotOpenDatabase(path: String, reason: String)
    /// The database already holds a session, so another cannot be created in it.
    case sessionExists(database: String)

    /// Where the error is: the session file or database, "session", "--scale" or "--samples".
    public var location: String {
        switch self {
        case .invalidScaleSpecification:
            return "--scale"
        case .noSamples, .singleSource, .noSharedPrompts:
            return "--samples"
        case let .unreadableSessionFile(path), let .invalidSessionFile(path, _), let .cannotOpenDatabase(path, _):
            return path
        case let .noScales(source), let .invalidScaleName(source, _), let .duplicateScale(source, _), let .invalidScaleRange(source, _, _, _):
            return source
        case let .otherSettings(database), let .otherSamples(database, _), let .samplesNeeded(database), let .sessionExists(database):
            return database
        }
    }

    /// What is wrong and what was expected, without the location.
    public var message: String {
        switch self {
        case let .invalidScaleSpecification(text):
            return "'\(text)' is not NAME=MIN-MAX, for example positivity=1-5"
        case .unreadableSessionFile:
            return "cannot read the session file"
        case let .invalidSessionFile(_, problem):
            return "not a session file: \(problem)"
        case .noScales:
            return "rating mode needs at least one scale"
        case let .invalidScaleName(_, name):
            return "scale name '\(name)': expected 1–40 lowercase letters, digits, '_' or '-'"
        case let .duplicateScale(_, name):
            return "scale '\(name)' is given twice"
        case let .invalidScaleRange(_, name, minimum, maximum):
            return "scale '\(name)': expected min < max and at most 101 scores, got \(minimum)–\(maximum)"
        case .noSamples:
            return "no samples to rate"
        case let .singleSource(source):
            return "pairwise mode needs samples from at least two sources; got only '\(source)'"
        case .noSharedPrompts:
            return "pairwise mode: no prompt has responses from two sources (prompts must match exactly)"
        case .otherSettings:
            return "the database holds a session with other settings; use a new --db or leave out --session/--mode/--scale"
        case let .otherSamples(_, items):
            return "the database holds a session made from other samples (\(items) items); use a new --db, or leave out --samples to go on with it"
        case .samplesNeeded:
            return "a new rating database needs --samples"
        case let .cannotOpenDatabase(_, reason):
            return "cannot open the rating database: \(reason)"
        case .sessionExists:
            return "the database already holds a session"
        }
    }

    /// "<location>: <message>".
    public var description: String { "\(location): \(message)" }
}
