import Foundation

/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA
/// 2014; the constants of Vigna's `splitmix64.c`): a tiny seeded generator.
///
/// It lives here only so that dataset splits and shuffles are reproducible without a dependency
/// on `Tensors`; it is not meant for model initialisation or sampling, which use the `Tensors`
/// generator.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable, Codable {
    /// The generator's state; the next output is a function of it alone.
    public var state: UInt64

    /// Creates a generator.
    /// - Parameter seed: the initial state.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<upperBound`, by Lemire's multiply-shift with rejection, written
    /// out here so the result does not depend on the standard library's choice of method.
    /// - Parameter upperBound: the exclusive bound, positive.
    public mutating func nextIndex(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "upperBound must be positive")
        let bound = UInt64(upperBound)
        let threshold = (0 &- bound) % bound
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= threshold { return Int(product.high) }
        }
    }
}

/// Deterministic seeded shuffles and train/validation splits.
///
/// The same seed and the same input give the same order on every platform and Swift version,
/// because the shuffle (Fisher–Yates, from the last index down) and the generator
/// (``SplitMix64``) are both written out here.
public enum Split {
    /// A seeded shuffle of a collection.
    /// - Parameters:
    ///   - elements: the elements.
    ///   - seed: the generator seed.
    /// - Returns: the elements in shuffled order.
    public static func shuffled<Element>(_ elements: [Element], seed: UInt64) -> [Element] {
        var result = elements
        var generator = SplitMix64(seed: seed)
        var index = result.count - 1
        while index > 0 {
            let other = generator.nextIndex(below: index + 1)
            result.swapAt(index, other)
            index -= 1
        }
        return result
    }

    /// Shuffles with `seed`, then cuts into a training part and a validation part.
    ///
    /// The validation part holds `Int((Double(count) * validationFraction).rounded())` elements,
    /// taken from the front of the shuffled order; the training part holds the rest. The parts
    /// are disjoint and together hold every element once.
    /// - Parameters:
    ///   - elements: the elements.
    ///   - validationFraction: the share for validation, in `0...1`.
    ///   - seed: the shuffle seed.
    /// - Returns: the two parts.
    public static func trainValidation<Element>(_ elements: [Element], validationFraction: Double,
                                                seed: UInt64) -> (train: [Element], validation: [Element]) {
        precondition((0...1).contains(validationFraction), "validationFraction must be in 0...1")
        let order = shuffled(elements, seed: seed)
        let validationCount = min(order.count, Int((Double(order.count) * validationFraction).rounded()))
        return (Array(order[validationCount...]), Array(order[..<validationCount]))
    }
}
