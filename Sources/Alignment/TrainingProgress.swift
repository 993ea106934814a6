// What a training loop reports after each step.

import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// One step's report to a progress display (timing is never written to metrics.jsonl, so that a
/// resumed run's metrics equal an uninterrupted run's).
public struct TrainingProgress: Sendable {
    /// The step just finished, and the last one.
    public var step: Int, maxSteps: Int
    /// Mean training loss of the step's micro-batches.
    public var loss: Float
    /// Validation loss when this step evaluated.
    public var validLoss: Float?
    /// Training tokens per second over the step.
    public var tokensPerSecond: Double
}
