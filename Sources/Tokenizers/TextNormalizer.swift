// The normalizers of a SentencePiece-style tokenizer.json (T5, Flan-T5, and what transformers'
// SentencePiece converters write): `Precompiled`, `Strip`, `Replace` (a literal or a regular
// expression) and `Sequence`, applied as Hugging Face `tokenizers` applies them to each stretch of
// text between added tokens.

import Foundation

/// A literal string or a regular expression, as the `pattern` of a `Replace` normalizer or decoder
/// (`{"String": "▁"}` or `{"Regex": " {2,}"}`).
struct ReplacePattern: @unchecked Sendable {
    /// The pattern as written in the file.
    enum Source: Equatable, Sendable {
        /// Matched scalar by scalar, without Unicode equivalence.
        case string(String)
        /// A regular expression (Oniguruma in `tokenizers`; Swift's `Regex` here, matching scalars).
        case regex(String)
    }

    /// The pattern as written.
    let source: Source
    /// The compiled expression of a `.regex` source. `Regex` is not `Sendable`; this one is used
    /// only for matching, after a first match at load time has built its program.
    private let regex: Regex<AnyRegexOutput>?

    /// A pattern from its source.
    /// - Throws: the message of a regular expression that does not compile.
    init(_ source: Source) throws(Malformed) {
        self.source = source
        switch source {
        case .string:
            regex = nil
        case .regex(let pattern):
            do {
                regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
            } catch {
                throw Malformed(message: "the regular expression \(quoted(pattern)) does not compile: \(error)")
            }
            _ = "warm-up".firstMatch(of: regex!)
        }
    }

    /// A pattern that cannot be used, in words.
    struct Malformed: Error {
        /// The problem.
        let message: String
    }

    /// The non-overlapping matches in `text`, left to right, as scalar ranges.
    func matches(in text: String) -> [Range<String.Index>] {
        switch source {
        case .string(let literal):
            let needle = Array(literal.unicodeScalars)
            guard !needle.isEmpty else { return [] }
            let scalars = text.unicodeScalars
            var result: [Range<String.Index>] = []
            var index = scalars.startIndex
            outer: while index < scalars.endIndex {
                var probe = index
                for scalar in needle {
                    guard probe < scalars.endIndex, scalars[probe] == scalar else {
                        index = scalars.index(after: index)
                        continue outer
                    }
                    probe = scalars.index(after: probe)
                }
                result.append(index..<probe)
                index = probe
            }
            return result
        case .regex:
            guard !text.isEmpty else { return [] }
            return text.matches(of: regex!).map(\.range)
        }
    }

    /// `text` with every match replaced by `content`. `atStart` becomes false when a match at the
    /// very start is replaced by nothing, or by new text for more than one scalar (in `tokenizers`
    /// the replacement then aligns with the last scalar it replaces, not with the start).
    func replace(in text: String, with content: String, atStart: inout Bool) -> String {
        let found = matches(in: text)
        guard !found.isEmpty else { return text }
        var output = String.UnicodeScalarView()
        var last = text.startIndex
        for range in found {
            if range.lowerBound == text.startIndex, !range.isEmpty,
               content.isEmpty || text.unicodeScalars[range].count > 1 {
                atStart = false
            }
            output.append(contentsOf: text.unicodeScalars[last..<range.lowerBound])
            output.append(contentsOf: content.unicodeScalars)
            last = range.upperBound
        }
        output.append(contentsOf: text.unicodeScalars[last...])
        return String(output)
    }
}

/// One normalizer of a tokenizer.json, or a sequence of them.
indirect enum TextNormalizer: Sendable {
    /// Each in turn.
    case sequence([TextNormalizer])
    /// SentencePiece's character map.
    case precompiled(PrecompiledCharsMap)
    /// Removes whitespace (Unicode White_Space) at the start and/or the end.
    case strip(left: Bool, right: Bool)
    /// Replaces every match of a pattern.
    case replace(ReplacePattern, content: String)

    /// The normalized text.
    /// - Parameters:
    ///   - text: a stretch of text between added tokens.
    ///   - atStart: whether the text's first scalar comes from the start of the input; a step that
    ///     removes the first scalars clears it (Metaspace's `prepend_scheme: "first"` reads it).
    func apply(_ text: String, atStart: inout Bool) -> String {
        switch self {
        case .sequence(let steps):
            var text = text
            for step in steps { text = step.apply(text, atStart: &atStart) }
            return text
        case .precompiled(let map):
            return map.normalize(text)
        case .strip(let left, let right):
            var scalars = Substring(text).unicodeScalars
            if left {
                let kept = scalars.drop { $0.properties.isWhitespace }
                if kept.startIndex != scalars.startIndex { atStart = false }
                scalars = kept
            }
            if right {
                while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            }
            return String(scalars)
        case .replace(let pattern, let content):
            return pattern.replace(in: text, with: content, atStart: &atStart)
        }
    }

    /// The normalized text, with no start to track.
    func apply(_ text: String) -> String {
        var atStart = true
        return apply(text, atStart: &atStart)
    }
}

