// The project's one pseudo-random generator: xoshiro256** (Blackman & Vigna, "Scrambled Linear
// Pseudorandom Number Generators", 2018), seeded through SplitMix64 as its authors recommend.
// Every random draw in a run (initialization, dropout, shuffling, sampling) comes from one of
// these, so a run with the same seed repeats bit for bit on the same machine and thread count.

import Foundation
import Kernels

/// xoshiro256** seeded by SplitMix64: fast, 256 bits of state, period 2²⁵⁶ − 1.
///
/// The state is four `UInt64`s and is `Codable`, so trainers save it in `trainer_state.json`
/// and a resumed run draws exactly the numbers an uninterrupted one would.
public struct RandomGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The four state words (never all zero).
    public var state: [UInt64] { [s0, s1, s2, s3] }

    private enum CodingKeys: String, CodingKey { case state }

    /// Decodes `{"state": [four words]}`.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(state: container.decode([UInt64].self, forKey: .state))
    }

    /// Encodes `{"state": [four words]}`.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(state, forKey: .state)
    }

    /// Seeds the state from `seed` with SplitMix64 (any seed, zero included, is valid).
    public init(seed: UInt64) {
        var s = seed
        var words: [UInt64] = []
        for _ in 0..<4 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    }

    /// Restores a saved state; it must be four words, not all zero.
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw RandomGeneratorError.invalidState(state)
        }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform integer in 0..<upperBound (unbiased).
    public mutating func nextInt(below upperBound: Int) -> Int {
        require(upperBound > 0, "nextInt(below:): upper bound \(upperBound) must be positive")
        return Int.random(in: 0..<upperBound, using: &self)
    }

    /// Fills `buffer` with N(mean, std²) samples (Box–Muller, both outputs of each pair used).
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Float = 0, standardDeviation: Float = 1) {
        var i = 0
        while i < buffer.count {
            let u1 = 1 - nextDouble()  // (0, 1]
            let u2 = nextDouble()
            let radius = (-2 * Foundation.log(u1)).squareRoot()
            let angle = 2 * Double.pi * u2
            buffer[i] = mean + standardDeviation * Float(radius * Foundation.cos(angle))
            if i + 1 < buffer.count { buffer[i + 1] = mean + standardDeviation * Float(radius * Foundation.sin(angle)) }
            i += 2
        }
    }

    /// One N(0, 1) sample.
    public mutating func nextNormal() -> Float {
        var value: Float = 0
        withUnsafeMutablePointer(to: &value) { fillNormal(UnsafeMutableBufferPointer(start: $0, count: 1)) }
        return value
    }

    /// Shuffles `array` in place (Fisher–Yates with this generator).
    public mutating func shuffle<T>(_ array: inout [T]) {
        array.shuffle(using: &self)
    }

    /// A new generator whose stream is independent of this one's (seeded from the next draw).
    public mutating func split() -> RandomGenerator {
        RandomGenerator(seed: next())
    }
}

/// A saved generator state that cannot be restored.
public enum RandomGeneratorError: Error, CustomStringConvertible {
    /// The state was not four words, or was all zero.
    case invalidState([UInt64])

    public var description: String {
        switch self {
        case .invalidState(let words):
            return "random generator state must be 4 unsigned 64-bit words, not all zero; got \(words)"
        }
    }
}

@inline(__always)
private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
