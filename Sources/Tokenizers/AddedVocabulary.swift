// The `added_tokens` of a tokenizer.json (T5's <pad>, </s>, <unk> and <extra_id_N>) and how Hugging
// Face `tokenizers` finds them in text before anything else: leftmost-longest matches on the raw
// text for tokens with `normalized: false`, then on each normalized stretch for the others.

import Foundation

/// A token of `added_tokens`.
struct AddedToken: Sendable, Equatable {
    /// Its id.
    var id: Int
    /// Its text.
    var content: String
    /// Whether `decode` with skipping leaves it out (and it counts as a special token).
    var special: Bool
    /// Whether it is matched in normalized text (`true`) or in the raw text.
    var normalized: Bool
    /// Whether a match takes the whitespace before it along.
    var leftStrip: Bool
    /// Whether a match takes the whitespace after it along.
    var rightStrip: Bool
}

/// The added tokens, ready for matching.
struct AddedVocabulary: Sendable {
    /// The tokens in file order.
    let tokens: [AddedToken]
    /// The scalars to match for each token of a matching set, longest first.
    private let rawPatterns: [(scalars: [Unicode.Scalar], token: AddedToken)]
    private let normalizedPatterns: [(scalars: [Unicode.Scalar], token: AddedToken)]
    /// The first scalars of all patterns, to skip positions quickly.
    private let firstScalars: Set<Unicode.Scalar>

    /// The vocabulary of `tokens`; `normalize` gives the text a `normalized: true` token is matched as.
    init(_ tokens: [AddedToken], normalize: (String) -> String) {
        self.tokens = tokens
        func patterns(_ selected: [AddedToken], _ text: (AddedToken) -> String) -> [(scalars: [Unicode.Scalar], token: AddedToken)] {
            selected.map { (Array(text($0).unicodeScalars), $0) }.filter { !$0.scalars.isEmpty }
                .sorted { $0.scalars.count > $1.scalars.count }
        }
        rawPatterns = patterns(tokens.filter { !$0.normalized }) { $0.content }
        normalizedPatterns = patterns(tokens.filter(\.normalized)) { normalize($0.content) }
        firstScalars = Set((rawPatterns + normalizedPatterns).map { $0.scalars[0] })
    }

    /// Whether any token is matched in normalized text.
    var hasNormalizedTokens: Bool { !normalizedPatterns.isEmpty }

    /// A stretch of text between matches, or a matched token.
    enum Segment {
        /// Text from scalar offset `start` of what was split.
        case text([Unicode.Scalar], start: Int)
        /// A token's id.
        case token(Int)
    }

    /// `text` cut at the tokens of the raw (`normalized: false`) or the normalized set.
    ///
    /// As `tokenizers`' `find_matches`: at the leftmost position where a token matches, the longest
    /// one wins; `lstrip` widens a match over the whitespace before it (not past the previous match),
    /// `rstrip` over the whitespace after it. Empty stretches are dropped.
    func split(_ text: [Unicode.Scalar], normalized: Bool) -> [Segment] {
        let patterns = normalized ? normalizedPatterns : rawPatterns
        guard !patterns.isEmpty else { return text.isEmpty ? [] : [.text(text, start: 0)] }
        var segments: [Segment] = []
        var consumed = 0
        var index = 0
        while index < text.count {
            guard firstScalars.contains(text[index]), let match = patterns.first(where: { pattern in
                index + pattern.scalars.count <= text.count && text[index..<(index + pattern.scalars.count)].elementsEqual(pattern.scalars)
            }) else {
                index += 1
                continue
            }
            var start = index
            var stop = index + match.scalars.count
            if match.token.leftStrip {
                while start > consumed, text[start - 1].properties.isWhitespace { start -= 1 }
            }
            let matchEnd = stop
            if match.token.rightStrip {
                while stop < text.count, text[stop].properties.isWhitespace { stop += 1 }
            }
            if consumed < start { segments.append(.text(Array(text[consumed..<start]), start: consumed)) }
            segments.append(.token(match.token.id))
            consumed = stop
            index = max(matchEnd, stop)
        }
        if consumed < text.count { segments.append(.text(Array(text[consumed...]), start: consumed)) }
        return segments
    }

    /// Reads `added_tokens`. Each entry needs an integer `id` and a string `content`; a token the
    /// model has must carry the model's id, one it lacks an id at or past `modelSize`; `single_word`
    /// must be false.
    static func read(_ node: JSONNode?, modelIds: (String) -> Int?, modelSize: Int, in document: JSONDocument) throws(TokenizerError) -> [AddedToken] {
        guard let node, !node.isNull else { return [] }
        guard case .array(let entries) = node.value else {
            throw document.error(at: node, field: "added_tokens", "expected an array, found \(node.kindDescription)")
        }
        var tokens: [AddedToken] = []
        var seenIds: [Int: String] = [:]
        for (index, entry) in entries.enumerated() {
            let field = "added_tokens[\(index)]"
            guard let id = entry["id"]?.integer, let content = entry["content"]?.string else {
                throw document.error(at: entry, field: field, "expected an object with an integer \"id\" and a string \"content\"")
            }
            func flag(_ name: String, default value: Bool) throws(TokenizerError) -> Bool {
                guard let flagNode = entry[name], !flagNode.isNull else { return value }
                guard let flag = flagNode.bool else {
                    throw document.error(at: flagNode, field: "\(field).\(name)", "expected true or false, found \(flagNode.kindDescription)")
                }
                return flag
            }
            if try flag("single_word", default: false) {
                throw document.error(at: entry["single_word"]!, field: "\(field).single_word", "expected false (single_word tokens are not supported)")
            }
            if let modelId = modelIds(content), modelId != id {
                throw document.error(at: entry, field: "\(field).id", "\(quoted(content)) has id \(modelId) in model.vocab, not \(id)")
            }
            if modelIds(content) == nil, id < modelSize || id > modelSize + entries.count {
                throw document.error(at: entry, field: "\(field).id",
                                     "\(quoted(content)) is not in model.vocab, so its id must be in \(modelSize)...\(modelSize + entries.count), found \(id)")
            }
            if let other = seenIds[id] {
                throw document.error(at: entry, field: "\(field).id", "id \(id) is also given to \(quoted(other))")
            }
            seenIds[id] = content
            let special = try flag("special", default: false)
            tokens.append(AddedToken(id: id, content: content, special: special, normalized: try flag("normalized", default: !special),
                                     leftStrip: try flag("lstrip", default: false), rightStrip: try flag("rstrip", default: false)))
        }
        return tokens
    }

    /// Writes `added_tokens` as `tokenizers` writes them.
    func write(into json: inout JSONWriter) {
        json.raw("[")
        for (index, token) in tokens.enumerated() {
            json.raw(index == 0 ? "\n    {\"id\": \(token.id), \"content\": " : ",\n    {\"id\": \(token.id), \"content\": ")
            json.string(token.content)
            json.raw(", \"single_word\": false, \"lstrip\": \(token.leftStrip), \"rstrip\": \(token.rightStrip), \"normalized\": \(token.normalized), \"special\": \(token.special)}")
        }
        json.raw(tokens.isEmpty ? "]" : "\n  ]")
    }
}
