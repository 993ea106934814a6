// Hugging Face `tokenizers`' `TemplateProcessing` post-processor: where the special tokens go
// around one sequence or a pair. T5's is "$A </s>" and "$A </s> $B </s>", so that encoder inputs end
// with </s>.

import Foundation

/// A post-processor template: the pieces of a single sequence and of a pair.
struct TemplateProcessing: Sendable {
    /// One piece of a template.
    enum Piece: Sendable, Equatable {
        /// The ids of sequence A (`first`) or B, with the type id the file gives.
        case sequence(first: Bool, typeId: Int)
        /// The ids of a named special token of `specialTokens`.
        case special(name: String, typeId: Int)
    }

    /// A special token a template names: its ids and their token strings.
    struct SpecialToken: Sendable, Equatable {
        /// The name used in the templates (T5: `"</s>"`).
        var name: String
        /// The ids it adds.
        var ids: [Int]
        /// The token string of each id.
        var tokens: [String]
    }

    /// The template of one sequence.
    var single: [Piece]
    /// The template of a pair.
    var pair: [Piece]
    /// The special tokens the templates name, in file order.
    var specialTokens: [SpecialToken]

    /// The ids of `first` (and `second`, for a pair) laid out by the template.
    func apply(_ first: [Int], _ second: [Int]?) -> [Int] {
        var ids: [Int] = []
        for piece in second == nil ? single : pair {
            switch piece {
            case .sequence(let isFirst, _): ids += isFirst ? first : (second ?? [])
            case .special(let name, _): ids += specialTokens.first { $0.name == name }?.ids ?? []
            }
        }
        return ids
    }

    /// The id the single template ends with, when it ends with a special token of one id (T5's </s>).
    var closingTokenId: Int? {
        guard case .special(let name, _)? = single.last, let token = specialTokens.first(where: { $0.name == name }),
              token.ids.count == 1 else { return nil }
        return token.ids[0]
    }

    /// Reads a `{"type": "TemplateProcessing", …}` object; `idLimit` bounds the ids of its special
    /// tokens. Every special token a template names must be listed, every sequence must be `A` or `B`,
    /// and the single template may not name `B`.
    static func read(_ node: JSONNode, idLimit: Int, in document: JSONDocument) throws(TokenizerError) -> TemplateProcessing {
        let field = "post_processor"
        func fail(_ at: JSONNode?, _ subfield: String, _ message: String) -> TokenizerError {
            document.error(at: at ?? node, field: "\(field).\(subfield)", message)
        }
        var specials: [SpecialToken] = []
        guard case .object(let members)? = node["special_tokens"]?.value else {
            throw fail(node["special_tokens"], "special_tokens", "expected an object, found \(node["special_tokens"]?.kindDescription ?? "nothing")")
        }
        for (name, entry) in members {
            let entryField = "special_tokens.\(name)"
            guard case .array(let idNodes)? = entry["ids"]?.value, case .array(let tokenNodes)? = entry["tokens"]?.value,
                  idNodes.count == tokenNodes.count else {
                throw fail(entry, entryField, "expected {\"id\", \"ids\": [...], \"tokens\": [...]} with as many tokens as ids")
            }
            var ids: [Int] = []
            for (index, idNode) in idNodes.enumerated() {
                guard let id = idNode.integer, id >= 0, id < idLimit else {
                    throw fail(idNode, "\(entryField).ids[\(index)]", "expected an id in 0..<\(idLimit), found \(idNode.kindDescription)")
                }
                ids.append(id)
            }
            specials.append(SpecialToken(name: name, ids: ids, tokens: tokenNodes.map { $0.string ?? "" }))
        }
        func template(_ name: String) throws(TokenizerError) -> [Piece] {
            guard case .array(let items)? = node[name]?.value else {
                throw fail(node[name], name, "expected an array of {\"Sequence\": …} and {\"SpecialToken\": …}, found \(node[name]?.kindDescription ?? "nothing")")
            }
            var pieces: [Piece] = []
            for (index, item) in items.enumerated() {
                let itemField = "\(name)[\(index)]"
                let typeId = (item["Sequence"] ?? item["SpecialToken"])?["type_id"]?.integer ?? 0
                if let sequence = item["Sequence"] {
                    guard let id = sequence["id"]?.string, id == "A" || id == "B", name == "pair" || id == "A" else {
                        throw fail(sequence, itemField, "expected the sequence \(name == "pair" ? "\"A\" or \"B\"" : "\"A\""), found \(sequence["id"]?.kindDescription ?? "nothing")")
                    }
                    pieces.append(.sequence(first: id == "A", typeId: typeId))
                } else if let special = item["SpecialToken"], let id = special["id"]?.string {
                    guard specials.contains(where: { $0.name == id }) else {
                        throw fail(special, itemField, "the special token \(quoted(id)) is not in post_processor.special_tokens")
                    }
                    pieces.append(.special(name: id, typeId: typeId))
                } else {
                    throw fail(item, itemField, "expected {\"Sequence\": {\"id\": …}} or {\"SpecialToken\": {\"id\": …}}, found \(item.kindDescription)")
                }
            }
            return pieces
        }
        return TemplateProcessing(single: try template("single"), pair: try template("pair"), specialTokens: specials)
    }

    /// Writes the object as `tokenizers` writes it.
    func write(into json: inout JSONWriter) {
        func write(_ pieces: [Piece]) {
            json.raw("[")
            for (index, piece) in pieces.enumerated() {
                if index > 0 { json.raw(", ") }
                switch piece {
                case .sequence(let first, let typeId):
                    json.raw("{\"Sequence\": {\"id\": \"\(first ? "A" : "B")\", \"type_id\": \(typeId)}}")
                case .special(let name, let typeId):
                    json.raw("{\"SpecialToken\": {\"id\": ")
                    json.string(name)
                    json.raw(", \"type_id\": \(typeId)}}")
                }
            }
            json.raw("]")
        }
        json.raw("{\"type\": \"TemplateProcessing\", \"single\": ")
        write(single)
        json.raw(", \"pair\": ")
        write(pair)
        json.raw(", \"special_tokens\": {")
        for (index, token) in specialTokens.enumerated() {
            if index > 0 { json.raw(", ") }
            json.key(token.name)
            json.raw("{\"id\": ")
            json.string(token.name)
            json.raw(", \"ids\": [\(token.ids.map(String.init).joined(separator: ", "))], \"tokens\": [")
            for (position, text) in token.tokens.enumerated() {
                if position > 0 { json.raw(", ") }
                json.string(text)
            }
            json.raw("]}")
        }
        json.raw("}}")
    }
}
