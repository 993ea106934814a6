import Foundation

/// One turn of a chat: who spoke and what they said (`{"role","content"}`, as in TRL's
/// conversational format).
public struct ChatMessage: Sendable, Hashable, Codable {
    /// `system`, `user`, `assistant`, or any other role name.
    public var role: String
    /// What was said.
    public var content: String

    /// Creates a message.
    /// - Parameters:
    ///   - role: the speaker's role.
    ///   - content: the text.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The plain chat template used to turn `{"messages": […]}` records into a prompt and a response.
///
/// Each message is rendered as
///
/// ```
/// <|role|>\ncontent\n
/// ```
///
/// that is `<|` + role + `|>`, a newline, the content, a newline. For an SFT example the last
/// message must have role `assistant`; its content (as is, no trailing newline) is the response,
/// and the prompt is every earlier message rendered, followed by the header `<|assistant|>\n`.
/// So `prompt + response + "\n"` is the whole conversation rendered. Example:
/// `[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]` gives the prompt
/// `"<|user|>\nHi\n<|assistant|>\n"` and the response `"Hello!"`.
public enum ChatTemplate {
    /// The header that opens a message of `role`: `<|role|>\n`.
    /// - Parameter role: the role name.
    public static func header(role: String) -> String { "<|\(role)|>\n" }

    /// One message rendered: `<|role|>\ncontent\n`.
    /// - Parameter message: the message.
    public static func render(_ message: ChatMessage) -> String { header(role: message.role) + message.content + "\n" }

    /// Messages rendered one after another.
    /// - Parameter messages: the conversation.
    public static func render(_ messages: [ChatMessage]) -> String { messages.map(render).joined() }

    /// The prompt that asks for the next assistant message: the messages rendered, then `<|assistant|>\n`.
    /// - Parameter messages: the conversation so far.
    public static func prompt(for messages: [ChatMessage]) -> String { render(messages) + header(role: "assistant") }
}

/// The Stanford Alpaca prompt templates (tatsu-lab/stanford_alpaca `train.py`, `PROMPT_DICT`),
/// verbatim.
///
/// As in Alpaca's `train.py`, a record whose `input` is empty (or absent) uses the no-input
/// template; the templates end with `### Response:` and no newline, and the response (Alpaca's
/// `output`) follows directly, so `prompt + response` is exactly the text Alpaca trains on
/// (before its end-of-sequence token).
public enum AlpacaTemplate {
    /// `PROMPT_DICT["prompt_input"]`, with `{instruction}` and `{input}` placeholders.
    public static let promptWithInput =
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        + "Write a response that appropriately completes the request.\n\n"
        + "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"

    /// `PROMPT_DICT["prompt_no_input"]`, with an `{instruction}` placeholder.
    public static let promptWithoutInput =
        "Below is an instruction that describes a task. "
        + "Write a response that appropriately completes the request.\n\n"
        + "### Instruction:\n{instruction}\n\n### Response:"

    /// The filled-in prompt: the with-input template when `input` is non-empty, else the no-input one.
    /// - Parameters:
    ///   - instruction: the task.
    ///   - input: optional context for the task; empty means none.
    /// - Returns: the prompt, ending in `### Response:`.
    public static func prompt(instruction: String, input: String) -> String {
        // Fill `{input}` first, then `{instruction}`, so a literal "{input}" inside an instruction survives.
        if input.isEmpty {
            return promptWithoutInput.replacingOccurrences(of: "{instruction}", with: instruction)
        }
        let parts = promptWithInput.components(separatedBy: "{input}")
        precondition(parts.count == 2)
        let head = parts[0].replacingOccurrences(of: "{instruction}", with: instruction)
        return head + input + parts[1]
    }
}

/// The Anthropic HH-RLHF dialogue format: `"\n\nHuman: …\n\nAssistant: …"`, repeated.
public enum AnthropicDialogue {
    /// The marker that opens an assistant turn: `"\n\nAssistant:"`.
    public static let assistantMarker = "\n\nAssistant:"
    /// The marker that opens a human turn: `"\n\nHuman:"`.
    public static let humanMarker = "\n\nHuman:"

    /// Splits a dialogue at its last assistant marker.
    ///
    /// The prompt is everything up to and including the last `"\n\nAssistant:"`; the response is
    /// everything after it (usually starting with a space). `prompt + response == dialogue`.
    /// - Parameter dialogue: a full HH dialogue.
    /// - Returns: the split, or nil when the dialogue has no assistant marker.
    public static func splitAtLastAssistantTurn(_ dialogue: String) -> (prompt: String, response: String)? {
        guard let range = dialogue.range(of: assistantMarker, options: .backwards) else { return nil }
        return (String(dialogue[..<range.upperBound]), String(dialogue[range.upperBound...]))
    }
}
