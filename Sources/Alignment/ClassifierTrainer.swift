// Fine-tuning encoder classifiers (BERT, MiniLM, RoBERTa) on labelled text: single-label (softmax
// cross-entropy) or multi-label (sigmoid, binary cross-entropy), on the shared training loop
// (checkpoints, exact resume, early stopping); evaluation by accuracy and per-label F1.

import Datasets
import Foundation
import Models
import NN
import Tensors
import Tokenizers

/// Classifier hyper-parameters: its own fields and the shared ``TrainingSchedule`` (HF Trainer's
/// 5e-5 learning rate, 10 % held out unless a validation file is given).
@dynamicMemberLookup
public struct ClassifierConfiguration: Equatable, Sendable, ScheduledConfiguration, FieldListSettings {
    /// Longest input in tokens, [CLS]/[SEP] included; longer texts keep their beginning.
    public var maxLength = 128
    /// Multi-label: a label is predicted when its probability is at least this.
    public var threshold: Float = 0.5
    /// Batching, steps, optimizer, evaluation, checkpoints, seed (also the new head's initialisation).
    public var training = TrainingSchedule(learningRate: 5e-5, validFraction: 0.1)

    /// The defaults.
    public init() {}

}

/// One tokenized example: ids with their markers, and label indices.
public struct ClassifierExample: Sendable, Equatable {
    /// [CLS] … [SEP] (or <s> … </s>).
    public var tokens: [Int]
    /// Indices into the classifier's labels (exactly one for single-label data).
    public var labels: [Int]

    /// An example.
    public init(tokens: [Int], labels: [Int]) {
        self.tokens = tokens
        self.labels = labels
    }
}

/// Accuracy and per-label precision, recall and F1 of predictions against targets.
public struct ClassificationMetrics: Sendable, Equatable {
    /// Label names, in output order.
    public var labels: [String]
    /// Per label.
    public var precision: [Double], recall: [Double], f1: [Double]
    /// True instances of each label.
    public var support: [Int]
    /// Single-label: top-1 accuracy; multi-label: the fraction of texts whose predicted label set
    /// is exactly right.
    public var accuracy: Double
    /// The unweighted mean of the per-label F1 (labels without instances or predictions count 0,
    /// as scikit-learn's default).
    public var macroF1: Double { f1.isEmpty ? 0 : f1.reduce(0, +) / Double(f1.count) }

    /// Scores `probabilities` (one row per text) against `targets` (label indices per text).
    /// Single-label predicts the arg-max; multi-label predicts every label with probability ≥
    /// `threshold` (and, when none reaches it, none).
    public init(probabilities: [[Float]], targets: [[Int]], labels: [String], multiLabel: Bool, threshold: Float = 0.5) {
        precondition(probabilities.count == targets.count, "ClassificationMetrics: \(probabilities.count) predictions for \(targets.count) targets")
        let K = labels.count
        var truePositive = [Int](repeating: 0, count: K), predicted = [Int](repeating: 0, count: K), actual = [Int](repeating: 0, count: K)
        var correct = 0
        for (row, target) in zip(probabilities, targets) {
            let chosen: Set<Int>
            if multiLabel {
                chosen = Set(row.indices.filter { row[$0] >= threshold })
            } else {
                var best = 0
                for k in row.indices where row[k] > row[best] { best = k }
                chosen = [best]
            }
            let truth = Set(target)
            if multiLabel ? chosen == truth : truth.contains(chosen.first!) { correct += 1 }
            for k in chosen { predicted[k] += 1 }
            for k in truth { actual[k] += 1 }
            for k in chosen.intersection(truth) { truePositive[k] += 1 }
        }
        self.labels = labels
        precision = (0..<K).map { predicted[$0] == 0 ? 0 : Double(truePositive[$0]) / Double(predicted[$0]) }
        recall = (0..<K).map { actual[$0] == 0 ? 0 : Double(truePositive[$0]) / Double(actual[$0]) }
        f1 = (0..<K).map { k in
            let denominator = predicted[k] + actual[k]
            return denominator == 0 ? 0 : 2 * Double(truePositive[k]) / Double(denominator)
        }
        support = actual
        accuracy = targets.isEmpty ? 0 : Double(correct) / Double(targets.count)
    }

