// The decoders of a SentencePiece-style tokenizer.json, each a step over the list of token strings
// as in Hugging Face `tokenizers`' `decode_chain`: `Metaspace` (T5), and the steps transformers'
// generic SentencePiece converter chains for byte-fallback models: `Replace`, `ByteFallback`,
// `Fuse`, `Strip`, in a `Sequence`.

import Foundation

/// One decoder of a tokenizer.json, or a sequence of them.
indirect enum TokenDecoder: Sendable {
    /// "▁" back to spaces.
    case metaspace(Metaspace)
    /// Runs of `<0xNN>` tokens back to the bytes they stand for.
    case byteFallback
    /// All tokens joined into one.
    case fuse
    /// At most `start` leading and `stop` trailing copies of `content` removed from each token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    /// Every match of a pattern in each token replaced.
    case replace(ReplacePattern, content: String)
    /// Each in turn.
    case sequence([TokenDecoder])

    /// The tokens after this step.
    func decode(_ tokens: [String]) -> [String] {
        switch self {
        case .metaspace(let settings):
            return settings.decode(tokens)
        case .byteFallback:
            return Self.byteFallback(tokens)
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                var from = 0
                while from < min(start, scalars.count), scalars[from] == content { from += 1 }
                var to = scalars.count
                while scalars.count - to < stop, to > from, scalars[to - 1] == content { to -= 1 }
                var out = String.UnicodeScalarView()
                out.append(contentsOf: scalars[from..<to])
                return String(out)
            }
        case .replace(let pattern, let content):
            return tokens.map { token in
                var atStart = true
                return pattern.replace(in: token, with: content, atStart: &atStart)
            }
        case .sequence(let steps):
            var tokens = tokens
            for step in steps { tokens = step.decode(tokens) }
            return tokens
        }
    }

    /// `tokenizers`' ByteFallback decoder: a run of `<0xNN>` tokens becomes the text of its bytes
    /// when they are valid UTF-8, and one U+FFFD per byte when they are not.
    static func byteFallback(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if firstInvalidUTF8(pending) == nil {
                out.append(String(decoding: pending, as: UTF8.self))
            } else {
                out += [String](repeating: "\u{FFFD}", count: pending.count)
            }
            pending = []
        }
        for token in tokens {
            if let byte = byteValue(token) {
                pending.append(byte)
            } else {
                flush()
                out.append(token)
            }
        }
        flush()
        return out
    }

    /// The byte of a `<0xNN>` token (six characters, two hexadecimal digits), or `nil`.
    static func byteValue(_ token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, utf8.starts(with: Array("<0x".utf8)), utf8[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }

    /// The decoder types this reader knows.
    static let knownTypes = "\"Metaspace\", \"ByteFallback\", \"Fuse\", \"Strip\", \"Replace\" or \"Sequence\""

    /// Reads a decoder object (`field` names it in errors, e.g. `decoder.decoders[2]`).
    static func read(_ node: JSONNode, field: String, in document: JSONDocument) throws(TokenizerError) -> TokenDecoder {
        func fail(_ at: JSONNode?, _ subfield: String, _ message: String) -> TokenizerError {
            document.error(at: at ?? node, field: "\(field).\(subfield)", message)
        }
        switch node["type"]?.string {
        case "Metaspace":
            return .metaspace(try Metaspace.read(node, field: field, in: document))
        case "ByteFallback":
            return .byteFallback
        case "Fuse":
            return .fuse
        case "Strip":
            guard let content = node["content"]?.string, content.unicodeScalars.count == 1 else {
                throw fail(node["content"], "content", "expected one character, found \(node["content"]?.kindDescription ?? "nothing")")
            }
            var counts: [Int] = []
            for name in ["start", "stop"] {
                guard let count = node[name]?.integer, count >= 0 else {
                    throw fail(node[name], name, "expected a non-negative integer, found \(node[name]?.kindDescription ?? "nothing")")
                }
                counts.append(count)
            }
            return .strip(content: content.unicodeScalars.first!, start: counts[0], stop: counts[1])
        case "Replace":
            let pattern = try ReplacePattern.read(node["pattern"], field: "\(field).pattern", in: document, parent: node)
            guard let content = node["content"]?.string else {
                throw fail(node["content"], "content", "expected a string, found \(node["content"]?.kindDescription ?? "nothing")")
            }
            return .replace(pattern, content: content)
        case "Sequence":
            guard case .array(let items)? = node["decoders"]?.value else {
                throw fail(node["decoders"], "decoders", "expected an array of decoders, found \(node["decoders"]?.kindDescription ?? "nothing")")
            }
            var steps: [TokenDecoder] = []
            for (index, item) in items.enumerated() {
                steps.append(try read(item, field: "\(field).decoders[\(index)]", in: document))
            }
            return .sequence(steps)
        default:
            throw fail(node["type"], "type", "expected \(knownTypes), found \(node["type"]?.kindDescription ?? node.kindDescription) (not supported)")
        }
    }

    /// Writes the decoder as `tokenizers` writes it.
    func write(into json: inout JSONWriter) {
        switch self {
        case .metaspace(let settings):
            settings.write(into: &json)
        case .byteFallback:
            json.raw("{\"type\": \"ByteFallback\"}")
        case .fuse:
            json.raw("{\"type\": \"Fuse\"}")
        case .strip(let content, let start, let stop):
            json.raw("{\"type\": \"Strip\", \"content\": ")
            json.string(String(content))
            json.raw(", \"start\": \(start), \"stop\": \(stop)}")
        case .replace(let pattern, let content):
            json.raw("{\"type\": \"Replace\", \"pattern\": ")
            pattern.write(into: &json)
            json.raw(", \"content\": ")
            json.string(content)
            json.raw("}")
        case .sequence(let steps):
            json.raw("{\"type\": \"Sequence\", \"decoders\": [")
            for (index, step) in steps.enumerated() {
                if index > 0 { json.raw(", ") }
                step.write(into: &json)
            }
            json.raw("]}")
        }
    }
}