extension ReplacePattern {
    /// Reads `{"String": "…"}` or `{"Regex": "…"}`.
    static func read(_ node: JSONNode?, field: String, in document: JSONDocument, parent: JSONNode) throws(TokenizerError) -> ReplacePattern {
        let source: Source
        if let text = node?["String"]?.string {
            source = .string(text)
        } else if let text = node?["Regex"]?.string {
            source = .regex(text)
        } else {
            throw document.error(at: node ?? parent, field: field,
                                 "expected {\"String\": …} or {\"Regex\": …}, found \(node?.kindDescription ?? "nothing")")
        }
        do {
            return try ReplacePattern(source)
        } catch {
            throw document.error(at: node!, field: field, error.message)
        }
    }

    /// Writes `{"String": "…"}` or `{"Regex": "…"}`.
    func write(into json: inout JSONWriter) {
        switch source {
        case .string(let text): json.raw("{\"String\": "); json.string(text)
        case .regex(let text): json.raw("{\"Regex\": "); json.string(text)
        }
        json.raw("}")
    }
}

extension TextNormalizer {
    /// The normalizer types this reader knows.
    static let knownTypes = "\"Sequence\", \"Precompiled\", \"Strip\" or \"Replace\""

    /// Reads a normalizer object (`field` names it in errors, e.g. `normalizer.normalizers[1]`).
    static func read(_ node: JSONNode, field: String, in document: JSONDocument) throws(TokenizerError) -> TextNormalizer {
        func fail(_ at: JSONNode?, _ subfield: String, _ message: String) -> TokenizerError {
            document.error(at: at ?? node, field: subfield.isEmpty ? field : "\(field).\(subfield)", message)
        }
        switch node["type"]?.string {
        case "Sequence":
            guard case .array(let items)? = node["normalizers"]?.value else {
                throw fail(node["normalizers"], "normalizers", "expected an array of normalizers, found \(node["normalizers"]?.kindDescription ?? "nothing")")
            }
            var steps: [TextNormalizer] = []
            for (index, item) in items.enumerated() {
                steps.append(try read(item, field: "\(field).normalizers[\(index)]", in: document))
            }
            return .sequence(steps)
        case "Precompiled":
            guard let text = node["precompiled_charsmap"]?.string else {
                throw fail(node["precompiled_charsmap"], "precompiled_charsmap",
                           "expected a base64 string, found \(node["precompiled_charsmap"]?.kindDescription ?? "nothing")")
            }
            guard let data = Data(base64Encoded: text) else {
                throw fail(node["precompiled_charsmap"], "precompiled_charsmap", "the string is not valid base64 (\(text.utf8.count) characters)")
            }
            do {
                return .precompiled(try PrecompiledCharsMap(blob: [UInt8](data)))
            } catch {
                throw fail(node["precompiled_charsmap"], "precompiled_charsmap", "malformed charsmap: \(error.message)")
            }
        case "Strip":
            var sides: [Bool] = []
            for name in ["strip_left", "strip_right"] {
                guard let flag = node[name]?.bool else {
                    throw fail(node[name], name, "expected true or false, found \(node[name]?.kindDescription ?? "nothing")")
                }
                sides.append(flag)
            }
            return .strip(left: sides[0], right: sides[1])
        case "Replace":
            let pattern = try ReplacePattern.read(node["pattern"], field: "\(field).pattern", in: document, parent: node)
            guard let content = node["content"]?.string else {
                throw fail(node["content"], "content", "expected a string, found \(node["content"]?.kindDescription ?? "nothing")")
            }
            return .replace(pattern, content: content)
        default:
            throw fail(node["type"], "type", "expected \(knownTypes), found \(node["type"]?.kindDescription ?? node.kindDescription) (not supported)")
        }
    }

    /// Writes the normalizer as `tokenizers` writes it.
    func write(into json: inout JSONWriter) {
        switch self {
        case .sequence(let steps):
            json.raw("{\"type\": \"Sequence\", \"normalizers\": [")
            for (index, step) in steps.enumerated() {
                if index > 0 { json.raw(", ") }
                step.write(into: &json)
            }
            json.raw("]}")
        case .precompiled(let map):
            json.raw("{\"type\": \"Precompiled\", \"precompiled_charsmap\": ")
            json.string(Data(map.blob).base64EncodedString())
            json.raw("}")
        case .strip(let left, let right):
            json.raw("{\"type\": \"Strip\", \"strip_left\": \(left), \"strip_right\": \(right)}")
        case .replace(let pattern, let content):
            json.raw("{\"type\": \"Replace\", \"pattern\": ")
            pattern.write(into: &json)
            json.raw(", \"content\": ")
            json.string(content)
            json.raw("}")
        }
    }
}
