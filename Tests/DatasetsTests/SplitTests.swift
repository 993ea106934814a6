import Foundation
import Testing
import Datasets

@Suite("Splits")
struct SplitTests {
    @Test("SplitMix64 matches the reference splitmix64.c outputs for seed 0")
    func referenceValues() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("nextIndex stays in range and reaches every value")
    func indexRange() {
        var generator = SplitMix64(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<1000 {
            let index = generator.nextIndex(below: 7)
            #expect((0..<7).contains(index))
            seen.insert(index)
        }
        #expect(seen.count == 7)
    }

    @Test("the same seed gives the same shuffle; another seed another")
    func determinism() {
        let elements = Array(0..<100)
        let first = Split.shuffled(elements, seed: 42)
        #expect(first == Split.shuffled(elements, seed: 42))
        #expect(first != Split.shuffled(elements, seed: 43))
        #expect(first != elements)
        #expect(first.sorted() == elements)
    }

    @Test("train and validation are disjoint, complete, sized by the fraction, and stable",
          arguments: [0.0, 0.1, 0.25, 0.5, 1.0])
    func trainValidation(fraction: Double) {
        let elements = (0..<101).map { "item \($0)" }
        let split = Split.trainValidation(elements, validationFraction: fraction, seed: 3)
        #expect(split.validation.count == Int((101 * fraction).rounded()))
        #expect(Set(split.train).isDisjoint(with: Set(split.validation)))
        #expect((split.train + split.validation).sorted() == elements.sorted())
        let again = Split.trainValidation(elements, validationFraction: fraction, seed: 3)
        #expect(again.train == split.train && again.validation == split.validation)
    }
}
