import Foundation

/// The "answer in uppercase" task (TRL's example): preference pairs built from instruction data,
/// the chosen response being the original response in upper case and the rejected one the original.
public enum UppercaseTask {
    /// Pairs from SFT examples (for Alpaca records the prompt is the Alpaca template): chosen =
    /// `response.uppercased()`, rejected = `response`. Examples whose response has no lowercase
    /// letter (so both sides would be equal) are left out.
    /// - Parameter examples: instruction examples.
    /// - Returns: the pairs, in input order.
    public static func pairs(from examples: [SFTExample]) -> [PreferencePair] {
        examples.compactMap { example in
            let upper = example.response.uppercased()
            guard upper != example.response else { return nil }
            return PreferencePair(prompt: example.prompt, chosen: upper, rejected: example.response)
        }
    }

    /// The fraction of letters that are uppercase over all responses together (0 without letters).
    /// - Parameter responses: texts.
    public static func uppercaseFraction(_ responses: [String]) -> Double {
        var upper = 0, letters = 0
        for scalar in responses.joined().unicodeScalars where scalar.properties.isAlphabetic {
            if scalar.properties.isUppercase { upper += 1; letters += 1 } else if scalar.properties.isLowercase { letters += 1 }
        }
        return letters == 0 ? 0 : Double(upper) / Double(letters)
    }
}
