// One spelling convention on the command line: options are written with dashes
// (`--max-new-tokens`, as swift-argument-parser names them), and the YAML spelling with
// underscores (`--max_new_tokens`) is accepted everywhere as the same option.

/// Rewrites option names to the dashed spelling.
public enum OptionSpelling {
    /// `arguments` with every `--name_with_underscores` (or `--name_with_underscores=value`)
    /// written `--name-with-dashes`; values, positional arguments and everything after a bare
    /// `--` are left as they are.
    public static func dashed(_ arguments: [String]) -> [String] {
        var result: [String] = []
        result.reserveCapacity(arguments.count)
        var passThrough = false
        for argument in arguments {
            guard !passThrough, argument.hasPrefix("--"), argument.count > 2 else {
                if argument == "--" { passThrough = true }
                result.append(argument)
                continue
            }
            let body = argument.dropFirst(2)
            let name = body.prefix { $0 != "=" }
            guard name.first?.isLetter == true, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                result.append(argument)
                continue
            }
            result.append("--" + name.replacingOccurrences(of: "_", with: "-") + body.dropFirst(name.count))
        }
        return result
    }

    /// The process's own arguments (without the program name), dashed.
    public static var commandLine: [String] { dashed(Array(CommandLine.arguments.dropFirst())) }
}
