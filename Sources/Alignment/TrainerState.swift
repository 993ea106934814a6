// trainer_state.json: everything besides weights and optimizer moments that a resumed run needs
// to continue exactly where the interrupted one stopped.

import Foundation
import Tensors

/// The state saved beside each checkpoint (`trainer_state.json`).
public struct TrainerState: Codable, Equatable, Sendable {
    /// The file name inside a checkpoint folder.
    public static let fileName = "trainer_state.json"

    /// Optimizer updates completed.
    public var step: Int
    /// Passes over the training data completed.
    public var epoch: Int
    /// Position in the current pass (examples or windows consumed).
    public var dataPosition: Int
    /// The trainer's random stream (batch sampling, shuffles) after `step`.
    public var generator: RandomGenerator
    /// The model's dropout stream after `step`.
    public var dropoutGenerator: RandomGenerator?
    /// The adaptive KL coefficient (PPO), when there is one.
    public var klCoefficient: Double?
    /// The best validation loss so far and its step (early stopping).
    public var bestValidLoss: Double?
    /// The step of `bestValidLoss`.
    public var bestStep: Int?
    /// Evaluations in a row without improvement (early stopping's patience counter).
    public var evaluationsWithoutImprovement: Int
    /// PPO's running score moments for `scale_reward: running` (saved as [count, mean, sum of squared deviations]).
    public var scoreMoments: RunningMoments?
    /// PPO: response tokens sampled so far (`elapsed/steps/total`) and seconds spent so far
    /// (`elapsed/time`), carried across resumes.
    public var generatedTokens: Int?
    public var elapsedSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case step, epoch, dataPosition = "data_position", generator = "rng_state"
        case dropoutGenerator = "dropout_rng_state", klCoefficient = "kl_coefficient"
        case bestValidLoss = "best_valid_loss", bestStep = "best_step"
        case evaluationsWithoutImprovement = "evaluations_without_improvement", scoreMoments = "score_moments"
        case generatedTokens = "generated_tokens", elapsedSeconds = "elapsed_seconds"
    }

    /// A state at step 0.
    public init(step: Int = 0, epoch: Int = 0, dataPosition: Int = 0, generator: RandomGenerator,
                dropoutGenerator: RandomGenerator? = nil, klCoefficient: Double? = nil,
                bestValidLoss: Double? = nil, bestStep: Int? = nil, evaluationsWithoutImprovement: Int = 0) {
        self.step = step
        self.epoch = epoch
        self.dataPosition = dataPosition
        self.generator = generator
        self.dropoutGenerator = dropoutGenerator
        self.klCoefficient = klCoefficient
        self.bestValidLoss = bestValidLoss
        self.bestStep = bestStep
        self.evaluationsWithoutImprovement = evaluationsWithoutImprovement
    }

    /// Writes `trainer_state.json` into `folder`.
    public func save(in folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }

    /// Reads `trainer_state.json` from a checkpoint folder; errors name the file and the field.
    public static func load(from folder: URL) throws -> TrainerState {
        let url = folder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw RunError.missingFile(path: url.path, expected: "is this a checkpoint folder?")
        }
        do {
            return try JSONDecoder().decode(TrainerState.self, from: data)
        } catch let error as DecodingError {
            switch error {
            case let .keyNotFound(key, _): throw RunError.invalidData(path: url.path, problem: "missing field '\(key.stringValue)'")
            case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
                let field = context.codingPath.map(\.stringValue).joined(separator: ".")
                throw RunError.invalidData(path: url.path, problem: "field '\(field)': \(context.debugDescription)")
            @unknown default: throw RunError.invalidData(path: url.path, problem: "\(error)")
            }
        }
    }
}
