// Plugs the HTTP clients into the specification strings of Alignment and Evaluation, which hold no
// HTTP code themselves (the demo builds them without an HTTP client).

import Alignment
import Evaluation
import Foundation

/// Makes `http:`/`https:` reward specifications and `openai:` judge specifications work.
public enum ClientRegistration {
    /// Registers ``HTTPReward`` as `RewardSpecification.remoteReward` and ``ChatCompletionsJudge``
    /// as `JudgeSpecification.chatCompletionsJudge`. The `rlhf` tool calls it at start; a program
    /// of your own that reads such specifications calls it once before. Calling it again changes
    /// nothing.
    public static func register() {
        RewardSpecification.remoteReward = { url in try HTTPReward(url: url) }
        JudgeSpecification.chatCompletionsJudge = { endpoint, apiKey, timeout in
            try ChatCompletionsJudge(endpoint: ChatCompletionsJudge.Endpoint(parsing: endpoint), apiKey: apiKey, timeout: timeout)
        }
    }
}
