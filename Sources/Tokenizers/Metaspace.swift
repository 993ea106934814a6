// SentencePiece's word boundary marker as Hugging Face `tokenizers` handles it: the `Metaspace`
// pre-tokenizer turns spaces into "▁" (U+2581), puts one in front of a word, and splits before each
// "▁"; the `Metaspace` decoder turns them back into spaces. The same settings serve both, read from
// tokenizer.json with the legacy `add_prefix_space` spelling.

import Foundation

/// Where the `Metaspace` pre-tokenizer adds a replacement character in front of a word.
enum PrependScheme: String, Sendable, CaseIterable {
    /// In front of every stretch of text that does not start with one (T5, `legacy=True`).
    case always
    /// Only in front of the stretch that starts the input (`legacy=False`).
    case first
    /// Never.
    case never
}

/// The settings of a `Metaspace` pre-tokenizer or decoder.
struct Metaspace: Sendable, Equatable {
    /// The character that stands for a space (`"▁"`).
    var replacement: Unicode.Scalar = "\u{2581}"
    /// Where a replacement is put in front of a word.
    var prependScheme: PrependScheme = .always
    /// Whether the pre-tokenizer splits before every replacement character.
    var split = true

    /// The words of one normalized stretch of text, as `tokenizers`' Metaspace pre-tokenizer gives
    /// them: spaces become the replacement, one is prepended (per `prependScheme`; never to empty
    /// text), then, with `split`, each replacement starts a new word.
    /// - Parameters:
    ///   - text: the stretch, as scalars.
    ///   - atStart: whether it begins at the start of the input (for `.first`).
    func words(_ text: [Unicode.Scalar], atStart: Bool) -> [[Unicode.Scalar]] {
        guard !text.isEmpty else { return [] }
        var scalars = text.map { $0 == " " ? replacement : $0 }
        if scalars[0] != replacement, prependScheme == .always || (prependScheme == .first && atStart) {
            scalars.insert(replacement, at: 0)
        }
        guard split else { return [scalars] }
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in scalars {
            if scalar == replacement, !current.isEmpty {
                words.append(current)
                current = []
            }
            current.append(scalar)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The decoder's step: every replacement becomes a space, except in the first token, where
    /// each is dropped unless `prependScheme` is `.never` (as `tokenizers` does it).
    func decode(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            var out = String.UnicodeScalarView()
            for scalar in token.unicodeScalars {
                if scalar == replacement {
                    if index == 0 && prependScheme != .never { continue }
                    out.append(" ")
                } else {
                    out.append(scalar)
                }
            }
            return String(out)
        }
    }

    /// Reads a `{"type": "Metaspace", …}` object: `replacement` (one character, required),
    /// `prepend_scheme` (`"always"` by default), `split` (true by default), and the legacy
    /// `add_prefix_space`, which when false requires `prepend_scheme` `"never"` (as `tokenizers`
    /// requires) and when true leaves it as given. `str_rep` is ignored, as there.
    static func read(_ node: JSONNode, field: String, in document: JSONDocument) throws(TokenizerError) -> Metaspace {
        var settings = Metaspace()
        guard let replacementNode = node["replacement"], let text = replacementNode.string else {
            throw document.error(at: node["replacement"] ?? node, field: "\(field).replacement",
                                 "expected one character, found \(node["replacement"]?.kindDescription ?? "nothing")")
        }
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 1 else {
            throw document.error(at: replacementNode, field: "\(field).replacement", "expected one character, found \(quoted(text))")
        }
        settings.replacement = scalars[0]
        if let schemeNode = node["prepend_scheme"] {
            guard let name = schemeNode.string, let scheme = PrependScheme(rawValue: name) else {
                throw document.error(at: schemeNode, field: "\(field).prepend_scheme",
                                     "expected \"always\", \"first\" or \"never\", found \(schemeNode.kindDescription)")
            }
            settings.prependScheme = scheme
        }
        if let splitNode = node["split"], !splitNode.isNull {
            guard let split = splitNode.bool else {
                throw document.error(at: splitNode, field: "\(field).split", "expected true or false, found \(splitNode.kindDescription)")
            }
            settings.split = split
        }
        if let prefixNode = node["add_prefix_space"], !prefixNode.isNull {
            guard let addPrefix = prefixNode.bool else {
                throw document.error(at: prefixNode, field: "\(field).add_prefix_space", "expected true or false, found \(prefixNode.kindDescription)")
            }
            if !addPrefix {
                guard settings.prependScheme == .never else {
                    throw document.error(at: prefixNode, field: "\(field).add_prefix_space",
                                         "false does not agree with prepend_scheme \"\(settings.prependScheme.rawValue)\" (give \"never\")")
                }
            }
        }
        return settings
    }

    /// Writes the object `tokenizers` writes: `{"type": "Metaspace", "replacement": "▁",
    /// "prepend_scheme": "always", "split": true}`.
    func write(into json: inout JSONWriter) {
        json.raw("{\"type\": \"Metaspace\", \"replacement\": ")
        json.string(String(replacement))
        json.raw(", \"prepend_scheme\": \"\(prependScheme.rawValue)\", \"split\": \(split)}")
    }
}
