// The LLM judge's parts that need no server: `openai:` specifications once the clients are
// registered, endpoint parsing, and reading verdicts. (Against a real server: ServingTests.)

import Clients
import Evaluation
import Testing

@Suite("Chat-completions judge")
struct ChatCompletionsJudgeTests {
    @Test("judge specifications: rm:, openai:, reward specs; bad ones say what is expected")
    func specifications() throws {
        ClientRegistration.register()
        #expect(try JudgeSpecification.make("lexicon") is RewardModelJudge)
        let judge = try #require(try JudgeSpecification.make("openai:http://127.0.0.1:8080/v1#gpt-4o-mini", apiKey: "k", timeout: 5) as? ChatCompletionsJudge)
        #expect(judge.endpoint.model == "gpt-4o-mini" && judge.endpoint.url.absoluteString == "http://127.0.0.1:8080/v1/chat/completions")
        #expect(judge.apiKey == "k" && judge.timeout == 5)
        let full = try ChatCompletionsJudge.Endpoint(parsing: "https://api.example.com/v1/chat/completions#m")
        #expect(full.url.absoluteString == "https://api.example.com/v1/chat/completions")
        for (bad, mention) in [("gpt4", "expected rm:DIR"), ("openai:http://127.0.0.1:8080/v1", "names no model"),
                               ("openai:127.0.0.1:8080#m", "not an http(s) URL"), ("openai:http://h/v1#", "names no model"), ("rm:", "rm: needs")] {
            let error = try #require(throws: JudgeError.self) { try JudgeSpecification.make(bad) }
            #expect(error.message.contains(mention), "\(bad): \(error.message)")
        }
    }

    @Test("LLM answers are read by their first meaningful word", arguments: [
        ("A", PairwiseVerdict.first), ("b", .second), ("Tie", .tie), ("**B**", .second), ("[[A]]", .first), ("Response B.", .second),
        ("The answer is A", .first), ("A tie.", .tie), ("both are equally good", .tie), ("  a) because", .first),
    ])
    func parse(answer: String, verdict: PairwiseVerdict) {
        #expect(ChatCompletionsJudge.parseVerdict(answer) == verdict)
    }

    @Test("unreadable LLM answers are nil", arguments: ["", "I cannot decide", "Cats", "42"])
    func unparsed(answer: String) {
        #expect(ChatCompletionsJudge.parseVerdict(answer) == nil)
    }
}
