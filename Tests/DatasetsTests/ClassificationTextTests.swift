import Foundation
import Testing
import Datasets

@Suite("Classification texts")
struct ClassificationTextTests {
    @Test("GoEmotions TSV: the real dev split reads with emotions.txt's names, multi-label rows kept",
          .enabled(if: TestData.has("goemotions/dev.tsv") && TestData.has("goemotions/emotions.txt")))
    func goEmotions() throws {
        let names = try ClassificationText.readNames(TestData.file("goemotions/emotions.txt"))
        #expect(names.count == 28 && names.first == "admiration" && names.last == "neutral" && names[17] == "joy")
        let url = TestData.file("goemotions/dev.tsv")
        #expect(ClassificationText.isGoEmotionsTSV(url))
        let texts = try ClassificationText.readGoEmotions(url, names: names)
        #expect(texts.count == 5426)
        #expect(texts.filter { $0.labels.count > 1 }.count > 500)
        #expect(texts.allSatisfy { !$0.labels.isEmpty && $0.labels.allSatisfy(names.contains) })
    }

    @Test("records: one label (string or integer) or a list of labels")
    func records() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("c.jsonl", "{\"text\": \"yay\", \"label\": \"joy\"}\n{\"text\": \"hm\", \"label\": [\"joy\", 3]}\n")
        #expect(try ClassificationText.readRecords(file).records == [ClassificationText(text: "yay", labels: ["joy"]), ClassificationText(text: "hm", labels: ["joy", "3"])])
        #expect(!ClassificationText.isGoEmotionsTSV(file))
        let plural = directory.write("p.jsonl", "{\"text\": \"yay\", \"labels\": [\"joy\", \"love\"]}\n")
        #expect(try ClassificationText.readRecords(plural).records == [ClassificationText(text: "yay", labels: ["joy", "love"])])
        let bad = directory.write("b.jsonl", "{\"text\": \"yay\", \"label\": [\"joy\", 1.5]}\n")
        let error = expectDatasetError { _ = try ClassificationText.readRecords(bad) }
        #expect(error?.line == 1 && error?.field == "label[1]")
    }

    @Test("bad GoEmotions rows name the file and line: an id outside the names, a row without three fields")
    func badRows() {
        let directory = TemporaryDirectory()
        let file = directory.write("g.tsv", "fine\t0,1\tid1\nbad\t0,7\tid2\n")
        let error = expectDatasetError { _ = try ClassificationText.readGoEmotions(file, names: ["a", "b"]) }
        #expect(error?.line == 2 && error?.field == "labels" && error?.message.contains("'7' is not a label id in 0..<2") == true)
        let short = directory.write("s.tsv", "fine\t0\tid1\nno tabs here\n")
        let shortError = expectDatasetError { _ = try ClassificationText.readGoEmotions(short, names: ["a"]) }
        #expect(shortError?.line == 2 && shortError?.message.contains("expected 3 tab-separated fields") == true)
        let names = directory.write("n.txt", "a\nb\na\n")
        #expect(expectDatasetError { _ = try ClassificationText.readNames(names) }?.line == 3)
    }
}
