// Encoder classifiers: multi-label and single-label heads overfit a tiny batch, resume is exact,
// the metrics are right by hand, and a MiniLM fine-tuned on real GoEmotions texts makes a joy
// reward that ranks happy sentences above angry ones.

import Datasets
import Foundation
import Alignment
import Models
import NN
import Tensors
import Testing
import Tokenizers

let encoderFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("ModelsTests/Fixtures")

/// Settings for tiny runs: constant learning rate, everything trained on, no evaluation.
func classifierConfiguration(steps: Int, learningRate: Float = 3e-3, batchSize: Int = 8) -> ClassifierConfiguration {
    var configuration = ClassifierConfiguration()
    configuration.maxLength = 32
    configuration.batchSize = batchSize
    configuration.maxSteps = steps
    configuration.learningRate = learningRate
    configuration.schedule = .constant
    configuration.validFraction = 0
    configuration.evalInterval = 0
    configuration.logInterval = 1
    configuration.checkpointInterval = 1000
    return configuration
}

/// A fresh classifier on a fixture's encoder with new labels.
func fixtureClassifier(_ name: String, labels: [String], multiLabel: Bool) throws -> TextClassifier {
    let directory = encoderFixtures.appendingPathComponent(name)
    let model = try makeEncoderClassifier(fromEncoder: directory, labels: labels,
                                          problemType: multiLabel ? "multi_label_classification" : "single_label_classification", seed: 3)
    return try TextClassifier(model: model, tokenizer: try loadTokenizer(from: directory))
}

let shakespeareLines = ["the people are noble", "what say you my lord", "i will not speak", "the king is dead",
                        "o romeo romeo", "good night sweet prince", "to be or not to be", "all the world is a stage"]

