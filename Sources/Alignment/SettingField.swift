// A settings struct coded flat from one list of its fields: each field's YAML name, its place in
// the struct, its meaning and (for choices) its allowed values are written once, and the
// decoding, the encoding (config.yaml) and the generated `--help` all come from that list.
// Embedded settings (the optimizer, the training schedule) are spliced in flat.

/// One entry of a settings struct's field list.
public struct SettingField<Root> {
    /// The help lines of the entry (one field, or an embedded struct's fields).
    let help: [SettingHelp]
    let decode: (inout Root, any Decoder) throws -> Void
    let encode: (Root, any Encoder) throws -> Void

    /// A field whose default shows its type.
    public static func field<Value: Codable>(_ name: String, _ path: WritableKeyPath<Root, Value>, _ meaning: String) -> SettingField {
        SettingField(help: [SettingHelp(name, meaning)],
                     decode: { root, decoder in root[keyPath: path] = try decoder.container(keyedBy: SettingKey.self).decode(Value.self, forKey: SettingKey(name)) },
                     encode: { root, encoder in
                         var container = encoder.container(keyedBy: SettingKey.self)
                         try container.encode(root[keyPath: path], forKey: SettingKey(name))
                     })
    }

    /// A field that may be null (absent from config.yaml when it is); `type` names what it holds otherwise.
    public static func optional<Value: Codable>(_ name: String, _ path: WritableKeyPath<Root, Value?>, _ meaning: String, type: String) -> SettingField {
        SettingField(help: [SettingHelp(name, meaning, type: "\(type) or null")],
                     decode: { root, decoder in
                         root[keyPath: path] = try decoder.container(keyedBy: SettingKey.self).decodeIfPresent(Value.self, forKey: SettingKey(name))
                     },
                     encode: { root, encoder in
                         var container = encoder.container(keyedBy: SettingKey.self)
                         try container.encodeIfPresent(root[keyPath: path], forKey: SettingKey(name))
                     })
    }

    /// A closed choice: one of `Value`'s names.
    public static func choice<Value: SettingChoice>(_ name: String, _ path: WritableKeyPath<Root, Value>, _ meaning: String) -> SettingField {
        let plain = field(name, path, meaning)
        return SettingField(help: [.choice(name, Value.self, meaning)], decode: plain.decode, encode: plain.encode)
    }

    /// A closed choice that may be null.
    public static func optionalChoice<Value: SettingChoice>(_ name: String, _ path: WritableKeyPath<Root, Value?>, _ meaning: String) -> SettingField {
        let plain = optional(name, path, meaning, type: "")
        return SettingField(help: [.choice(name, Value.self, meaning, optional: true)], decode: plain.decode, encode: plain.encode)
    }

    /// Settings of their own (the optimizer, the training schedule), coded flat beside these.
    public static func embedded<Value: Codable & DocumentedSettings>(_ path: WritableKeyPath<Root, Value>) -> SettingField {
        SettingField(help: Value.help,
                     decode: { root, decoder in root[keyPath: path] = try Value(from: decoder) },
                     encode: { root, encoder in try root[keyPath: path].encode(to: encoder) })
    }
}

/// A YAML key.
struct SettingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Settings coded from their field list (see ``SettingField``).
public protocol FieldListSettings: Codable, DocumentedSettings {
    /// Every field, in help order.
    static var fields: [SettingField<Self>] { get }
    /// The value decoding starts from. Every `.field` must be in the mapping (a job's defaults
    /// put it there), and an absent `.optional` decodes to null, as synthesized Codable did.
    init()
}

extension FieldListSettings {
    public init(from decoder: any Decoder) throws {
        self.init()
        for field in Self.fields { try field.decode(&self, decoder) }
    }

    public func encode(to encoder: any Encoder) throws {
        for field in Self.fields { try field.encode(self, encoder) }
    }

    public static var help: [SettingHelp] { fields.flatMap(\.help) }
}
