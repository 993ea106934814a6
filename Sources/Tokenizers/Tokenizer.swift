import Foundation

/// Turns text into token ids and back.
///
/// The kinds: `ByteLevelBPETokenizer` (GPT-2's byte-level BPE, ids identical to tiktoken and
/// Hugging Face's `GPT2TokenizerFast`), `CharacterTokenizer` (one id per Unicode scalar, as in
/// nanoGPT's Shakespeare-char), `WordPieceTokenizer` (BERT) and `UnigramTokenizer` (SentencePiece
/// Unigram: T5). `loadTokenizer(from:)` reads each from the files `save(to:)` writes.
///
/// Tokenizers are immutable after construction and safe to use from several threads at once.
public protocol Tokenizer: AnyObject, Sendable {
    /// The number of ids the tokenizer can produce: one more than the largest id (GPT-2: 50257).
    /// A model's embedding table needs at least this many rows.
    var vocabularySize: Int { get }

    /// The token ids of `text`.
    ///
    /// Special tokens written in the text (for GPT-2, `<|endoftext|>`) become their ids, as
    /// `GPT2TokenizerFast` and tiktoken's `encode(text, allowed_special="all")` do.
    /// - Parameter text: any string.
    /// - Returns: ids in `0..<vocabularySize`.
    func encode(_ text: String) -> [Int]

    /// The token ids of `text`, or a ``TokenizerError`` when the text holds something this
    /// tokenizer cannot represent (a character outside a character vocabulary). Byte-level BPE
    /// represents every text and never throws.
    /// - Parameter text: any string.
    func encodeChecked(_ text: String) throws -> [Int]

    /// The text of `ids`: `decodeBytes(ids)` read as UTF-8, each ill-formed byte sequence replaced by
    /// U+FFFD (as Hugging Face's `decode` and tiktoken's `decode(errors="replace")` do).
    /// Ids that are no token of this tokenizer are skipped, as in Hugging Face.
    /// - Parameter ids: token ids, normally from `encode`.
    /// - Returns: the decoded text; `decode(encode(x)) == x` for every string `x`, byte for byte, for
    ///   the tokenizers that do not normalize (byte-level BPE, characters; WordPiece and Unigram give
    ///   the normalized text).
    func decode(_ ids: [Int]) -> String

    /// The exact bytes of `ids`, with nothing replaced: the concatenated bytes of each token (for
    /// special tokens, the UTF-8 of their text). Ids that are no token of this tokenizer are skipped.
    /// - Parameter ids: token ids.
    /// - Returns: bytes that are valid UTF-8 whenever `ids` came from `encode`.
    func decodeBytes(_ ids: [Int]) -> [UInt8]

    /// The id that ends a document (`<|endoftext|>` = 50256 for GPT-2), or `nil` if there is none.
    var endOfTextTokenId: Int? { get }

    /// Tokens matched verbatim in text before anything else (for GPT-2 `["<|endoftext|>": 50256]`),
    /// by their text.
    var specialTokens: [String: Int] { get }

    /// The vocabulary string of `id` as it appears in the tokenizer's files (for byte-level BPE, the
    /// GPT-2 byte-to-unicode spelling, e.g. `"Ġthe"` for `" the"`), or `nil` if `id` is no token.
    /// - Parameter id: a token id.
    func token(for id: Int) -> String?

    /// Writes the tokenizer into `directory` (created if needed) as files `loadTokenizer(from:)`
    /// reads, in Hugging Face's formats where one exists.
    /// - Parameter directory: the destination; existing files of the same names are replaced.
    /// - Throws: `TokenizerError` naming the file that could not be written.
    func save(to directory: URL) throws(TokenizerError)

    /// The ids of each text, in order; the same as `texts.map(encode)`, possibly computed on several
    /// threads.
    /// - Parameter texts: the texts to encode.
    /// - Returns: one id array per text.
    func encodeBatch(_ texts: [String]) -> [[Int]]
}

extension Tokenizer {
    /// One past the largest id this tokenizer can produce: its vocabulary and its special tokens.
    public var idLimit: Int { max(vocabularySize, (specialTokens.values.max() ?? -1) + 1) }
}

extension Tokenizer {
    /// `encode(text)`: tokenizers that represent every text never fail.
    public func encodeChecked(_ text: String) throws -> [Int] { encode(text) }

    /// Encodes the texts one after another (`texts.map(encode)`); tokenizers that can do better
    /// override it.
    public func encodeBatch(_ texts: [String]) -> [[Int]] {
        texts.map(encode)
    }
}

/// Encodes `texts` on all cores with `encode`, keeping the order of the input.
///
/// Work is split into contiguous ranges of texts of about equal byte count, one range per task.
func encodeConcurrently(_ texts: [String], _ encode: @Sendable (String) -> [Int]) -> [[Int]] {
    let totalBytes = texts.reduce(0) { $0 + $1.utf8.count }
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, texts.count)
    guard workers > 1, totalBytes >= 1 << 16 else { return texts.map(encode) }

    // Range boundaries with about totalBytes / workers bytes each.
    var bounds = [0]
    var running = 0
    for (index, text) in texts.enumerated() {
        running += text.utf8.count
        if running * workers >= totalBytes * bounds.count, bounds.count < workers, index + 1 < texts.count {
            bounds.append(index + 1)
        }
    }
    bounds.append(texts.count)

    let results = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: texts.count)
    results.initialize(repeating: [])
    defer {
        results.deinitialize()
        results.deallocate()
    }
    nonisolated(unsafe) let output = results
    let ranges = bounds
    DispatchQueue.concurrentPerform(iterations: ranges.count - 1) { task in
        for index in ranges[task]..<ranges[task + 1] {
            output[index] = encode(texts[index])
        }
    }
    return Array(results)
}

