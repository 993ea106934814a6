// Welford's running moments of every score seen so far: lm-human-preferences' and trlX's running
// reward scale (`scale_reward: running` divides each score by the running standard deviation).

/// The count, mean and sum of squared deviations of the values seen so far, updated one value
/// at a time (Welford), so that batches of any size give the moments of all values together.
/// Saved in a checkpoint's trainer state as `[count, mean, squared deviations]`.
public struct RunningMoments: Codable, Equatable, Sendable {
    /// How many values.
    public private(set) var count: Double = 0
    /// Their mean.
    public private(set) var mean: Double = 0
    /// Σ (x − mean)² over them.
    public private(set) var squaredDeviations: Double = 0

    /// No values yet.
    public init() {}

    /// Adds `values`.
    public mutating func update(_ values: [Float]) {
        for value in values.map(Double.init) {
            count += 1
            let delta = value - mean
            mean += delta / count
            squaredDeviations += delta * (value - mean)
        }
    }

    /// The population standard deviation, √(Σ (x − mean)² / n); 1 before there are two values.
    public var standardDeviation: Double { count > 1 ? (squaredDeviations / count).squareRoot() : 1 }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        count = try container.decode(Double.self)
        mean = try container.decode(Double.self)
        squaredDeviations = try container.decode(Double.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(count)
        try container.encode(mean)
        try container.encode(squaredDeviations)
    }
}
