// The random stream that a model's dropout layers share.

import Tensors

/// A shared, mutable random generator: dropout layers of one model draw from the same stream,
/// which the trainer saves and restores with its state.
public final class RandomSource {
    /// The generator; read and replace it to save or restore the stream.
    public var generator: RandomGenerator

    /// A source seeded with `seed`.
    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }
}