/// Loads the tokenizer stored in `location`: a directory (a checkpoint, or what `save(to:)` wrote)
/// or a single tokenizer file.
///
/// In a directory, the first of these that exists is read:
/// 1. `tokenizer.json`: a byte-level BPE model (`ByteLevelBPETokenizer`), the per-character
///    `WordLevel` model `CharacterTokenizer` writes, a `WordPiece` model (BERT's,
///    `WordPieceTokenizer`), or a `Unigram` model (T5's and other SentencePiece models',
///    `UnigramTokenizer`), chosen by `model.type`;
/// 2. `vocab.json` + `merges.txt` (GPT-2 files; `<|endoftext|>` is special if in `vocab.json`), or
///    a lone `vocab.txt` (BERT's WordPiece vocabulary, with `tokenizer_config.json`'s casing);
/// 3. a single `*.tiktoken` rank file, with GPT-2's `<|endoftext|>` = 50256 as its special token
///    when that id is free.
///
/// A file is read by its name: `*.json` as `tokenizer.json`, `*.tiktoken` as a rank file.
/// - Parameter location: a directory or a file.
/// - Returns: the tokenizer.
/// - Throws: `TokenizerError` from reading the files, or, when nothing is found, one that lists what
///   was looked for.
public func loadTokenizer(from location: URL) throws(TokenizerError) -> any Tokenizer {
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    guard manager.fileExists(atPath: location.path, isDirectory: &isDirectory) else {
        throw TokenizerError(path: location.path, message: "no such file or directory")
    }
    guard isDirectory.boolValue else { return try loadTokenizerFile(location) }

    let tokenizerJSON = location.appendingPathComponent(ByteLevelBPETokenizer.FileName.tokenizerJSON)
    if manager.fileExists(atPath: tokenizerJSON.path) { return try loadTokenizerFile(tokenizerJSON) }

    let vocabulary = location.appendingPathComponent(ByteLevelBPETokenizer.FileName.vocabulary)
    let merges = location.appendingPathComponent(ByteLevelBPETokenizer.FileName.merges)
    let hasVocabulary = manager.fileExists(atPath: vocabulary.path)
    let hasMerges = manager.fileExists(atPath: merges.path)
    if hasVocabulary && hasMerges {
        return try ByteLevelBPETokenizer(vocabularyFile: vocabulary, mergesFile: merges)
    }

    let wordPieceVocabulary = location.appendingPathComponent("vocab.txt")
    if !hasVocabulary && !hasMerges && manager.fileExists(atPath: wordPieceVocabulary.path) {
        return try WordPieceTokenizer(vocabularyFile: wordPieceVocabulary)
    }

    let rankFiles = ((try? manager.contentsOfDirectory(atPath: location.path)) ?? [])
        .filter { $0.hasSuffix(".tiktoken") }.sorted()
    if rankFiles.count == 1 { return try loadTokenizerFile(location.appendingPathComponent(rankFiles[0])) }

    var found = ""
    if hasVocabulary != hasMerges {
        found = " (found \(hasVocabulary ? "vocab.json without merges.txt" : "merges.txt without vocab.json"))"
    } else if rankFiles.count > 1 {
        found = " (found \(rankFiles.count) *.tiktoken files: \(rankFiles.joined(separator: ", ")); pass one of them)"
    }
    throw TokenizerError(path: location.path, message: "no tokenizer found: looked for tokenizer.json, vocab.json + merges.txt, and a single *.tiktoken file\(found)")
}

/// Loads one tokenizer file, choosing the reader by its name.
private func loadTokenizerFile(_ file: URL) throws(TokenizerError) -> any Tokenizer {
    if file.pathExtension == "tiktoken" {
        return try ByteLevelBPETokenizer(tiktokenFile: file, specialTokens: gpt2SpecialTokensIfFree(file))
    }
    guard file.pathExtension == "json" else {
        throw TokenizerError(path: file.path, message: "unknown tokenizer file: expected tokenizer.json (or another *.json in that format) or a *.tiktoken rank file")
    }
    let document = try JSONDocument(contentsOf: file)
    let typeNode = document.root["model"]?["type"]
    switch typeNode?.string {
    case "BPE": return try ByteLevelBPETokenizer(document: document)
    case "WordLevel": return try CharacterTokenizer(document: document)
    case "WordPiece": return try WordPieceTokenizer(document: document)
    case "Unigram": return try UnigramTokenizer(document: document)
    default:
        throw document.error(
            at: typeNode ?? document.root, field: "model.type",
            "expected \"BPE\" (byte-level BPE), \"WordLevel\" (characters), \"WordPiece\" (BERT) or \"Unigram\" (SentencePiece, T5), found \(typeNode?.kindDescription ?? "no model type")")
    }
}

/// `["<|endoftext|>": 50256]` unless 50256 is a rank in the file (then no special tokens).
private func gpt2SpecialTokensIfFree(_ file: URL) throws(TokenizerError) -> [String: Int] {
    let bytes = try TokenizerError.readFile(file)
    let rank = Array(" 50256".utf8)
    for line in bytes.split(separator: 0x0A) {
        var line = line
        if line.last == 0x0D { line = line.dropLast() }
        if line.count >= rank.count, line.suffix(rank.count).elementsEqual(rank) { return [:] }
    }
    return ["<|endoftext|>": 50256]
}
