// The continuation task: first words → the whole text, short texts left out, whitespace normalised.

import Datasets
import Testing

@Suite("Prefix task")
struct PrefixTaskTests {
    @Test("prompt = the first N words, completion = the text; texts of N words or fewer are left out")
    func examples() {
        let made = PrefixTask.examples(from: ["I can't believe how  kind\teveryone was", "Too short here", "one two three four", "  a b c d e "], words: 4)
        #expect(made.map(\.prompt) == ["I can't believe how", "a b c d"])
        #expect(made.map(\.completion) == ["I can't believe how kind everyone was", "a b c d e"])
        #expect(PrefixTask.examples(from: ["x y"], words: 1).map(\.prompt) == ["x"])
    }
}
