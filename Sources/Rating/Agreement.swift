// Inter-rater agreement: Krippendorff's alpha, which takes any number of raters, items that not
// every rater judged, and a distance that fits the data (interval for scores, nominal for choices).
// Reference: K. Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011).

import Foundation

/// Krippendorff's alpha.
public enum KrippendorffAlpha {
    /// How far apart two values are.
    public enum Metric: String, Codable, Sendable {
        /// 0 when equal, 1 otherwise (categories such as a/b/tie).
        case nominal
        /// The squared difference (scores on a scale).
        case interval

        func distance(_ x: Double, _ y: Double) -> Double {
            switch self {
            case .nominal: return x == y ? 0 : 1
            case .interval: return (x - y) * (x - y)
            }
        }
    }

    /// α = 1 − D_o / D_e over the pairable values: units (items) with at least two values.
    ///
    /// D_o = (1/n) Σ_u Σ_{i≠j} δ(v_ui, v_uj) / (m_u − 1), the observed disagreement within units;
    /// D_e = (1/(n(n−1))) Σ_{c≠k} δ(v_c, v_k) over all n pairable values, the disagreement expected by chance.
    /// - Parameters:
    ///   - units: per unit, the values the raters gave it (one per rater who judged it).
    ///   - metric: the distance δ.
    /// - Returns: α (1 = perfect agreement, 0 = chance, below 0 = systematic disagreement), or nil
    ///   when fewer than two units are pairable or all pairable values are equal (D_e = 0).
    public static func alpha(units: [[Double]], metric: Metric) -> Double? {
        let pairable = units.filter { $0.count >= 2 }
        guard pairable.count >= 2 else { return nil }
        let n = Double(pairable.reduce(0) { $0 + $1.count })
        var observed = 0.0
        for values in pairable {
            var within = 0.0
            for i in values.indices { for j in values.indices where j != i { within += metric.distance(values[i], values[j]) } }
            observed += within / Double(values.count - 1)
        }
        observed /= n
        var counts: [Double: Double] = [:]
        for values in pairable { for value in values { counts[value, default: 0] += 1 } }
        var expected = 0.0
        for (c, nc) in counts { for (k, nk) in counts where k != c { expected += nc * nk * metric.distance(c, k) } }
        expected /= n * (n - 1)
        guard expected > 0 else { return nil }
        return 1 - observed / expected
    }

    /// The share of rater pairs on the same unit that gave the same value (0…1), or nil when no
    /// unit has two values.
    public static func pairwiseAgreement(units: [[Double]]) -> Double? {
        var agreeing = 0, pairs = 0
        for values in units where values.count >= 2 {
            for i in values.indices { for j in values.indices where j > i {
                pairs += 1
                if values[i] == values[j] { agreeing += 1 }
            } }
        }
        return pairs == 0 ? nil : Double(agreeing) / Double(pairs)
    }
}
