// T5's span-corruption objective (Raffel et al. 2020, §3.1.4; `t5.data.preprocessors.span_corruption`
// and transformers' run_t5_mlm_flax.py): about `noiseDensity` of a window's tokens, in spans of mean
// length `meanNoiseSpanLength`, are cut out; the source keeps the rest with one sentinel per cut
// span, and the target lists each sentinel followed by the tokens it replaced. Both end with </s>.
//
//   window  a b c d e f g h i j
//   source  a b <extra_id_0> e f g <extra_id_1> j </s>      (c d and h i are noise)
//   target  <extra_id_0> c d <extra_id_1> h i </s>

import Foundation
import Tensors

/// T5's span corruption of token windows.
public struct SpanCorruption: Sendable, Equatable {
    /// Fraction of each window's tokens that are noise (T5: 0.15).
    public var noiseDensity: Double
    /// Mean length of a noise span (T5: 3).
    public var meanNoiseSpanLength: Double
    /// The sentinel ids in order (`<extra_id_0>`, `<extra_id_1>`, …).
    public var sentinels: [Int32]
    /// Appended to source and target (`</s>`).
    public var endOfSequence: Int32

    /// A corruption; `sentinels` must cover the spans a window can have (``spanCount(length:)``).
    public init(noiseDensity: Double = 0.15, meanNoiseSpanLength: Double = 3, sentinels: [Int32], endOfSequence: Int32) {
        self.noiseDensity = noiseDensity
        self.meanNoiseSpanLength = meanNoiseSpanLength
        self.sentinels = sentinels
        self.endOfSequence = endOfSequence
    }

    /// Noise tokens in a window of `length` (T5: round(length · density), at least 1, at most length − 1).
    public func noiseCount(length: Int) -> Int {
        min(max(Int((Double(length) * noiseDensity).rounded()), 1), length - 1)
    }

    /// Noise spans in a window of `length` (T5: round(noise / mean span), at least 1).
    public func spanCount(length: Int) -> Int {
        max(Int((Double(noiseCount(length: length)) / meanNoiseSpanLength).rounded()), 1)
    }

    /// Source and target lengths for windows of `length` (the same for every window).
    public func lengths(window length: Int) -> (source: Int, target: Int) {
        let noise = noiseCount(length: length), spans = spanCount(length: length)
        return (length - noise + spans + 1, noise + spans + 1)
    }

    /// T5's `random_spans_noise_mask`: true at noise positions; spans alternate, starting with a
    /// non-noise span and ending with a noise span, the lengths of each kind a random segmentation.
    public func noiseMask(length: Int, generator: inout RandomGenerator) -> [Bool] {
        let noise = noiseCount(length: length), spans = spanCount(length: length)
        let noiseLengths = Self.segmentation(items: noise, segments: spans, generator: &generator)
        let keptLengths = Self.segmentation(items: length - noise, segments: spans, generator: &generator)
        var mask: [Bool] = []
        mask.reserveCapacity(length)
        for (kept, cut) in zip(keptLengths, noiseLengths) {
            mask += Array(repeating: false, count: kept)
            mask += Array(repeating: true, count: cut)
        }
        return mask
    }

    /// `items` split into `segments` non-empty runs at random (T5's `_random_segmentation`):
    /// segments − 1 of the items − 1 gaps, chosen by a shuffle, start a new run.
    static func segmentation(items: Int, segments: Int, generator: inout RandomGenerator) -> [Int] {
        precondition(segments >= 1 && items >= segments, "segmentation: \(items) items cannot make \(segments) non-empty segments")
        var starts = (0..<(items - 1)).map { $0 < segments - 1 }
        generator.shuffle(&starts)
        var lengths: [Int] = [1]
        for start in starts {
            if start { lengths.append(1) } else { lengths[lengths.count - 1] += 1 }
        }
        return lengths
    }

    /// The source and target of one window.
    /// - Throws: ``RunError`` when the window needs more sentinels than there are.
    public func corrupt(_ window: [Int32], generator: inout RandomGenerator) throws -> (source: [Int32], target: [Int32]) {
        guard window.count >= 2 else {
            throw RunError.invalidSetting(field: "block_size", source: "config", problem: "is \(window.count); span corruption needs windows of at least 2 tokens")
        }
        let spans = spanCount(length: window.count)
        guard window.count - noiseCount(length: window.count) >= spans else {
            throw RunError.invalidSetting(field: "noise_density", source: "config",
                                          problem: "leaves \(window.count - noiseCount(length: window.count)) kept tokens in a \(window.count)-token window, fewer than its \(spans) noise spans need between them; lower noise_density or raise mean_noise_span_length")
        }
        guard spans <= sentinels.count else {
            throw RunError.invalidSetting(field: "block_size", source: "config",
                                          problem: "windows of \(window.count) tokens have \(spans) noise spans, but the tokenizer has \(sentinels.count) sentinels (<extra_id_N>); use a smaller block_size")
        }
        let mask = noiseMask(length: window.count, generator: &generator)
        var source: [Int32] = [], target: [Int32] = []
        var span = -1
        for (index, token) in window.enumerated() {
            if mask[index] {
                if index == 0 || !mask[index - 1] {
                    span += 1
                    source.append(sentinels[span])
                    target.append(sentinels[span])
                }
                target.append(token)
            } else {
                source.append(token)
            }
        }
        return (source + [endOfSequence], target + [endOfSequence])
    }
}
