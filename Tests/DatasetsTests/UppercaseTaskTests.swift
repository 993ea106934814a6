// The uppercase task's pairs from real Alpaca seed tasks, and the uppercase fraction by hand.

import Foundation
import Testing
import Datasets

@Suite("Uppercase task")
struct UppercaseTaskTests {
    @Test("pairs from the Alpaca seed tasks: Alpaca prompt, chosen = response upper-cased, rejected = response",
          .enabled(if: TestData.has(TestData.alpaca)))
    func pairsFromSeedTasks() throws {
        let examples = try SFTExample.read(TestData.file(TestData.alpaca)).records
        let pairs = UppercaseTask.pairs(from: examples)
        #expect(examples.count == 175)
        #expect(pairs.count > 150 && pairs.count <= examples.count)
        let first = try #require(pairs.first)
        #expect(first.prompt.hasPrefix("Below is an instruction that describes a task") && first.prompt.hasSuffix("### Response:"))
        #expect(first.chosen == first.rejected.uppercased() && first.chosen != first.rejected)
        #expect(first.rejected.hasPrefix("Yes, you can have 1 oatmeal banana protein shake"))
        #expect(UppercaseTask.uppercaseFraction(pairs.map(\.chosen)) > 0.99)
    }

    @Test("uppercase fraction: uppercase letters over all letters")
    func fraction() {
        #expect(UppercaseTask.uppercaseFraction(["ABc", "d 1!"]) == 0.5)
        #expect(UppercaseTask.uppercaseFraction(["123"]) == 0)
    }
}
