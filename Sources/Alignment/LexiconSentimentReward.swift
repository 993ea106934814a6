// The demo's "gold" rater: a positivity score from a lexicon of positive and negative words with
// simple negation handling. It stands in for human raters when the demo collects preferences and
// when the over-optimization study asks whether a rising proxy reward is real. It is a fixed,
// readable rule, not a model: what it rewards can be checked by hand.

import Foundation

/// Positivity of a response by word lists (Shakespeare's vocabulary included).
///
/// The response is lower-cased and split into words (letters and apostrophes). Each word found in
/// the positive list counts +1 and in the negative list −1; the polarity flips when one of the
/// negators ("not", "no", "never", "nor", "ne'er", "none", "nothing", "cannot", words ending in
/// "n't") stands within the three words before it. Each distinct (word, polarity) counts once, so
/// repeating "love" does not make a text happier, and the sum is divided by √(number of words,
/// at least 4): a long text needs more positive words for the same score. A response without
/// sentiment words scores 0.
public struct LexiconSentimentReward: RewardFunction {
    /// Lower-case words counted +1.
    public let positive: Set<String>
    /// Lower-case words counted −1.
    public let negative: Set<String>
    /// Words that flip the polarity of a sentiment word up to `negationWindow` words after them.
    public let negators: Set<String>
    /// How many words back a negator reaches.
    public var negationWindow = 3

    /// The built-in lexicon (``defaultPositive``, ``defaultNegative``, ``defaultNegators``).
    public init() {
        self.init(positive: Self.defaultPositive, negative: Self.defaultNegative)
    }

    /// A lexicon of one's own (lower-case words).
    public init(positive: Set<String>, negative: Set<String>, negators: Set<String> = Self.defaultNegators) {
        self.positive = positive
        self.negative = negative
        self.negators = negators
    }

    public func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        try checkCounts(prompts, responses)
        return responses.map(score)
    }

    /// The score of one text.
    public func score(_ text: String) -> Float {
        let words = Self.words(text)
        var counted = Set<String>()
        var total = 0
        for (index, word) in words.enumerated() {
            var polarity = positive.contains(word) ? 1 : negative.contains(word) ? -1 : 0
            guard polarity != 0 else { continue }
            let window = words[max(0, index - negationWindow)..<index]
            if window.contains(where: isNegator) { polarity = -polarity }
            if counted.insert("\(polarity > 0 ? "+" : "-")\(word)").inserted { total += polarity }
        }
        return Float(total) / Float(max(words.count, 4)).squareRoot()
    }

    func isNegator(_ word: String) -> Bool { negators.contains(word) || word.hasSuffix("n't") }

    /// Lower-case words: runs of letters and apostrophes (curly apostrophes read as straight),
    /// without leading or trailing apostrophes.
    public static func words(_ text: String) -> [String] {
        var words: [String] = [], current = ""
        func flush() {
            let trimmed = current.trimmingCharacters(in: CharacterSet(charactersIn: "'"))
            if !trimmed.isEmpty { words.append(trimmed) }
            current = ""
        }
        for character in text.lowercased() {
            if character.isLetter { current.append(character) } else if character == "'" || character == "’" { current.append("'") } else { flush() }
        }
        flush()
        return words
    }

    /// Negators: "not", "no", "never", "nor", "ne'er", "none", "nothing", "cannot", "without".
    public static let defaultNegators: Set<String> = ["not", "no", "never", "nor", "ne'er", "none", "nothing", "cannot", "without"]

    /// Positive words: joy, love, beauty, kindness, honour, health and their early-modern forms.
    public static let defaultPositive: Set<String> = [
        "love", "loves", "loved", "loving", "lovely", "lover", "beloved", "joy", "joys", "joyful", "joyous", "happy",
        "happily", "happiness", "merry", "mirth", "glad", "gladly", "gladness", "delight", "delights", "delightful",
        "sweet", "sweetly", "sweetest", "sweetness", "fair", "fairest", "fairer", "beauty", "beauteous", "beautiful",
        "gentle", "gently", "kind", "kindly", "kindness", "good", "goodness", "best", "better", "noble", "grace",
        "gracious", "honour", "honor", "honest", "true", "truth", "faithful", "dear", "dearest", "darling", "friend",
        "friends", "friendship", "smile", "smiles", "smiling", "laugh", "laughter", "laughing", "peace", "peaceful",
        "bless", "blessed", "blessing", "blest", "heaven", "heavenly", "hope", "hopes", "hopeful", "bright", "brave",
        "bravely", "worthy", "virtue", "virtuous", "wise", "wisdom", "rich", "treasure", "gold", "golden", "praise",
        "thanks", "thank", "welcome", "comfort", "content", "pleasure", "pleasant", "please", "pleased",
        "fortune", "fortunate", "triumph", "victory", "win", "wins", "won", "sing", "song", "dance", "feast",
        "summer", "flower", "flowers", "roses", "sun", "sunshine", "light", "warm", "tender",
        "graces", "angel", "angels", "bliss", "blissful", "cheer", "cheerful", "hail", "glory", "glorious",
        "wonder", "wonderful", "marry", "wed", "wedding", "embrace", "kiss", "kisses", "heal", "health", "healthy",
        "safe", "free", "freedom", "excellent", "admire", "adore", "charm", "charming", "lively",
    ]

    /// Negative words: death, grief, hatred, fear, sickness, war and their early-modern forms.
    public static let defaultNegative: Set<String> = [
        "death", "dead", "die", "dies", "died", "dying", "kill", "kills", "killed", "murder", "murdered", "slain",
        "slay", "blood", "bloody", "grief", "grieve", "grieves", "sorrow", "sorrows", "sorrowful", "sad", "sadly",
        "sadness", "woe", "woes", "woeful", "weep", "weeps", "weeping", "wept", "tears", "cry", "cries",
        "mourn", "mourning", "hate", "hated", "hatred", "hateful", "fear", "fears", "afraid", "dread", "terror",
        "foul", "vile", "villain", "wicked", "evil", "ill", "sick", "sickness", "disease", "plague", "poison",
        "pain", "pains", "hurt", "wound", "wounds", "wounded", "bleed", "bleeding", "grave", "graves", "tomb",
        "ghost", "curse", "cursed", "damn", "damned", "hell", "devil", "fiend", "war", "wars", "battle", "sword",
        "enemy", "enemies", "foe", "foes", "traitor", "treason", "betray", "false", "falsehood",
        "shame", "shameful", "guilt", "guilty", "sin", "sins", "despair", "misery", "miserable", "wretch",
        "wretched", "poor", "alas", "lament", "sigh", "sighs", "groan", "cruel", "cruelty", "anger", "angry",
        "rage", "wrath", "fury", "storm", "dark", "darkness", "cold", "winter", "fallen",
        "lose", "lost", "loss", "banish", "banished", "exile", "prison", "chains", "fool", "mad", "madness",
        "bitter", "sorry", "trouble", "troubled", "fearful", "horrible", "scorn", "weary", "ruin",
    ]
}
