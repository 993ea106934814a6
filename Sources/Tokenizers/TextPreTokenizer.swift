// The pre-tokenizers of a SentencePiece-style tokenizer.json: `Metaspace` (T5 as transformers'
// converter writes it), `WhitespaceSplit` (before Metaspace in the T5 checkpoints on the hub) and
// `Sequence`, splitting normalized text into the words the Unigram model segments.

import Foundation

/// A stretch of normalized text on its way to the model.
struct PreToken {
    /// Its scalars.
    var scalars: [Unicode.Scalar]
    /// Whether its first scalar comes from the start of the input (Metaspace's `"first"` scheme
    /// prepends only then, as `tokenizers` checks that the piece's original offset is 0).
    var atStart: Bool
}

/// One pre-tokenizer of a tokenizer.json, or a sequence of them.
indirect enum TextPreTokenizer: Sendable {
    /// SentencePiece's "▁" handling.
    case metaspace(Metaspace)
    /// Splits on Unicode White_Space, dropping it.
    case whitespaceSplit
    /// Each in turn, on every piece the one before produced.
    case sequence([TextPreTokenizer])

    /// The words of `pieces`, in order; empty words are dropped.
    func split(_ pieces: [PreToken]) -> [PreToken] {
        switch self {
        case .sequence(let steps):
            var pieces = pieces
            for step in steps { pieces = step.split(pieces) }
            return pieces
        case .metaspace(let settings):
            return pieces.flatMap { piece in
                settings.words(piece.scalars, atStart: piece.atStart).enumerated().map { index, word in
                    PreToken(scalars: word, atStart: piece.atStart && index == 0)
                }
            }
        case .whitespaceSplit:
            var words: [PreToken] = []
            for piece in pieces {
                var current: [Unicode.Scalar] = []
                var start = 0
                for (index, scalar) in piece.scalars.enumerated() {
                    if scalar.properties.isWhitespace {
                        if !current.isEmpty { words.append(PreToken(scalars: current, atStart: piece.atStart && start == 0)) }
                        current = []
                        start = index + 1
                    } else {
                        current.append(scalar)
                    }
                }
                if !current.isEmpty { words.append(PreToken(scalars: current, atStart: piece.atStart && start == 0)) }
            }
            return words
        }
    }

    /// The pre-tokenizer types this reader knows.
    static let knownTypes = "\"Metaspace\", \"WhitespaceSplit\" or \"Sequence\""

    /// Reads a pre-tokenizer object (`field` names it in errors, e.g. `pre_tokenizer.pretokenizers[0]`).
    static func read(_ node: JSONNode, field: String, in document: JSONDocument) throws(TokenizerError) -> TextPreTokenizer {
        switch node["type"]?.string {
        case "Metaspace":
            return .metaspace(try Metaspace.read(node, field: field, in: document))
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Sequence":
            guard case .array(let items)? = node["pretokenizers"]?.value else {
                throw document.error(at: node["pretokenizers"] ?? node, field: "\(field).pretokenizers",
                                     "expected an array of pre-tokenizers, found \(node["pretokenizers"]?.kindDescription ?? "nothing")")
            }
            var steps: [TextPreTokenizer] = []
            for (index, item) in items.enumerated() {
                steps.append(try read(item, field: "\(field).pretokenizers[\(index)]", in: document))
            }
            return .sequence(steps)
        default:
            throw document.error(at: node["type"] ?? node, field: "\(field).type",
                                 "expected \(knownTypes), found \(node["type"]?.kindDescription ?? node.kindDescription) (not supported)")
        }
    }

    /// Writes the pre-tokenizer as `tokenizers` writes it.
    func write(into json: inout JSONWriter) {
        switch self {
        case .metaspace(let settings):
            settings.write(into: &json)
        case .whitespaceSplit:
            json.raw("{\"type\": \"WhitespaceSplit\"}")
        case .sequence(let steps):
            json.raw("{\"type\": \"Sequence\", \"pretokenizers\": [")
            for (index, step) in steps.enumerated() {
                if index > 0 { json.raw(", ") }
                step.write(into: &json)
            }
            json.raw("]}")
        }
    }
}
