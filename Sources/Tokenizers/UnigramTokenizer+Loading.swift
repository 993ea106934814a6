import Foundation

extension UnigramTokenizer {
    /// Reads a parsed `tokenizer.json` with a `Unigram` model; see `init(tokenizerJSON:)`.
    convenience init(document: JSONDocument) throws(TokenizerError) {
        let root = document.root
        func fail(_ node: JSONNode?, _ field: String, _ message: String) -> TokenizerError {
            document.error(at: node ?? root, field: field, message)
        }
        guard case .object = root.value else {
            throw fail(root, "(top level)", "expected an object, found \(root.kindDescription)")
        }
        guard let modelNode = root["model"] else { throw fail(root, "model", "the field is missing") }
        guard modelNode["type"]?.string == "Unigram" else {
            throw fail(modelNode["type"] ?? modelNode, "model.type", "expected \"Unigram\", found \(modelNode["type"]?.kindDescription ?? "nothing")")
        }
        let model = try Self.readModel(modelNode, in: document)

        let addedTokens = try AddedVocabulary.read(root["added_tokens"], modelIds: { model.id(of: $0) },
                                                   modelSize: model.pieces.count, in: document)
        let idLimit = max(model.pieces.count, (addedTokens.map(\.id).max() ?? -1) + 1)

        var normalizer: TextNormalizer?
        if let node = root["normalizer"], !node.isNull {
            normalizer = try TextNormalizer.read(node, field: "normalizer", in: document)
        }
        var preTokenizer: TextPreTokenizer?
        if let node = root["pre_tokenizer"], !node.isNull {
            preTokenizer = try TextPreTokenizer.read(node, field: "pre_tokenizer", in: document)
        }
        var postProcessor: TemplateProcessing?
        if let node = root["post_processor"], !node.isNull {
            guard node["type"]?.string == "TemplateProcessing" else {
                throw fail(node["type"] ?? node, "post_processor.type",
                           "expected \"TemplateProcessing\" or null, found \(node["type"]?.kindDescription ?? node.kindDescription) (not supported)")
            }
            postProcessor = try TemplateProcessing.read(node, idLimit: idLimit, in: document)
        }
        var decoder: TokenDecoder?
        if let node = root["decoder"], !node.isNull {
            decoder = try TokenDecoder.read(node, field: "decoder", in: document)
        }
        self.init(model: model, addedTokens: addedTokens, normalizer: normalizer, preTokenizer: preTokenizer,
                  postProcessor: postProcessor, decoder: decoder)
    }

    /// Reads `model`: `vocab` (an array of `[piece, score]`: non-empty distinct pieces, finite
    /// scores), `unk_id` (null or an index into `vocab`), `byte_fallback` (false by default).
    static func readModel(_ node: JSONNode, in document: JSONDocument) throws(TokenizerError) -> UnigramModel {
        func fail(_ at: JSONNode?, _ field: String, _ message: String) -> TokenizerError {
            document.error(at: at ?? node, field: field, message)
        }
        guard let vocabularyNode = node["vocab"] else { throw fail(node, "model.vocab", "the field is missing") }
        guard case .array(let entries) = vocabularyNode.value, !entries.isEmpty else {
            throw fail(vocabularyNode, "model.vocab", "expected a non-empty array of [piece, score] pairs, found \(vocabularyNode.kindDescription)")
        }
        var pieces: [String] = []
        var scores: [Double] = []
        pieces.reserveCapacity(entries.count)
        scores.reserveCapacity(entries.count)
        var firstIndex = [[UInt8]: Int](minimumCapacity: entries.count)
        for (index, entry) in entries.enumerated() {
            let field = "model.vocab[\(index)]"
            guard case .array(let pair) = entry.value, pair.count == 2, let piece = pair[0].string else {
                throw fail(entry, field, "expected [piece, score], found \(entry.kindDescription)")
            }
            guard !piece.isEmpty else { throw fail(entry, field, "the piece is empty") }
            guard case .number(let text) = pair[1].value, let score = Double(text), score.isFinite else {
                throw fail(pair[1], field, "expected a finite number as the score of \(quoted(piece)), found \(pair[1].kindDescription)")
            }
            if let first = firstIndex.updateValue(index, forKey: Array(piece.utf8)) {
                throw fail(entry, field, "the piece \(quoted(piece)) is also model.vocab[\(first)]")
            }
            pieces.append(piece)
            scores.append(score)
        }
        var unknownId: Int?
        if let unknownNode = node["unk_id"], !unknownNode.isNull {
            guard let id = unknownNode.integer, id >= 0, id < pieces.count else {
                throw fail(unknownNode, "model.unk_id", "expected null or an index into model.vocab (0..<\(pieces.count)), found \(unknownNode.kindDescription)")
            }
            unknownId = id
        }
        var byteFallback = false
        if let fallbackNode = node["byte_fallback"], !fallbackNode.isNull {
            guard let flag = fallbackNode.bool else {
                throw fail(fallbackNode, "model.byte_fallback", "expected true or false, found \(fallbackNode.kindDescription)")
            }
            byteFallback = flag
        }
        return UnigramModel(pieces: pieces, scores: scores, unknownId: unknownId, byteFallback: byteFallback)
    }
}
