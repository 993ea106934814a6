// Settings documented once: each job's settings struct lists its fields' one-line meanings, and
// `rlhf <job> --help` is generated from that list and the struct's defaults (type, default,
// meaning), so the help cannot fall behind the fields.

import Foundation
import Kernels
import Yams

/// One setting's documentation: its YAML name, its meaning, and what its default does not tell.
public struct SettingHelp: Sendable, Equatable {
    /// The YAML name (snake_case); on the command line `--name` with dashes or underscores.
    public let name: String
    /// One line: what the field does.
    public let meaning: String
    /// The allowed values of a closed choice, in order.
    public let choices: [String]?
    /// The type, for a field whose default (null) does not show it: "integer", "text", …
    public let type: String?

    /// A field whose type shows in its default.
    public init(_ name: String, _ meaning: String, type: String? = nil) {
        self.name = name
        self.meaning = meaning
        self.choices = nil
        self.type = type
    }

    /// A field that takes one of `Choice`'s names.
    public static func choice<Choice: SettingChoice>(_ name: String, _ choice: Choice.Type, _ meaning: String, optional: Bool = false) -> SettingHelp {
        SettingHelp(name: name, meaning: meaning, choices: Choice.names, type: optional ? "\(Choice.names.joined(separator: " | ")) or null" : nil)
    }

    private init(name: String, meaning: String, choices: [String]?, type: String?) {
        self.name = name
        self.meaning = meaning
        self.choices = choices
        self.type = type
    }
}

/// Settings whose fields are documented for the generated help.
public protocol DocumentedSettings {
    /// Every field, in the order the help lists them (embedded settings included).
    static var help: [SettingHelp] { get }
}

extension JobConfiguration {
    /// The generated field list: per field, its command-line spelling, type and default, then
    /// its meaning on an indented line (so that an 80-column help keeps its shape), e.g.
    /// `  --max-new-tokens  integer, default 24` / `      New tokens per response, at most.`
    /// - Parameters:
    ///   - entries: the fields, in order.
    ///   - defaults: the job's default mapping (absent keys default to null).
    public static func helpText(_ entries: [SettingHelp], defaults: Node.Mapping) -> String {
        entries.map { entry -> String in
            let node = defaults[Node(entry.name)]
            let type: String
            if let choices = entry.choices {
                type = entry.type ?? choices.joined(separator: " | ")
            } else if let explicit = entry.type {
                type = explicit
            } else {
                type = node.map(typeName) ?? "text"
            }
            let value = node.map(displayValue) ?? "null"
            return "  --\(entry.name.replacingOccurrences(of: "_", with: "-"))  \(type), default \(value)\n      \(entry.meaning)"
        }.joined(separator: "\n")
    }

    /// The type a default's YAML node shows.
    static func typeName(_ node: Node) -> String {
        switch node {
        case .sequence: return "list"
        case .mapping: return "mapping"
        case .alias: return "text"
        case .scalar:
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .bool: return "true | false"
            case .int: return "integer"
            case .float: return "number"
            case .null: return "text"
            default: return "text"
            }
        }
    }

    /// A default as the help shows it (numbers as written, text quoted when empty).
    static func displayValue(_ node: Node) -> String {
        switch node {
        case let .sequence(items): return "[" + items.map(displayValue).joined(separator: ", ") + "]"
        case .scalar:
            let text = node.string ?? ""
            if Tag.Name(rawValue: node.tag.rawValue) == .str { return text.isEmpty ? "\"\"" : text }
            return text
        default: return (try? Yams.serialize(node: node).trimmingCharacters(in: .whitespacesAndNewlines)) ?? "?"
        }
    }
}
