// What a job does with text characters a character tokenizer lacks (`unknown_characters`).

import Tokenizers

/// Stop, or approximate to the vocabulary.
public enum UnknownCharacterPolicy: String, SettingChoice {
    /// An error naming the record.
    case error
    /// Typographic quotes to ASCII, diacritics removed, the rest dropped; counted and reported.
    case fold

    /// `text` approximated to a character tokenizer's vocabulary under `.fold`; unchanged under
    /// `.error` or for other tokenizers. Returns whether anything changed.
    func apply(_ text: String, tokenizer: any Tokenizer) -> (text: String, changed: Bool) {
        guard self == .fold, let characters = tokenizer as? CharacterTokenizer else { return (text, false) }
        let result = characters.folding(text)
        return (result.text, result.changed > 0)
    }
}
