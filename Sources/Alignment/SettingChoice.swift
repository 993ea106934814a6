// Closed choices as setting types: enums whose raw names are what YAML, the command line and the
// generated help use.

/// A closed choice among named values, used as a setting's type; its names are its raw values.
public protocol SettingChoice: CaseIterable, RawRepresentable<String>, Codable, Sendable {}

extension SettingChoice {
    /// Every name, in declaration order.
    public static var names: [String] { allCases.map(\.rawValue) }
}
