import Foundation

/// The continuation task of trlX's sentiment notebooks: a text's first words are the prompt and the
/// text itself the completion ("I can't believe" → "I can't believe how kind everyone was today!"),
/// for a seq2seq SFT that teaches a model to write a whole comment from its opening, and for PPO
/// prompts that start comments the policy then writes.
public enum PrefixTask {
    /// One example per text with more than `words` words: prompt = its first `words` words, joined
    /// by single spaces; completion = the text with runs of whitespace made single spaces.
    /// Shorter texts are left out (they would be all prompt).
    /// - Parameters:
    ///   - texts: the source texts (GoEmotions comments, reviews, lines).
    ///   - words: prompt length in words (≥ 1).
    /// - Returns: (prompt, completion) pairs in input order.
    public static func examples(from texts: [String], words: Int) -> [(prompt: String, completion: String)] {
        precondition(words >= 1, "PrefixTask: words must be ≥ 1")
        return texts.compactMap { text in
            let parts = text.split(whereSeparator: { $0.isWhitespace })
            guard parts.count > words else { return nil }
            return (parts.prefix(words).joined(separator: " "), parts.joined(separator: " "))
        }
    }
}