    /// `prefix/accuracy`, `prefix/macro_f1` and `prefix/f1/<label>` for a metrics line.
    public func dictionary(prefix: String) -> [String: Double] {
        var result = ["\(prefix)/accuracy": accuracy, "\(prefix)/macro_f1": macroF1]
        for (label, value) in zip(labels, f1) { result["\(prefix)/f1/\(label)"] = value }
        return result
    }

    /// A JSON-ready report: accuracy, macro-F1, and per label precision, recall, F1 and support.
    public var report: [String: Any] {
        ["accuracy": accuracy, "macro_f1": macroF1,
         "labels": labels.indices.map { ["label": labels[$0], "precision": precision[$0], "recall": recall[$0], "f1": f1[$0], "support": support[$0]] as [String: Any] }]
    }
}

/// An encoder classifier as the training loop sees it (parameters, dropout stream, HF save).
final class TrainableEncoderClassifier: TrainableModel {
    let inner: any EncoderClassifier
    init(_ inner: any EncoderClassifier) { self.inner = inner }
    var source: RandomSource { inner.source }
    func namedParameters() -> [(name: String, tensor: Tensor)] { inner.namedParameters() }
    func save(to directory: URL, tokenizer: (any Tokenizer)?) throws { try inner.save(to: directory, tokenizer: tokenizer) }
}

/// Fine-tunes a ``TextClassifier`` in a run directory.
public final class ClassifierTrainer {
    /// The classifier being trained.
    public let classifier: TextClassifier
    /// Hyper-parameters.
    public let configuration: ClassifierConfiguration
    /// Sigmoid per label (binary cross-entropy) rather than one softmax.
    public let multiLabel: Bool
    /// Where checkpoints and metrics go.
    public let run: RunDirectory
    /// Training and held-out examples.
    public let train: [ClassifierExample], valid: [ClassifierExample]

    /// A trainer; with no `valid` examples, `valid_fraction` of `examples` is held out (seeded).
    /// - Throws: ``RunError`` for an empty part, a label index outside the head, or several labels
    ///   on a single-label classifier.
    public init(classifier: TextClassifier, examples: [ClassifierExample], valid: [ClassifierExample]? = nil,
                configuration: ClassifierConfiguration, run: RunDirectory, dataName: String = "data") throws {
        let K = classifier.labels.count
        let multiLabel = classifier.model.configuration.isMultiLabel
        for (index, example) in (examples + (valid ?? [])).enumerated() {
            guard !example.labels.isEmpty, example.labels.allSatisfy({ (0..<K).contains($0) }) else {
                throw RunError.invalidData(path: dataName, problem: "example \(index + 1) has label indices \(example.labels); the head has \(K) labels")
            }
            guard multiLabel || example.labels.count == 1 else {
                throw RunError.invalidData(path: dataName, problem: "example \(index + 1) has \(example.labels.count) labels but the classifier is single-label (problem_type single_label_classification)")
            }
            guard example.tokens.count >= 2, example.tokens.count <= classifier.model.configuration.maxTokens else {
                throw RunError.invalidData(path: dataName, problem: "example \(index + 1) has \(example.tokens.count) tokens; at most \(classifier.model.configuration.maxTokens) fit")
            }
        }
        if let valid {
            guard !examples.isEmpty else { throw RunError.emptyData(path: dataName, problem: "no training examples") }
            self.train = examples
            self.valid = valid
        } else {
            (self.train, self.valid) = try configuration.training.split(examples, dataName: dataName)
        }
        self.classifier = classifier
        self.configuration = configuration
        self.multiLabel = multiLabel
        self.run = run
    }

    /// Optimizer steps in the run.
    public var totalSteps: Int { configuration.training.totalSteps(examples: train.count) }

