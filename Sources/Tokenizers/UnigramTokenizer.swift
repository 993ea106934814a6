// A SentencePiece Unigram tokenizer read from Hugging Face's tokenizer.json (T5, Flan-T5, and other
// SentencePiece models converted by transformers), giving the ids and decodes Hugging Face
// `tokenizers` gives for the same file. The pipeline, in `tokenizers`' order:
//   1. added tokens (T5's <pad>, </s>, <unk>, <extra_id_N>) are cut out of the raw text;
//   2. each stretch between them is normalized (`TextNormalizer`: Precompiled nmt_nfkc, Strip, Replace);
//   3. and split into words (`TextPreTokenizer`: Metaspace, WhitespaceSplit);
//   4. each word is segmented by the Unigram model (`UnigramModel`);
//   5. on request the post-processor's template adds its tokens (T5: </s> at the end).
// Decoding maps ids to pieces and runs the decoder (`TokenDecoder`: Metaspace, ByteFallback, …).

import Foundation

/// A SentencePiece Unigram tokenizer (T5, Flan-T5): ids and decodes identical to Hugging Face
/// `tokenizers` for the same `tokenizer.json`.
///
/// `encode(_:)` gives the ids of the text alone, as the other tokenizers here do (like
/// ``WordPieceTokenizer`` without [CLS]/[SEP]); `encode(_:addingSpecialTokens:)` with `true` applies
/// the file's post-processor, which for T5 appends `</s>` (id 1), as `tokenizer(text)` does in
/// `transformers`. ``endOfTextTokenId`` is that `</s>`.
///
/// Normalization is lossy (NFKC, runs of spaces, the leading space), so `decode(encode(x))` is the
/// normalized text, not always `x` itself.
public final class UnigramTokenizer: Tokenizer {
    /// The Unigram model.
    let model: UnigramModel
    /// The added tokens.
    let addedVocabulary: AddedVocabulary
    /// The normalizer, if any.
    let normalizer: TextNormalizer?
    /// The pre-tokenizer, if any.
    let preTokenizer: TextPreTokenizer?
    /// The post-processor, if any.
    let postProcessor: TemplateProcessing?
    /// The decoder, if any (without one, tokens are joined with spaces).
    let decoder: TokenDecoder?
    /// The added tokens by id.
    private let addedById: [Int: AddedToken]

    /// The number of ids: the model's pieces and any added tokens past them (T5 with 100 extra ids:
    /// 32,100; its checkpoints' embedding tables are padded to 32,128).
    public let vocabularySize: Int

    /// The added tokens marked special, by text (T5: `<pad>`, `</s>`, `<unk>`, `<extra_id_N>`).
    public let specialTokens: [String: Int]

    /// The id the post-processor ends a sequence with (T5: `</s>` = 1), else the id of a special
    /// `</s>`, else `nil`.
    public let endOfTextTokenId: Int?

    /// The id of the unknown token (`model.unk_id`), if the model has one.
    public var unknownTokenId: Int? { model.unknownId }

