import Foundation
import Testing
import Datasets

@Suite("SFT examples")
struct SFTExampleTests {
    /// Reads one JSON line as an SFT file.
    func read(_ line: String, shape: SFTRecordShape? = nil) throws(DatasetError) -> SFTExample {
        let directory = TemporaryDirectory()
        let report = try SFTExample.read(directory.write("one.jsonl", line + "\n"), shape: shape)
        return report.records[0]
    }

    @Test("{prompt, completion} is taken as is")
    func promptCompletion() throws {
        let example = try read(#"{"prompt": "2+2=", "completion": " 4"}"#)
        #expect(example == SFTExample(prompt: "2+2=", response: " 4"))
    }

    @Test("{messages} uses the documented chat template")
    func messages() throws {
        let example = try read(#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}"#)
        #expect(example.prompt == "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n")
        #expect(example.response == "Hello!")
        let all = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
                   ChatMessage(role: "assistant", content: "Hello!")]
        #expect(example.text + "\n" == ChatTemplate.render(all))
    }

    @Test("{messages} must end with an assistant message")
    func messagesLastRole() {
        let error = expectDatasetError { _ = try read(#"{"messages": [{"role": "user", "content": "Hi"}]}"#) }
        #expect(error?.field == "messages")
        #expect(error?.line == 1)
    }

    @Test("{messages} with a bad element names the element's field")
    func messagesBadElement() {
        let error = expectDatasetError {
            _ = try read(#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": 7}]}"#)
        }
        #expect(error?.field == "messages[1].content")
        #expect(error?.message == "expected a string, found a number")
    }

    @Test("Anthropic HH {chosen} is split at the last assistant turn")
    func anthropic() throws {
        let example = try read(#"{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Bye\n\nAssistant: Goodbye."}"#)
        #expect(example.prompt == "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Bye\n\nAssistant:")
        #expect(example.response == " Goodbye.")
    }

    @Test("Alpaca uses the verbatim Stanford templates, with and without input")
    func alpaca() throws {
        let withInput = try read(#"{"instruction": "Translate.", "input": "Bonjour", "output": "Hello"}"#)
        #expect(withInput.prompt == "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate.\n\n### Input:\nBonjour\n\n### Response:")
        #expect(withInput.response == "Hello")
        let withoutInput = try read(#"{"instruction": "Say hi.", "input": "", "output": "Hi"}"#)
        #expect(withoutInput.prompt == "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nSay hi.\n\n### Response:")
        let noInputKey = try read(#"{"instruction": "Say hi.", "output": "Hi"}"#)
        #expect(noInputKey == withoutInput)
    }

    @Test("a placeholder inside the instruction is not filled twice")
    func alpacaPlaceholderInText() {
        let prompt = AlpacaTemplate.prompt(instruction: "Explain {input}.", input: "x")
        #expect(prompt.contains("### Instruction:\nExplain {input}.\n\n### Input:\nx\n\n"))
    }

    @Test("the caller can force a shape")
    func forcedShape() throws {
        // Has both "prompt"/"completion" and "chosen": detection picks prompt-completion, forcing picks HH.
        let line = #"{"prompt": "p", "completion": "c", "chosen": "\n\nHuman: q\n\nAssistant: a"}"#
        #expect(try read(line).response == "c")
        #expect(try read(line, shape: .anthropicHH).response == " a")
    }

    @Test("an unknown shape is an error listing the accepted key sets")
    func unknownShape() {
        let error = expectDatasetError { _ = try read(#"{"question": "q", "answer": "a"}"#) }
        #expect(error?.line == 1)
        #expect(error?.field == nil)
        for shape in SFTRecordShape.allCases {
            #expect(error?.message.contains(shape.acceptedKeys) == true)
        }
        #expect(error?.message.contains(#""answer", "question""#) == true)
    }

    @Test("a missing field names file, line and field")
    func missingField() {
        let directory = TemporaryDirectory()
        let file = directory.write("m.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"c\"}\n")
        let error = expectDatasetError { _ = try SFTExample.read(file) }
        #expect(error?.description == "\(file.path):2: field 'completion': missing field (the record has fields \"prompt\")")
    }

    @Test("a field of the wrong type names file, line, field and both types")
    func wrongType() {
        let directory = TemporaryDirectory()
        let file = directory.write("w.jsonl", "{\"prompt\": \"a\", \"completion\": true}\n")
        let error = expectDatasetError { _ = try SFTExample.read(file) }
        #expect(error?.description == "\(file.path):1: field 'completion': expected a string, found a boolean")
    }

    @Test("skipBadRecords skips records of the detected shape that lack fields")
    func skipBad() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("s.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": 1, \"completion\": \"x\"}\n{oops\n{\"prompt\": \"c\", \"completion\": \"d\"}\n")
        let report = try SFTExample.read(file, skipBadRecords: true)
        #expect(report.records.map(\.prompt) == ["a", "c"])
        #expect(report.skipped.map(\.line) == [2, 3])
        #expect(report.skipped[0].reason == "field 'prompt': expected a string, found a number")
    }

    @Test("real HH dialogues: the first 50 split so that prompt + response == chosen",
          .enabled(if: TestData.has(TestData.hh)))
    func realAnthropic() throws {
        let file = TestData.file(TestData.hh)
        let examples = try SFTExample.read(file).records
        #expect(examples.count == 2312)
        let chosen = try JSONLines.read(file).records.prefix(50).map { try $0.string("chosen") }
        for (example, dialogue) in zip(examples.prefix(50), chosen) {
            #expect(example.prompt.hasSuffix("\n\nAssistant:"))
            #expect(!example.response.isEmpty)
            #expect(!example.response.contains("\n\nAssistant:"))
            #expect(example.prompt + example.response == dialogue)
        }
    }

    @Test("real Alpaca seed tasks read through the template from their instances",
          .enabled(if: TestData.has(TestData.alpaca)))
    func realAlpaca() throws {
        let file = TestData.file(TestData.alpaca)
        let examples = try SFTExample.read(file).records
        #expect(examples.count == 175)
        let first = examples[0]
        #expect(first.prompt == "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nIs there anything I can eat for a breakfast that doesn't include eggs, yet includes protein, and has roughly 700-1000 calories?\n\n### Response:")
        #expect(first.response.hasPrefix("Yes, you can have 1 oatmeal banana protein shake"))
        let second = examples[1]
        #expect(second.prompt.hasSuffix("### Instruction:\nWhat is the relation between the given pairs?\n\n### Input:\nNight : Day :: Right : Left\n\n### Response:"))
        #expect(second.response == "The relation between the given pairs is that they are opposites.")
        #expect(examples.allSatisfy { $0.prompt.hasSuffix("### Response:") && !$0.response.isEmpty })
    }
}
