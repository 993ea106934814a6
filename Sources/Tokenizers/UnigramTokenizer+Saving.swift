import Foundation

extension UnigramTokenizer {
    /// Writes `tokenizer.json` and `tokenizer_config.json` into `directory` (created if needed).
    ///
    /// `tokenizer.json` holds the same pipeline in the layout `tokenizers` writes, scores in their
    /// shortest round-trip spelling, so `UnigramTokenizer(tokenizerJSON:)`, `loadTokenizer(from:)` and
    /// `tokenizers.Tokenizer.from_file` read it back with the same ids. `tokenizer_config.json` names
    /// `T5Tokenizer` (with its `</s>`, `<unk>`, `<pad>` and the number of `<extra_id_N>` tokens) when
    /// the tokenizer is T5's, else `PreTrainedTokenizerFast`, so that `transformers.AutoTokenizer`
    /// loads the directory; `clean_up_tokenization_spaces` is false, so its decode is this one.
    /// - Parameter directory: the destination directory.
    /// - Throws: `TokenizerError` naming the file that could not be written.
    public func save(to directory: URL) throws(TokenizerError) {
        try createDirectory(directory)
        try TokenizerError.writeFile(tokenizerJSONBytes(), to: directory.appendingPathComponent(ByteLevelBPETokenizer.FileName.tokenizerJSON))
        try TokenizerError.writeFile(tokenizerConfigBytes(), to: directory.appendingPathComponent(ByteLevelBPETokenizer.FileName.tokenizerConfig))
    }

    /// The `tokenizer.json` text.
    func tokenizerJSONBytes() -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ")
        addedVocabulary.write(into: &json)
        json.raw(",\n  \"normalizer\": ")
        if let normalizer { normalizer.write(into: &json) } else { json.raw("null") }
        json.raw(",\n  \"pre_tokenizer\": ")
        if let preTokenizer { preTokenizer.write(into: &json) } else { json.raw("null") }
        json.raw(",\n  \"post_processor\": ")
        if let postProcessor { postProcessor.write(into: &json) } else { json.raw("null") }
        json.raw(",\n  \"decoder\": ")
        if let decoder { decoder.write(into: &json) } else { json.raw("null") }
        json.raw(",\n  \"model\": {\n    \"type\": \"Unigram\",\n    \"unk_id\": \(model.unknownId.map(String.init) ?? "null"),\n    \"vocab\": [")
        for (index, piece) in model.pieces.enumerated() {
            json.raw(index == 0 ? "\n      [" : ",\n      [")
            json.string(piece)
            json.raw(", \(model.scores[index].description)]")
        }
        json.raw("\n    ],\n    \"byte_fallback\": \(model.byteFallback)\n  }\n}\n")
        return json.bytes
    }

    /// Whether this is T5's tokenizer: `</s>` closes the single template and `<pad>` and `<unk>`
    /// are special tokens.
    var isT5: Bool {
        endOfTextTokenId != nil && endOfTextTokenId == postProcessor?.closingTokenId && token(for: endOfTextTokenId!) == "</s>"
            && specialTokens["<pad>"] != nil && specialTokens["<unk>"] != nil
    }

    /// The `tokenizer_config.json` text.
    func tokenizerConfigBytes() -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\n  \"tokenizer_class\": \(isT5 ? "\"T5Tokenizer\"" : "\"PreTrainedTokenizerFast\""),\n  \"clean_up_tokenization_spaces\": false")
        var names: [(String, String)] = []
        if let end = endOfTextTokenId, let text = token(for: end) { names.append(("eos_token", text)) }
        if let unknown = model.unknownId { names.append(("unk_token", token(for: unknown)!)) }
        if specialTokens["<pad>"] != nil { names.append(("pad_token", "<pad>")) }
        for (key, text) in names {
            json.raw(",\n  ")
            json.key(key)
            json.string(text)
        }
        if isT5 {
            let extraIds = specialTokens.keys.filter { $0.hasPrefix("<extra_id_") && $0.hasSuffix(">") }.count
            json.raw(",\n  \"extra_ids\": \(extraIds)")
        }
        json.raw("\n}\n")
        return json.bytes
    }
}
