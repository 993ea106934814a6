import Foundation
import Testing
import Datasets

@Suite("Preference pairs")
struct PreferencePairTests {
    @Test("{prompt, chosen, rejected} is taken as is")
    func explicitPrompt() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("p.jsonl", #"{"prompt": "Q", "chosen": " good", "rejected": " bad"}"# + "\n")
        #expect(try PreferencePair.read(file).records == [PreferencePair(prompt: "Q", chosen: " good", rejected: " bad")])
    }

    @Test("HH {chosen, rejected}: the shared prefix through the last assistant marker is the prompt")
    func anthropic() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("hh.jsonl", #"{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello.", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away."}"# + "\n")
        let pair = try #require(try PreferencePair.read(file).records.first)
        #expect(pair == PreferencePair(prompt: "\n\nHuman: Hi\n\nAssistant:", chosen: " Hello.", rejected: " Go away."))
    }

    @Test("HH dialogues that differ before the last turn are an error on 'rejected', or skipped and counted")
    func anthropicDifferentPrompts() throws {
        let directory = TemporaryDirectory()
        let good = #"{"chosen": "\n\nHuman: A\n\nAssistant: x", "rejected": "\n\nHuman: A\n\nAssistant: y"}"#
        let bad = #"{"chosen": "\n\nHuman: A\n\nAssistant: x\n\nHuman: B\n\nAssistant: z", "rejected": "\n\nHuman: A\n\nAssistant: y"}"#
        let file = directory.write("hh.jsonl", [good, bad, good].joined(separator: "\n"))
        let error = expectDatasetError { _ = try PreferencePair.read(file) }
        #expect(error?.line == 2)
        #expect(error?.field == "rejected")
        let report = try PreferencePair.read(file, skipBadRecords: true)
        #expect(report.records.count == 2)
        #expect(report.skipped.map(\.line) == [2])
    }

    @Test("a dialogue without an assistant turn names its field")
    func noAssistant() {
        let directory = TemporaryDirectory()
        let file = directory.write("hh.jsonl", #"{"chosen": "\n\nHuman: A\n\nAssistant: x", "rejected": "\n\nHuman: A"}"# + "\n")
        let error = expectDatasetError { _ = try PreferencePair.read(file) }
        #expect(error?.field == "rejected")
    }

    @Test("an unknown preference shape lists the accepted key sets")
    func unknownShape() {
        let directory = TemporaryDirectory()
        let file = directory.write("u.jsonl", #"{"prompt": "Q", "good": "a", "bad": "b"}"# + "\n")
        let error = expectDatasetError { _ = try PreferencePair.read(file) }
        #expect(error?.message.contains(#"{"prompt","chosen","rejected"}"#) == true)
        #expect(error?.message.contains(#"{"chosen","rejected"} (Anthropic HH)"#) == true)
    }

    @Test("real HH pairs: the first 50 rebuild both dialogues from the shared prompt",
          .enabled(if: TestData.has(TestData.hh)))
    func realAnthropic() throws {
        let file = TestData.file(TestData.hh)
        let raw = try JSONLines.read(file).records.prefix(50)
        let pairs = try PreferencePair.read(file, skipBadRecords: true)
        for (pair, record) in zip(pairs.records.prefix(50), raw) {
            #expect(pair.prompt.hasSuffix("\n\nAssistant:"))
            #expect(pair.prompt + pair.chosen == (try record.string("chosen")))
            #expect(pair.prompt + pair.rejected == (try record.string("rejected")))
            #expect(!pair.chosen.isEmpty || !pair.rejected.isEmpty)
        }
    }

    @Test("real HH file: exactly the 5 pairs without a shared prompt are skipped",
          .enabled(if: TestData.has(TestData.hh)))
    func realAnthropicSkips() throws {
        let file = TestData.file(TestData.hh)
        let report = try PreferencePair.read(file, skipBadRecords: true)
        #expect(report.records.count == 2307)
        #expect(report.skipped.map(\.line) == [1255, 1689, 1951, 1953, 2037])
        let error = expectDatasetError { _ = try PreferencePair.read(file) }
        #expect(error?.line == 1255)
        #expect(error?.field == "rejected")
    }
}
