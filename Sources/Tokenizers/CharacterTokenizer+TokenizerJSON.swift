import Foundation

extension CharacterTokenizer {
    /// The pre-tokenizer pattern that splits text into single scalars in Hugging Face `tokenizers`
    /// (Oniguruma: `[\s\S]` matches any one code point, newlines included).
    static let scalarPattern = "[\\s\\S]"

    /// The unknown-token name written into `tokenizer.json` (a `WordLevel` model requires one). It
    /// is not in the vocabulary, so `tokenizers` raises an error on an unknown scalar, as
    /// `encodeChecked` does.
    static let unknownTokenName = "<unk>"

    /// Loads a tokenizer written by `save(to:)`: a Hugging Face `tokenizer.json` with a `WordLevel`
    /// model whose tokens are single scalars with ids `0..<n`, and the `Split` pre-tokenizer on
    /// `[\s\S]` (every scalar on its own).
    /// - Parameter tokenizerJSON: the `tokenizer.json` file.
    /// - Throws: `TokenizerError` naming the file, line and field.
    public convenience init(tokenizerJSON: URL) throws(TokenizerError) {
        try self.init(document: JSONDocument(contentsOf: tokenizerJSON))
    }

    /// Reads a parsed `tokenizer.json`; see `init(tokenizerJSON:)`.
    convenience init(document: JSONDocument) throws(TokenizerError) {
        let root = document.root
        func fail(_ node: JSONNode, _ field: String, _ message: String) -> TokenizerError {
            document.error(at: node, field: field, message)
        }
        guard let model = root["model"] else { throw fail(root, "model", "the field is missing") }
        guard model["type"]?.string == "WordLevel" else {
            throw fail(model["type"] ?? model, "model.type", "expected \"WordLevel\", found \(model["type"]?.kindDescription ?? "none")")
        }
        let preTokenizer = root["pre_tokenizer"]
        guard let preTokenizer, preTokenizer["type"]?.string == "Split",
              preTokenizer["pattern"]?["Regex"]?.string == Self.scalarPattern,
              preTokenizer["behavior"]?.string == "Isolated", preTokenizer["invert"]?.bool != true else {
            throw fail(preTokenizer ?? root, "pre_tokenizer", "expected the per-character pre-tokenizer {\"type\": \"Split\", \"pattern\": {\"Regex\": \"[\\\\s\\\\S]\"}, \"behavior\": \"Isolated\"} that CharacterTokenizer writes")
        }
        if let normalizer = root["normalizer"], !normalizer.isNull {
            throw fail(normalizer, "normalizer", "expected null, found \(normalizer.kindDescription) (not supported)")
        }
        if case .array(let added)? = root["added_tokens"]?.value, let first = added.first {
            throw fail(first, "added_tokens", "expected no added tokens in a character vocabulary")
        }
        guard let vocabulary = model["vocab"], case .object(let members) = vocabulary.value else {
            throw fail(model["vocab"] ?? model, "model.vocab", "expected an object mapping characters to ids")
        }
        var characters = [Unicode.Scalar?](repeating: nil, count: members.count)
        for (key, node) in members {
            let field = "model.vocab.\(key)"
            let scalars = Array(key.unicodeScalars)
            guard scalars.count == 1 else {
                throw fail(node, field, "expected a single Unicode scalar, found \(quoted(key)) (\(scalars.count) scalars)")
            }
            guard let id = node.integer, id >= 0, id < members.count else {
                throw fail(node, field, "expected an id in 0..<\(members.count) (ids must be dense), found \(node.kindDescription)")
            }
            guard characters[id] == nil else {
                throw fail(node, field, "id \(id) is also given to \(Self.describe(characters[id]!))")
            }
            characters[id] = scalars[0]
        }
        try self.init(characters: characters.map { $0! }, source: document.path)
    }

    /// Writes `tokenizer.json` into `directory` (created if needed): a `WordLevel` model over the
    /// characters, the `Split` pre-tokenizer on `[\s\S]`, and the `Fuse` decoder (which joins tokens
    /// without spaces). `loadTokenizer(from:)`, `CharacterTokenizer(tokenizerJSON:)` and Hugging
    /// Face's `tokenizers.Tokenizer.from_file` read it back with the same ids.
    /// - Parameter directory: the destination directory.
    /// - Throws: `TokenizerError` naming the file that could not be written.
    public func save(to directory: URL) throws(TokenizerError) {
        try createDirectory(directory)
        var json = JSONWriter()
        json.raw("""
            {
              "version": "1.0",
              "truncation": null,
              "padding": null,
              "added_tokens": [],
              "normalizer": null,
              "pre_tokenizer": {"type": "Split", "pattern": {"Regex": 
            """)
        json.string(Self.scalarPattern)
        json.raw("""
            }, "behavior": "Isolated", "invert": false},
              "post_processor": null,
              "decoder": {"type": "Fuse"},
              "model": {
                "type": "WordLevel",
                "unk_token": 
            """)
        json.string(Self.unknownTokenName)
        json.raw(",\n    \"vocab\": ")
        json.vocabularyObject(characters.enumerated().map { (String($0.element), $0.offset) }, indent: "    ")
        json.raw("\n  }\n}\n")
        try TokenizerError.writeFile(json.bytes, to: directory.appendingPathComponent(ByteLevelBPETokenizer.FileName.tokenizerJSON))
    }
}
