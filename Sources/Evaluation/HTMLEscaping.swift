// Escaping text for the HTML pages every report, comparison and rating page writes.

/// `text` with &, <, >, " and ' replaced by entities, scalar by scalar: a combining or prepended
/// scalar that joins `<` or `>` into one grapheme cluster (U+0600, U+0301) cannot hide it.
public func escapeHTML(_ text: String) -> String {
    var result = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": result.append(contentsOf: "&amp;".unicodeScalars)
        case "<": result.append(contentsOf: "&lt;".unicodeScalars)
        case ">": result.append(contentsOf: "&gt;".unicodeScalars)
        case "\"": result.append(contentsOf: "&quot;".unicodeScalars)
        case "'": result.append(contentsOf: "&#39;".unicodeScalars)
        default: result.append(scalar)
        }
    }
    return String(result)
}
