// Job configuration: defaults, then a YAML file, then `--key value` overrides from the command
// line; the fully resolved mapping is what the run records in config.yaml.

import Foundation
import Yams

/// Resolves a flat YAML job configuration.
public enum JobConfiguration {
    /// Merges `defaults` (the keys a job knows, with their values), the YAML mapping in `file`,
    /// and `overrides` (`--key value` or `--key=value`, dashes read as underscores; values parsed
    /// as YAML scalars). Keys outside `defaults` and `optionalKeys` are errors naming the key.
    /// - Throws: ``RunError`` naming the file or "command line" and the field.
    public static func resolve(defaults: Node.Mapping, optionalKeys: Set<String> = [], file: URL?, overrides: [String]) throws -> Node.Mapping {
        var merged = defaults
        let known = Set(defaults.keys.compactMap(\.string)).union(optionalKeys)
        func set(_ key: String, _ value: Node, source: String) throws {
            guard known.contains(key) else {
                throw RunError.unknownField(name: key, source: source, known: known.sorted())
            }
            merged[Node(key)] = value
        }
        if let file {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else {
                throw RunError.unreadableFile(path: file.path, what: "config file")
            }
            let node: Node?
            do { node = try Yams.compose(yaml: text) } catch {
                throw RunError.invalidConfiguration(source: file.path, problem: "not valid YAML: \(error)")
            }
            if let node {
                guard let mapping = node.mapping else { throw RunError.invalidConfiguration(source: file.path, problem: "expected a mapping of field: value") }
                for (key, value) in mapping {
                    guard let name = key.string else { throw RunError.invalidConfiguration(source: file.path, problem: "a key is not a string") }
                    try set(name, value, source: file.path)
                }
            }
        }
        var index = 0
        while index < overrides.count {
            let argument = overrides[index]
            guard argument.hasPrefix("--") else {
                throw RunError.unexpectedArgument(argument)
            }
            var name = String(argument.dropFirst(2))
            var value: String
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else {
                guard index + 1 < overrides.count else { throw RunError.missingValue(option: name) }
                index += 1
                value = overrides[index]
            }
            let scalar = (try? Yams.compose(yaml: value)) ?? nil
            try set(name.replacingOccurrences(of: "-", with: "_"), scalar ?? Node(value), source: "command line")
            index += 1
        }
        return merged
    }

    /// The YAML mapping in `file` without the scalar field `key`, and that field's value (nil when
    /// absent): a sweep's `job: ppo` taken out of the config it passes on to the job.
    /// - Throws: ``RunError`` naming the file when it is unreadable, not YAML, or not a mapping.
    public static func removing(_ key: String, fromFile file: URL) throws -> (value: String?, yaml: String) {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw RunError.unreadableFile(path: file.path, what: "config file") }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw RunError.invalidConfiguration(source: file.path, problem: "not valid YAML: \(error)") }
        guard var mapping = node?.mapping ?? (node == nil ? Node.Mapping([]) : nil) else {
            throw RunError.invalidConfiguration(source: file.path, problem: "expected a mapping of field: value")
        }
        let value = mapping[Node(key)]
        if let value, value.scalar == nil { throw RunError.wrongType(field: key, source: file.path, expected: "a single value") }
        mapping[Node(key)] = nil
        return (value?.string, try yaml(mapping))
    }

    /// The keys and values of an encodable value, as a YAML mapping (nil optionals omitted).
    public static func mapping<T: Encodable>(of value: T) throws -> Node.Mapping {
        guard let mapping = try YAMLEncoder().encode(value).yamlNode().mapping else {
            throw RunError.invalidConfiguration(source: "config", problem: "\(T.self) does not encode to a mapping")
        }
        return numbersAsWritten(mapping)
    }

    /// A job's and its trainer's defaults as one mapping, the fields whose default is null (known,
    /// absent until set), and the documentation of every field, job first.
    public static func defaults<Job: Encodable & DocumentedSettings, Settings: Encodable & DocumentedSettings>(_ job: Job, _ settings: Settings) throws
        -> (mapping: Node.Mapping, optionalKeys: Set<String>, help: [SettingHelp]) {
        var mapping = try self.mapping(of: job)
        for (key, value) in try self.mapping(of: settings) { mapping[key] = value }
        let help = Job.help + Settings.help
        let present = Set(mapping.keys.compactMap(\.string))
        return (mapping, Set(help.map(\.name)).subtracting(present), help)
    }

    /// Decodes `T` from the resolved mapping; errors name the field.
    /// - Throws: ``RunError`` naming `source` and the field: a wrong type, a value outside the
    ///   field's choices, or a missing field.
    public static func decode<T: Decodable>(_ type: T.Type, from mapping: Node.Mapping, source: String) throws -> T {
        do {
            return try YAMLDecoder().decode(T.self, from: Node.mapping(mapping))
        } catch let error as DecodingError {
            switch error {
            case let .typeMismatch(expected, context), let .valueNotFound(expected, context):
                throw RunError.wrongType(field: context.codingPath.map(\.stringValue).joined(separator: "."), source: source, expected: "\(expected)")
            case let .keyNotFound(key, _):
                throw RunError.missingField(name: key.stringValue, source: source, expected: nil)
            case let .dataCorrupted(context):
                let field = context.codingPath.map(\.stringValue).joined(separator: ".")
                if let choices = (T.self as? DocumentedSettings.Type)?.help.first(where: { $0.name == field })?.choices {
                    let value = mapping[Node(field)]?.string ?? "?"
                    throw RunError.invalidChoice(field: field, source: source, value: value, choices: choices)
                }
                throw RunError.invalidSetting(field: field, source: source, problem: "is invalid: \(context.debugDescription)")
            @unknown default:
                throw RunError.invalidConfiguration(source: source, problem: "\(error)")
            }
        }
    }

    /// The mapping as YAML text, keys sorted (for config.yaml).
    public static func yaml(_ mapping: Node.Mapping) throws -> String {
        let sorted = mapping.sorted { ($0.key.string ?? "") < ($1.key.string ?? "") }
        return try Yams.serialize(node: Node.mapping(Node.Mapping(sorted)))
    }
}

extension JobConfiguration {
    /// `mapping` with every floating-point scalar written in its shortest form that reads back
    /// the same (`0.9`, `1e-05`, `10000.0`), not Yams' `8.99999976158142e-1`: a Float field's
    /// value as the user wrote it.
    static func numbersAsWritten(_ mapping: Node.Mapping) -> Node.Mapping {
        func rewrite(_ node: Node) -> Node {
            switch node {
            case let .sequence(items): return .sequence(Node.Sequence(items.map(rewrite), items.tag, items.style))
            case .scalar(let scalar) where Tag.Name(rawValue: node.tag.rawValue) == .float:
                guard let value = Double(scalar.string) ?? node.float, value.isFinite else { return node }
                // Yams writes 15 significant digits: a Float field's value is within that of a Float.
                let float = Float(value)
                let text = abs(Double(float) - value) <= 1e-14 * abs(value) ? "\(float)" : "\(value)"
                return .scalar(Node.Scalar(text, scalar.tag, scalar.style))
            default: return node
            }
        }
        return Node.Mapping(mapping.map { ($0.key, rewrite($0.value)) }, mapping.tag, mapping.style)
    }
}

extension String {
    /// This text parsed as YAML into a node.
    func yamlNode() throws -> Node {
        guard let node = try Yams.compose(yaml: self) else { throw RunError.invalidConfiguration(source: "config", problem: "empty YAML") }
        return node
    }
}
