// SentencePiece's Unigram language model (Kudo 2018, "Subword Regularization") as Hugging Face
// `tokenizers` runs it (`Unigram::encode_optimized`, after SentencePiece's unigram_model.cc): the
// most probable segmentation of a word by Viterbi over the pieces' log-probabilities, found in a
// byte trie of the pieces. A character no one-character piece covers gets the unknown score (the
// lowest piece score minus 10); consecutive unknowns are fused into one token; with byte fallback an
// unknown token becomes the `<0xNN>` pieces of its bytes.

import Foundation

/// The pieces and scores of a Unigram model, and the Viterbi segmentation over them.
struct UnigramModel: Sendable {
    /// The piece of each id.
    let pieces: [String]
    /// The log-probability of each id.
    let scores: [Double]
    /// The id of the unknown token, or `nil` (then text with an uncovered character cannot be encoded).
    let unknownId: Int?
    /// Whether unknown tokens become `<0xNN>` byte pieces (when all of their bytes have one).
    let byteFallback: Bool
    /// The score of an unknown character: the lowest piece score minus 10 (`kUnkPenalty`).
    let unknownScore: Double

    /// The id of each piece, by its UTF-8 (exact bytes: no Unicode equivalence).
    private let ids: [[UInt8]: Int]
    /// The id of `<0xNN>` for each byte, or -1.
    private let byteIds: [Int]
    /// The trie: the child of (node, byte), keyed `node << 8 | byte`; node 0 is the root.
    private let children: [UInt32: Int32]
    /// The id of the piece that ends at each node, or -1.
    private let terminals: [Int32]

    /// A model over `pieces` (ids in order), which must be non-empty, distinct and unique; `scores`
    /// must be finite and `unknownId` in range (the loader checks all of this and names the field).
    init(pieces: [String], scores: [Double], unknownId: Int?, byteFallback: Bool) {
        self.pieces = pieces
        self.scores = scores
        self.unknownId = unknownId
        self.byteFallback = byteFallback
        unknownScore = (scores.min() ?? 0) - 10
        var ids = [[UInt8]: Int](minimumCapacity: pieces.count)
        var children = [UInt32: Int32]()
        var terminals: [Int32] = [-1]
        for (id, piece) in pieces.enumerated() {
            let bytes = Array(piece.utf8)
            ids[bytes] = id
            var node = 0
            for byte in bytes {
                let key = UInt32(node) << 8 | UInt32(byte)
                if let child = children[key] {
                    node = Int(child)
                } else {
                    children[key] = Int32(terminals.count)
                    node = terminals.count
                    terminals.append(-1)
                }
            }
            terminals[node] = Int32(id)
        }
        self.ids = ids
        self.children = children
        self.terminals = terminals
        byteIds = (0..<256).map { ids[Array(Self.bytePiece(UInt8($0)).utf8)] ?? -1 }
    }

    /// The piece that stands for `byte` under byte fallback: `<0xNN>`, upper-case hexadecimal.
    static func bytePiece(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x" + (byte < 16 ? "0" : "") + hex + ">"
    }

    /// The id of a piece, by its exact text.
    func id(of piece: String) -> Int? { ids[Array(piece.utf8)] }

    /// The length of the UTF-8 sequence that starts with `lead`.
    private static func sequenceLength(_ lead: UInt8) -> Int {
        lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    /// Appends the ids of one word (a pre-token such as `"▁Hello"`) to `output`.
    /// - Returns: false when a character could not be given an id (no unknown id); its bytes are
    ///   then left out, where `tokenizers` fails the whole encoding.
    @discardableResult
    func encode(_ word: [UInt8], into output: inout [Int]) -> Bool {
        let count = word.count
        guard count > 0 else { return true }

        // 1. Best path ending at each byte offset: score, where its last token starts, its id.
        var bestScore = [Double](repeating: 0, count: count + 1)
        var startOf = [Int](repeating: -1, count: count + 1)
        var idOf = [Int](repeating: -1, count: count + 1)
        var representable = true
        var position = 0
        while position < count {
            let scoreHere = bestScore[position]
            let characterLength = Self.sequenceLength(word[position])
            var hasSingleCharacterPiece = false
            var node = 0
            var end = position
            // 2. Every piece that starts here, shortest first; a later one replaces only if better.
            while end < count, let child = children[UInt32(node) << 8 | UInt32(word[end])] {
                node = Int(child)
                end += 1
                let id = Int(terminals[node])
                guard id >= 0 else { continue }
                let candidate = scores[id] + scoreHere
                if startOf[end] < 0 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    startOf[end] = position
                    idOf[end] = id
                }
                if end - position == characterLength { hasSingleCharacterPiece = true }
            }
            // 3. A character no piece of its own covers may stand alone as unknown.
            if !hasSingleCharacterPiece {
                let target = position + characterLength
                let candidate = unknownScore + scoreHere
                if startOf[target] < 0 || candidate > bestScore[target] {
                    bestScore[target] = candidate
                    startOf[target] = position
                    idOf[target] = unknownId ?? -1
                    if unknownId == nil { representable = false }
                }
            }
            position += characterLength
        }

        // 4. Back from the end; runs of unknown tokens are fused into one.
        var segments: [(start: Int, end: Int, id: Int)] = []
        var end = count
        while end > 0 {
            let start = startOf[end]
            let id = idOf[end]
            if id >= 0, id == unknownId, let last = segments.last, last.id == id, last.start == end {
                segments[segments.count - 1].start = start
            } else {
                segments.append((start, end, id))
            }
            end = start
        }

        // 5. Ids in order; a fused unknown is looked up again, then split into bytes or kept unknown.
        for segment in segments.reversed() {
            guard segment.id >= 0 else { representable = false; continue }
            guard segment.id == unknownId else { output.append(segment.id); continue }
            let bytes = Array(word[segment.start..<segment.end])
            if let id = ids[bytes] {
                output.append(id)
            } else if byteFallback, bytes.allSatisfy({ byteIds[Int($0)] >= 0 }) {
                output += bytes.map { byteIds[Int($0)] }
            } else {
                output.append(segment.id)
            }
        }
        return representable
    }
}
