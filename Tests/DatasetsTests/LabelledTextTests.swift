import Foundation
import Testing
import Datasets

@Suite("Labelled text and best-of-N")
struct LabelledTextTests {
    @Test("labels may be strings or integers")
    func labelTypes() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("l.jsonl", "{\"text\": \"good\", \"label\": 1}\n{\"text\": \"meh\", \"label\": \"neutral\"}\n")
        #expect(try LabelledText.read(file).records == [LabelledText(text: "good", label: "1"), LabelledText(text: "meh", label: "neutral")])
    }

    @Test("a non-integer or boolean label is a wrong-type error naming the field", arguments: ["1.5", "true", "[1]"])
    func badLabel(value: String) {
        let directory = TemporaryDirectory()
        let file = directory.write("l.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": \(value)}\n")
        let error = expectDatasetError { _ = try LabelledText.read(file) }
        #expect(error?.line == 2)
        #expect(error?.field == "label")
        #expect(error?.message.hasPrefix("expected a string or an integer") == true)
    }

    @Test("field names are configurable, and a CSV needs its columns")
    func fieldNames() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("s.jsonl", "{\"sample\": \"joy\", \"sentiment\": \"happy\"}\n")
        #expect(try LabelledText.read(file, textField: "sample", labelField: "sentiment").records == [LabelledText(text: "joy", label: "happy")])
        let error = expectDatasetError { _ = try LabelledText.read(file) }
        #expect(error?.field == "text")
        let csv = directory.write("s.csv", "sample,sentiment\njoy,happy\n")
        let csvError = expectDatasetError { _ = try LabelledText.read(csv, labelField: "sentiment") }
        #expect(csvError?.field == "text")
        #expect(csvError?.line == 1)
    }

    @Test("label-to-reward map: rewards by label, unknown labels named")
    func rewardMap() throws {
        let map = LabelRewardMap.binary(positive: "happy", negative: "sad")
        let examples = [LabelledText(text: "a", label: "sad"), LabelledText(text: "b", label: "happy")]
        #expect(try map.rewards(for: examples) == [-1, 1])
        #expect(map["happy"] == 1)
        let error = expectDatasetError { _ = try map.rewards(for: examples + [LabelledText(text: "c", label: "angry")]) }
        #expect(error?.element == 3)
        #expect(error?.message.contains("'angry'") == true)
    }

    @Test("real Shakespeare sentiment with field-name mapping", .enabled(if: TestData.has(TestData.shakespeareSentiment)))
    func realShakespeare() throws {
        let report = try LabelledText.read(TestData.file(TestData.shakespeareSentiment), textField: "sample", labelField: "sentiment")
        #expect(report.records.count == 268)
        #expect(report.records.filter { $0.label == "happy" }.count == 136)
        #expect(LabelledText.labels(in: report.records) == ["happy", "sad"])
        let rewards = try LabelRewardMap(["happy": 1, "sad": 0]).rewards(for: report.records)
        #expect(rewards.reduce(0, +) == 136)
    }

    @Test("real UCI sentences with integer labels", .enabled(if: TestData.has(TestData.sentences)))
    func realSentences() throws {
        let report = try LabelledText.read(TestData.file(TestData.sentences))
        #expect(report.records.count == 3000)
        #expect(report.records.filter { $0.label == "1" }.count == 1500)
        #expect(LabelledText.labels(in: report.records) == ["0", "1"])
    }

    @Test("best-of-N reads query, samples and best, and gives N-1 pairs")
    func bestOfN() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("b.jsonl", #"{"query": "Once", "samples": ["a", "b", "c", "d"], "best": 2}"# + "\n")
        let label = try #require(try BestOfN.read(file).records.first)
        #expect(label.bestSample == "c")
        #expect(label.otherSamples == ["a", "b", "d"])
        #expect(label.preferencePairs.map(\.rejected) == ["a", "b", "d"])
        #expect(label.preferencePairs.allSatisfy { $0.chosen == "c" && $0.prompt == "Once" })
    }

    @Test("best out of range is an error naming 'best'", arguments: ["4", "-1"])
    func bestOutOfRange(best: String) {
        let directory = TemporaryDirectory()
        let file = directory.write("b.jsonl", #"{"query": "Once", "samples": ["a", "b", "c", "d"], "best": "# + best + "}\n")
        let error = expectDatasetError { _ = try BestOfN.read(file) }
        #expect(error?.description == "\(file.path):1: field 'best': index \(best) is out of range for 4 samples (expected 0...3)")
        #expect(throws: DatasetError.self) { try BestOfN(query: "q", samples: ["a"], best: 1) }
    }

    @Test("a non-string sample names its index")
    func badSample() {
        let directory = TemporaryDirectory()
        let file = directory.write("b.jsonl", #"{"query": "Once", "samples": ["a", 3], "best": 0}"# + "\n")
        let error = expectDatasetError { _ = try BestOfN.read(file) }
        #expect(error?.field == "samples[1]")
    }
}