    /// A batch's mean loss and training accuracy.
    public func loss(_ batch: [ClassifierExample]) -> (loss: Tensor, metrics: [String: Double]) {
        let logits = classifier.model(classifier.input(batch.map(\.tokens)))
        let K = classifier.labels.count
        let scores = logits.scalars
        let rows = (0..<batch.count).map { Array(scores[($0 * K)..<(($0 + 1) * K)]) }
        // Logits ≥ logit(threshold) are probabilities ≥ threshold; the arg-max of logits is the softmax's.
        let metrics = ClassificationMetrics(probabilities: rows, targets: batch.map(\.labels), labels: classifier.labels,
                                            multiLabel: multiLabel, threshold: multiLabel ? logit(configuration.threshold) : 0)
        return (loss(logits: logits, batch: batch), ["train/accuracy": metrics.accuracy])
    }

    /// Binary cross-entropy per label (multi-label) or softmax cross-entropy, mean over the batch.
    func loss(logits: Tensor, batch: [ClassifierExample]) -> Tensor {
        let K = classifier.labels.count
        if multiLabel {
            var targets = [Float](repeating: 0, count: batch.count * K)
            for (row, example) in batch.enumerated() { for k in example.labels { targets[row * K + k] = 1 } }
            return multiLabelBinaryCrossEntropy(logits: logits, targets: targets)
        }
        return crossEntropy(logits, targets: IndexTensor(shape: [batch.count], values: batch.map { Int32($0.labels[0]) }))
    }

    /// Loss and metrics of `examples` in evaluation mode (names under `prefix`).
    public func evaluate(_ examples: [ClassifierExample], prefix: String) -> (metrics: [String: Double], details: ClassificationMetrics?) {
        guard !examples.isEmpty else { return ([:], nil) }
        let rows = classifier.logits(examples.map(\.tokens), batchSize: configuration.batchSize)
        let all = Tensor(shape: [examples.count, classifier.labels.count], values: rows.flatMap { $0 })
        let loss = withNoGrad { self.loss(logits: all, batch: examples) }.item
        let details = ClassificationMetrics(probabilities: classifier.probabilities(logits: rows), targets: examples.map(\.labels),
                                            labels: classifier.labels, multiLabel: multiLabel, threshold: configuration.threshold)
        var metrics = details.dictionary(prefix: prefix)
        metrics["\(prefix)/loss"] = Double(loss)
        return (metrics, details)
    }

    /// The micro-batches of the next step.
    func nextStep(_ state: inout TrainerState) -> [[ClassifierExample]] {
        configuration.training.nextMicroBatches(examples: train.count, salt: 0xC1A, state: &state).map { $0.map { train[$0] } }
    }

    /// Trains for ``totalSteps`` steps (or until early stopping on `valid/loss`), evaluating at
    /// step 0 first; each checkpoint is an HF classifier directory with the tokenizer.
    @discardableResult
    public func train(resume: Bool = false, progress: ((TrainingProgress) throws -> Void)? = nil) throws -> TrainerState {
        let loop = TrainingLoop<TrainingSchedule, [ClassifierExample]>(
            model: TrainableEncoderClassifier(classifier.model), settings: configuration.training, run: run,
            tokenizer: classifier.tokenizer, maxSteps: totalSteps)
        return try loop.train(resume: resume, evaluateAtStart: true, nextStep: nextStep, weight: \.count,
                              tokens: { $0.reduce(0) { $0 + $1.tokens.count } }, loss: loss,
                              evaluate: { self.evaluate(self.valid, prefix: "valid").metrics }, progress: progress)
    }
}

/// log(p / (1 − p)): the logit at which a sigmoid reaches p.
func logit(_ p: Float) -> Float { Foundation.log(p / (1 - p)) }

extension ClassifierConfiguration {
    public static var fields: [SettingField<ClassifierConfiguration>] { [
        .field("max_length", \.maxLength, "Longest input in tokens, [CLS]/[SEP] included; longer texts keep their beginning."),
        .field("threshold", \.threshold, "Multi-label: a label is predicted when its probability is at least this."),
        .embedded(\.training),
    ] }
}