@Suite("Classifier trainer")
struct ClassifierTrainerTests {
    @Test("multi-label (BERT, sigmoid + BCE) and single-label (RoBERTa, softmax) heads overfit 8 texts", arguments: [true, false])
    func overfit(multiLabel: Bool) throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let labels = ["a", "b", "c"]
        let classifier = try fixtureClassifier(multiLabel ? "bert-tiny-classifier" : "roberta-tiny-classifier", labels: labels, multiLabel: multiLabel)
        let targets: [[Int]] = multiLabel ? [[0], [1, 2], [2], [0, 1], [1], [0, 2], [2], [0, 1, 2]] : [[0], [1], [2], [0], [1], [2], [0], [1]]
        let examples = try zip(shakespeareLines, targets).map { ClassifierExample(tokens: try classifier.encode($0), labels: $1) }
        let trainer = try ClassifierTrainer(classifier: classifier, examples: examples, configuration: classifierConfiguration(steps: 80), run: run)
        let before = trainer.evaluate(examples, prefix: "train").metrics
        try trainer.train()
        let after = trainer.evaluate(examples, prefix: "train").metrics
        #expect(after["train/accuracy"] == 1.0, "accuracy \(after["train/accuracy"] ?? -1)")
        #expect(after["train/macro_f1"] == 1.0)
        #expect(after["train/loss"]! < 0.1 && after["train/loss"]! < before["train/loss"]! / 5)
        // The final checkpoint is a transformers classifier directory that reloads with the same outputs.
        let reloaded = try TextClassifier.load(from: run.finalURL)
        #expect(reloaded.labels == labels && reloaded.model.configuration.isMultiLabel == multiLabel)
        #expect(try reloaded.probabilities(shakespeareLines) == classifier.probabilities(shakespeareLines))
        let lines = try MetricsLog.read(run.metricsURL)
        #expect(lines.last?["train/accuracy"] != nil)
    }

    @Test("resume after a crash continues exactly (weights, optimizer, data order, dropout stream)")
    func resume() throws {
        let labels = ["a", "b"]
        func make() throws -> (TextClassifier, [ClassifierExample]) {
            let classifier = try fixtureClassifier("bert-tiny-classifier", labels: labels, multiLabel: false)
            let examples = try shakespeareLines.enumerated().map { ClassifierExample(tokens: try classifier.encode($1), labels: [$0 % 2]) }
            return (classifier, examples)
        }
        var configuration = classifierConfiguration(steps: 6, learningRate: 1e-3, batchSize: 3)
        configuration.checkpointInterval = 3
        let straight = try temporaryRun(), interrupted = try temporaryRun()
        defer { for run in [straight, interrupted] { try? FileManager.default.removeItem(at: run.root) } }
        let (a, examples) = try make()
        a.model.setTraining(true)
        try ClassifierTrainer(classifier: a, examples: examples, configuration: configuration, run: straight).train()
        var shorter = configuration
        shorter.maxSteps = 3
        let (b, _) = try make()
        try ClassifierTrainer(classifier: b, examples: examples, configuration: shorter, run: interrupted).train()
        let (c, _) = try make()
        try ClassifierTrainer(classifier: c, examples: examples, configuration: configuration, run: interrupted).train(resume: true)
        #expect(a.model.namedParameters().map(\.tensor.scalars) == c.model.namedParameters().map(\.tensor.scalars))
        #expect(a.model.namedParameters().map(\.tensor.scalars) != b.model.namedParameters().map(\.tensor.scalars))
    }

    @Test("metrics by hand: single-label accuracy and per-label F1; multi-label exact match with a threshold")
    func metrics() {
        // Predictions 0, 1, 1, 2 against 0, 1, 2, 2: label 0 F1 1, label 1 P 1/2 R 1 → 2/3, label 2 P 1 R 1/2 → 2/3.
        let single = ClassificationMetrics(probabilities: [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.5, 0.4], [0, 0.2, 0.8]],
                                           targets: [[0], [1], [2], [2]], labels: ["x", "y", "z"], multiLabel: false)
        #expect(single.accuracy == 0.75)
        #expect(single.f1.map { ($0 * 1e6).rounded() / 1e6 } == [1, 0.666667, 0.666667])
        #expect(abs(single.macroF1 - 7.0 / 9.0) < 1e-12)
        #expect(single.dictionary(prefix: "valid")["valid/f1/y"] == single.f1[1])
        // Multi-label at 0.5: row 1 predicts {0, 1} (right), row 2 predicts {} (target {1}).
        let multi = ClassificationMetrics(probabilities: [[0.9, 0.6], [0.4, 0.3]], targets: [[0, 1], [1]], labels: ["p", "q"], multiLabel: true)
        #expect(multi.accuracy == 0.5)
        #expect(multi.f1 == [1, 2.0 / 3.0] && multi.support == [1, 2] && multi.recall == [1, 0.5])
        let lower = ClassificationMetrics(probabilities: [[0.9, 0.6], [0.4, 0.3]], targets: [[0, 1], [1]], labels: ["p", "q"], multiLabel: true, threshold: 0.25)
        #expect(lower.recall == [1, 1] && lower.precision == [0.5, 1])
    }

    @Test("a new head's bias starts at the labels' prior log-odds (multi-label) or log-frequencies (single-label)")
    func priorBias() throws {
        let multi = try fixtureClassifier("bert-tiny-classifier", labels: ["a", "b", "c"], multiLabel: true)
        multi.model.initializeOutputBias(counts: [1, 4, 0], total: 8)
        // log(1/7), log(1) = 0, and an unseen label as half a text: log(0.0625 / 0.9375).
        let expected: [Float] = [log(1.0 / 7.0), 0, log(0.0625 / 0.9375)]
        for (a, b) in zip(multi.model.outputBias.scalars, expected) { #expect(abs(a - b) < 1e-6) }
        let single = try fixtureClassifier("roberta-tiny-classifier", labels: ["x", "y"], multiLabel: false)
        single.model.initializeOutputBias(counts: [3, 1], total: 4)
        #expect(abs(single.model.outputBias.scalars[0] - log(0.75)) < 1e-6 && abs(single.model.outputBias.scalars[1] - log(0.25)) < 1e-6)
    }

    @Test("bad examples are errors naming the data: unknown label index, several labels on a single-label head")
    func badExamples() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let classifier = try fixtureClassifier("bert-tiny-classifier", labels: ["a", "b"], multiLabel: false)
        let tokens = try classifier.encode("the king")
        #expect(throws: RunError.invalidData(path: "data", problem: "example 1 has label indices [2]; the head has 2 labels")) {
            try ClassifierTrainer(classifier: classifier, examples: [ClassifierExample(tokens: tokens, labels: [2])], configuration: classifierConfiguration(steps: 1), run: run)
        }
        #expect(throws: RunError.invalidData(path: "texts.jsonl",
                                             problem: "example 1 has 2 labels but the classifier is single-label (problem_type single_label_classification)")) {
            try ClassifierTrainer(classifier: classifier, examples: [ClassifierExample(tokens: tokens, labels: [0, 1])],
                                  configuration: classifierConfiguration(steps: 1), run: run, dataName: "texts.jsonl")
        }
    }

    @Test("MiniLM fine-tuned on real GoEmotions joy/anger texts: P(joy) ranks \"I'm very happy\" above \"I'm so angry\"",
          .enabled(if: FileManager.default.fileExists(atPath: sharedData("minilm/model.safetensors").path)
                   && FileManager.default.fileExists(atPath: sharedData("goemotions/train.tsv").path)))
    func joyReward() throws {
        let names = try ClassificationText.readNames(sharedData("goemotions/emotions.txt"))
        let texts = try ClassificationText.readGoEmotions(sharedData("goemotions/train.tsv"), names: names)
        // Texts labelled only joy or only anger, balanced: 120 of each.
        let joy = texts.filter { $0.labels == ["joy"] }.prefix(120), anger = texts.filter { $0.labels == ["anger"] }.prefix(120)
        #expect(joy.count == 120 && anger.count == 120)
        let model = try makeEncoderClassifier(fromEncoder: sharedData("minilm"), labels: ["anger", "joy"], problemType: "single_label_classification", seed: 1)
        let classifier = try TextClassifier(model: model, tokenizer: try loadTokenizer(from: sharedData("minilm")), maxLength: 48)
        let examples = try (Array(joy) + Array(anger)).map { ClassifierExample(tokens: try classifier.encode($0.text), labels: [$0.labels == ["joy"] ? 1 : 0]) }
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var configuration = classifierConfiguration(steps: 24, learningRate: 1e-4, batchSize: 16)
        configuration.validFraction = 0.1
        configuration.evalInterval = 24
        try ClassifierTrainer(classifier: classifier, examples: examples, configuration: configuration, run: run).train()
        let validation = try #require(try MetricsLog.read(run.metricsURL).last?["valid/accuracy"] as? Double)
        #expect(validation >= 0.8, "held-out accuracy \(validation)")
        let reward = try EncoderLabelReward(checkpoint: run.finalURL, label: "joy", includePrompt: false, batchSize: 4)
        let scores = try reward.rewards(prompts: ["", "", "", ""], responses: ["I'm very happy", "I'm so angry", "What a wonderful day, I love it!", "This makes me furious."])
        #expect(scores[0] > scores[1] && scores[2] > scores[3], "P(joy): \(scores)")
        #expect(scores.allSatisfy { $0 >= 0 && $0 <= 1 })
        // The reward spec form used by PPO jobs finds the same classifier by label name.
        let fromSpec = try RewardSpecification.make("classifier:\(run.finalURL.path):joy")
        #expect(try fromSpec.rewards(prompts: [""], responses: ["I'm very happy"]) == [scores[0]])
        #expect(throws: RunError.self) { try EncoderLabelReward(checkpoint: run.finalURL, label: "surprise") }
    }
}
