import Foundation

extension ByteLevelBPETokenizer {
    /// The file names `save(to:)` writes.
    public enum FileName {
        /// Hugging Face's GPT-2 vocabulary, `{"token": id, …}` in id order, special tokens included.
        public static let vocabulary = "vocab.json"
        /// Hugging Face's GPT-2 merges: `#version: 0.2`, then one `left right` line per merge.
        public static let merges = "merges.txt"
        /// Hugging Face `tokenizers`' single-file format.
        public static let tokenizerJSON = "tokenizer.json"
        /// The `transformers` settings that make `AutoTokenizer.from_pretrained` build a
        /// `GPT2TokenizerFast` that decodes without changing spaces.
        public static let tokenizerConfig = "tokenizer_config.json"
    }

    /// Writes `vocab.json`, `merges.txt`, `tokenizer.json` and `tokenizer_config.json` into
    /// `directory` (created if needed).
    ///
    /// `ByteLevelBPETokenizer(tokenizerJSON:)`, `loadTokenizer(from:)`, Hugging Face's
    /// `tokenizers.Tokenizer.from_file` and `transformers.AutoTokenizer.from_pretrained` read the
    /// result back with the same ids. `vocab.json` + `merges.txt` alone restore `<|endoftext|>` as
    /// special but no other special token (pass them to `init(vocabularyFile:mergesFile:specialTokens:)`).
    /// - Parameter directory: the destination directory.
    /// - Throws: `TokenizerError` naming the file that could not be written.
    public func save(to directory: URL) throws(TokenizerError) {
        try createDirectory(directory)
        try TokenizerError.writeFile(vocabularyJSONBytes(), to: directory.appendingPathComponent(FileName.vocabulary))
        try TokenizerError.writeFile(mergesTextBytes(), to: directory.appendingPathComponent(FileName.merges))
        try TokenizerError.writeFile(tokenizerJSONBytes(), to: directory.appendingPathComponent(FileName.tokenizerJSON))
        try TokenizerError.writeFile(tokenizerConfigBytes(), to: directory.appendingPathComponent(FileName.tokenizerConfig))
    }

    /// `vocab.json`: every token, special ones included, one per line in id order.
    func vocabularyJSONBytes() -> [UInt8] {
        var json = JSONWriter()
        json.vocabularyObject(vocabularyEntries(includingSpecialTokens: true), indent: "")
        json.raw("\n")
        return json.bytes
    }

    /// `merges.txt`: the `#version: 0.2` header GPT-2's file has, then one merge per line.
    func mergesTextBytes() -> [UInt8] {
        var text = [UInt8]("#version: 0.2\n".utf8)
        text.reserveCapacity(mergeRules.count * 10)
        for rule in mergeRules {
            text.append(contentsOf: tokenStrings[Int(rule.left)]!.utf8)
            text.append(0x20)
            text.append(contentsOf: tokenStrings[Int(rule.right)]!.utf8)
            text.append(0x0A)
        }
        return text
    }

    /// `tokenizer_config.json` for `transformers`: the tokenizer class, GPT-2's use of
    /// `<|endoftext|>` as beginning, end and unknown token (when it exists), no prefix space, and no
    /// clean-up of spaces in `decode` (so `decode(encode(x)) == x` there too).
    func tokenizerConfigBytes() -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\n  \"tokenizer_class\": \"GPT2Tokenizer\",\n  \"add_prefix_space\": false,\n  \"clean_up_tokenization_spaces\": false")
        if endOfTextTokenId != nil {
            for key in ["bos_token", "eos_token", "unk_token"] {
                json.raw(",\n  ")
                json.key(key)
                json.string("<|endoftext|>")
            }
        }
        json.raw("\n}\n")
        return json.bytes
    }
}

extension ByteLevelBPETokenizer {
    /// The tokenizer as Hugging Face `tokenizer.json` text, in the layout `tokenizers` writes for
    /// GPT-2 (`ByteLevel` pre-tokenizer, post-processor and decoder; `BPE` model; every special
    /// token an added token with `special: true`). Merges are written as `"left right"` strings,
    /// which every version of `tokenizers` reads.
    func tokenizerJSONBytes() -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
        for (index, special) in specialTokens.sorted(by: { $0.value < $1.value }).enumerated() {
            json.raw(index == 0 ? "\n    {\"id\": \(special.value), \"content\": " : ",\n    {\"id\": \(special.value), \"content\": ")
            json.string(special.key)
            let strip = stripping[special.value] ?? (false, false)
            json.raw(", \"single_word\": false, \"lstrip\": \(strip.left), \"rstrip\": \(strip.right), \"normalized\": true, \"special\": true}")
        }
        json.raw(specialTokens.isEmpty ? "],\n" : "\n  ],\n")
        json.raw("""
              "normalizer": null,
              "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
              "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
              "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
              "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": null,
                "continuing_subword_prefix": "",
                "end_of_word_suffix": "",
                "fuse_unk": false,
                "byte_fallback": false,
                "ignore_merges": false,
                "vocab": 
            """)
        json.vocabularyObject(vocabularyEntries(includingSpecialTokens: true), indent: "    ")
        json.raw(",\n    \"merges\": [")
        for (index, rule) in mergeRules.enumerated() {
            json.raw(index == 0 ? "\n      " : ",\n      ")
            json.string(tokenStrings[Int(rule.left)]! + " " + tokenStrings[Int(rule.right)]!)
        }
        json.raw(mergeRules.isEmpty ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n")
        return json.bytes
    }

    /// The vocabulary as `(string, id)` in id order, with or without the special tokens.
    func vocabularyEntries(includingSpecialTokens: Bool) -> [(token: String, id: Int)] {
        tokenStrings.enumerated().compactMap { id, token in
            guard let token, includingSpecialTokens || specialTokens[token] != id else { return nil }
            return (token, id)
        }
    }
}

/// Creates `directory` and its parents if they do not exist.
func createDirectory(_ directory: URL) throws(TokenizerError) {
    do {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
        throw TokenizerError(path: directory.path, message: "cannot create the directory: \(error.localizedDescription)")
    }
}