    /// A tokenizer from its parts; `init(tokenizerJSON:)` reads them from a file.
    init(model: UnigramModel, addedTokens: [AddedToken], normalizer: TextNormalizer?, preTokenizer: TextPreTokenizer?,
         postProcessor: TemplateProcessing?, decoder: TokenDecoder?) {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        addedVocabulary = AddedVocabulary(addedTokens) { text in normalizer?.apply(text) ?? text }
        addedById = Dictionary(addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        vocabularySize = max(model.pieces.count, (addedTokens.map(\.id).max() ?? -1) + 1)
        specialTokens = Dictionary(addedTokens.filter(\.special).map { ($0.content, $0.id) }, uniquingKeysWith: { first, _ in first })
        endOfTextTokenId = postProcessor?.closingTokenId ?? specialTokens["</s>"]
    }

    /// Reads a Hugging Face `tokenizer.json` whose model is `Unigram`.
    ///
    /// Accepted: normalizers `Precompiled`, `Strip`, `Replace` (string or regular expression) and
    /// `Sequence`; pre-tokenizers `Metaspace` (`prepend_scheme` always/first/never, `split`, or the
    /// legacy `add_prefix_space`), `WhitespaceSplit` and `Sequence`; a `TemplateProcessing`
    /// post-processor; decoders `Metaspace`, `ByteFallback`, `Fuse`, `Strip`, `Replace` and
    /// `Sequence`; any of them null. `truncation` and `padding` are not applied (as for the other
    /// readers here: callers cut and pad).
    /// - Parameter tokenizerJSON: the file.
    /// - Throws: `TokenizerError` naming the file, line and field: a missing or malformed vocabulary,
    ///   a score that is not a finite number, `unk_id` out of range, a malformed `precompiled_charsmap`
    ///   (bad base64, truncated, offsets out of range), a type of normalizer, pre-tokenizer,
    ///   post-processor or decoder not listed above.
    public convenience init(tokenizerJSON: URL) throws(TokenizerError) {
        try self.init(document: JSONDocument(contentsOf: tokenizerJSON))
    }

    /// The ids of `text` without the post-processor's tokens; added tokens written in the text
    /// (`</s>`, `<extra_id_0>`) become their ids. Same as `encode(text, addingSpecialTokens: false)`.
    /// - Parameter text: any string.
    /// - Returns: ids in `0..<vocabularySize`.
    public func encode(_ text: String) -> [Int] {
        var representable = true
        return encodeSequence(text, representable: &representable)
    }

    /// The ids of `text`, as `tokenizers`' `encode(text, add_special_tokens=…).ids`.
    /// - Parameters:
    ///   - text: any string.
    ///   - addingSpecialTokens: whether the post-processor's template is applied (T5: `</s>` last).
    public func encode(_ text: String, addingSpecialTokens: Bool) -> [Int] {
        let ids = encode(text)
        guard addingSpecialTokens, let postProcessor else { return ids }
        return postProcessor.apply(ids, nil)
    }

    /// The ids of a pair of texts, as `tokenizers`' `encode(first, second, add_special_tokens=…).ids`
    /// (T5: `first </s> second </s>`).
    /// - Parameters:
    ///   - first: the first text.
    ///   - second: the second text.
    ///   - addingSpecialTokens: whether the post-processor's pair template is applied; without it
    ///     the ids are those of `first` followed by those of `second`.
    public func encode(_ first: String, pairedWith second: String, addingSpecialTokens: Bool = true) -> [Int] {
        let (a, b) = (encode(first), encode(second))
        guard addingSpecialTokens, let postProcessor else { return a + b }
        return postProcessor.apply(a, b)
    }

    /// The ids of `text` (as `encode(_:)`), or an error when a character matches no piece and the
    /// model has no unknown token (where `tokenizers` fails too; `encode` leaves such characters out).
    public func encodeChecked(_ text: String) throws(TokenizerError) -> [Int] {
        var representable = true
        let ids = encodeSequence(text, representable: &representable)
        guard representable else {
            throw TokenizerError(path: nil, field: "model.unk_id", message: "the text has a character no piece covers, and the model has no unknown token")
        }
        return ids
    }

    /// Encodes the texts on all cores; the same as `texts.map(encode)`.
    public func encodeBatch(_ texts: [String]) -> [[Int]] { encodeConcurrently(texts) { self.encode($0) } }

    /// Steps 1–4 of the pipeline; `representable` becomes false when some character got no id.
    private func encodeSequence(_ text: String, representable: inout Bool) -> [Int] {
        var ids: [Int] = []
        for segment in addedVocabulary.split(Array(text.unicodeScalars), normalized: false) {
            guard case .text(let scalars, let start) = segment else {
                if case .token(let id) = segment { ids.append(id) }
                continue
            }
            var atStart = start == 0
            var stretch = Self.string(scalars)
            if let normalizer { stretch = normalizer.apply(stretch, atStart: &atStart) }
            for piece in addedVocabulary.split(Array(stretch.unicodeScalars), normalized: true) {
                guard case .text(let pieceScalars, let offset) = piece else {
                    if case .token(let id) = piece { ids.append(id) }
                    continue
                }
                var words = [PreToken(scalars: pieceScalars, atStart: atStart && offset == 0)]
                if let preTokenizer { words = preTokenizer.split(words) }
                for word in words where !model.encode(Array(Self.string(word.scalars).utf8), into: &ids) {
                    representable = false
                }
            }
        }
        return ids
    }

    /// The text of `ids` with every token kept (`decode(ids, skippingSpecialTokens: false)`).
    public func decode(_ ids: [Int]) -> String { decode(ids, skippingSpecialTokens: false) }

    /// The text of `ids`, as `tokenizers`' `decode(ids, skip_special_tokens=…)`: each id becomes
    /// its added token or piece (ids that are neither are skipped), special tokens are left out when
    /// asked, and the decoder turns the tokens into text (T5's Metaspace: "▁" becomes a space and the
    /// first token's is dropped). Without a decoder the tokens are joined with spaces.
    /// - Parameters:
    ///   - ids: token ids.
    ///   - skippingSpecialTokens: whether added tokens marked special are left out.
    public func decode(_ ids: [Int], skippingSpecialTokens: Bool) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = addedById[id] {
                if !(skippingSpecialTokens && added.special) { tokens.append(added.content) }
            } else if id >= 0, id < model.pieces.count {
                tokens.append(model.pieces[id])
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens).joined()
    }

    /// The UTF-8 of `decode(ids)`: byte pieces that do not form UTF-8 are already U+FFFD there.
    public func decodeBytes(_ ids: [Int]) -> [UInt8] { Array(decode(ids).utf8) }

    /// The added token or piece of `id` as the file spells it (`"▁Hello"`, `"</s>"`), or `nil`.
    public func token(for id: Int) -> String? {
        if let added = addedById[id] { return added.content }
        return id >= 0 && id < model.pieces.count ? model.pieces[id] : nil
    }

    /// A string of scalars.
    static func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
