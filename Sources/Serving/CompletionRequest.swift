// The OpenAI request bodies of /v1/completions and /v1/chat/completions, read field by field so
// that a wrong type or an out-of-range value is a 400 naming the field, and the error body in
// OpenAI's shape ({"error": {"message", "type", "param", "code"}}).

import Datasets
import Foundation

/// An error answered in OpenAI's shape.
public struct APIError: Error, Equatable, CustomStringConvertible {
    /// The HTTP status.
    public var status: Int
    /// What went wrong.
    public var message: String
    /// The request field at fault, if one.
    public var parameter: String?
    /// OpenAI's error type: invalid_request_error, authentication_error, server_error, ….
    public var type: String

    /// An error.
    public init(status: Int, _ message: String, parameter: String? = nil, type: String? = nil) {
        self.status = status
        self.message = message
        self.parameter = parameter
        self.type = type ?? (status == 401 ? "authentication_error" : status >= 500 ? "server_error" : "invalid_request_error")
    }

    /// The message.
    public var description: String { message }

    /// `{"error": {"message", "type", "param", "code"}}`.
    public var body: Data {
        let object: [String: Any] = ["error": ["message": message, "type": type, "param": parameter ?? NSNull(), "code": NSNull()] as [String: Any]]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}

/// Whether JSONSerialization read `number` from `true` or `false` (its Objective-C type is "c").
func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

/// A completion request after validation, for either endpoint.
public struct CompletionRequest: Equatable, Sendable {
    /// The prompts (one per choice group; chat gives one rendered conversation).
    public var prompts: [String]
    /// Whether it came as chat messages (the answer is then a message, and the chat turn markers stop it).
    public var isChat: Bool
    /// `max_tokens` (default 16, as OpenAI's completions).
    public var maxTokens: Int
    /// `temperature` in 0...2 (default 1), `top_p` in (0, 1] (default 1).
    public var temperature: Float, topP: Float
    /// `n`: choices per prompt, 1...limit.
    public var n: Int
    /// `stop`: up to 4 strings.
    public var stop: [String]
    /// `seed`, when given.
    public var seed: UInt64?
    /// `logprobs`: whether to return the sampled tokens' log-probabilities.
    public var logprobs: Bool
    /// `stream`: answer as server-sent events.
    public var stream: Bool
    /// `stream_options.include_usage`: end a stream with a chunk holding the usage (and no choices).
    public var includeUsage: Bool
    /// `model`, as sent.
    public var model: String?

    /// The strings that end a choice: `stop`, and for chat the turn markers.
    public var stopStrings: [String] { stop + (isChat ? Self.chatStops : []) }

    /// The turn markers of ``ChatTemplate`` that end an assistant message.
    public static let chatStops = ["\n" + ChatTemplate.header(role: "user"), "\n" + ChatTemplate.header(role: "system"), "\n" + ChatTemplate.header(role: "assistant")]

    /// Prompts one completions request may hold.
    public static let maximumPrompts = 64

    /// Reads a request body.
    /// - Parameters:
    ///   - body: the JSON body.
    ///   - chat: true for /v1/chat/completions (`messages`), false for /v1/completions (`prompt`).
    ///   - maxTokensLimit: the largest `max_tokens` allowed; `maxChoices`: the largest `n`.
    /// - Throws: ``APIError`` (400) naming the field.
    public init(json body: Data, chat: Bool, maxTokensLimit: Int, maxChoices: Int = 16) throws {
        guard let object = try? JSONSerialization.jsonObject(with: body), let fields = object as? [String: Any] else {
            throw APIError(status: 400, "the body is not a JSON object")
        }
        try self.init(fields: fields, chat: chat, maxTokensLimit: maxTokensLimit, maxChoices: maxChoices)
    }

    /// Reads a request's fields as JSONSerialization gives them (the gRPC service builds them from
    /// its message, so both protocols share these defaults, ranges and messages).
    public init(fields: [String: Any], chat: Bool, maxTokensLimit: Int, maxChoices: Int = 16) throws {
        func number(_ key: String) throws -> Double? {
            guard let value = fields[key], !(value is NSNull) else { return nil }
            guard let number = value as? NSNumber, !isBoolean(number) else {
                throw APIError(status: 400, "'\(key)' must be a number", parameter: key)
            }
            return number.doubleValue
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = try number(key) else { return nil }
            guard value == value.rounded(), abs(value) < 1e15 else { throw APIError(status: 400, "'\(key)' must be an integer", parameter: key) }
            return Int(value)
        }
        func boolean(_ key: String) throws -> Bool? {
            guard let value = fields[key], !(value is NSNull) else { return nil }
            guard let number = value as? NSNumber, isBoolean(number) else {
                throw APIError(status: 400, "'\(key)' must be true or false", parameter: key)
            }
            return number.boolValue
        }
        model = fields["model"] as? String
        if fields["model"] != nil && model == nil { throw APIError(status: 400, "'model' must be a string", parameter: "model") }
        isChat = chat
        if chat {
            guard let messages = fields["messages"] as? [[String: Any]], !messages.isEmpty else {
                throw APIError(status: 400, "'messages' must be a non-empty array of {\"role\", \"content\"} objects", parameter: "messages")
            }
            let parsed = try messages.enumerated().map { index, message -> ChatMessage in
                guard let role = message["role"] as? String, ["system", "user", "assistant"].contains(role) else {
                    throw APIError(status: 400, "'messages[\(index)].role' must be system, user or assistant", parameter: "messages")
                }
                guard let content = message["content"] as? String else {
                    throw APIError(status: 400, "'messages[\(index)].content' must be a string", parameter: "messages")
                }
                return ChatMessage(role: role, content: content)
            }
            prompts = [ChatTemplate.prompt(for: parsed)]
        } else {
            switch fields["prompt"] {
            case let text as String: prompts = [text]
            case let texts as [Any] where !texts.isEmpty && texts.allSatisfy({ $0 is String }): prompts = texts.map { $0 as! String }
            default: throw APIError(status: 400, "'prompt' must be a string or a non-empty array of strings", parameter: "prompt")
            }
            guard prompts.count <= Self.maximumPrompts else {
                throw APIError(status: 400, "'prompt' holds \(prompts.count) prompts; at most \(Self.maximumPrompts) per request", parameter: "prompt")
            }
        }
        maxTokens = try integer(chat && fields["max_completion_tokens"] != nil ? "max_completion_tokens" : "max_tokens") ?? 16
        guard (1...maxTokensLimit).contains(maxTokens) else {
            throw APIError(status: 400, "'max_tokens' must be from 1 to \(maxTokensLimit), got \(maxTokens)", parameter: "max_tokens")
        }
        temperature = Float(try number("temperature") ?? 1)
        guard (0...2).contains(temperature) else { throw APIError(status: 400, "'temperature' must be from 0 to 2", parameter: "temperature") }
        topP = Float(try number("top_p") ?? 1)
        guard topP > 0 && topP <= 1 else { throw APIError(status: 400, "'top_p' must be in (0, 1]", parameter: "top_p") }
        n = try integer("n") ?? 1
        guard (1...maxChoices).contains(n) else { throw APIError(status: 400, "'n' must be from 1 to \(maxChoices), got \(n)", parameter: "n") }
        switch fields["stop"] {
        case nil, is NSNull: stop = []
        case let text as String: stop = [text]
        case let texts as [Any] where texts.count <= 4 && texts.allSatisfy({ ($0 as? String)?.isEmpty == false }): stop = texts.map { $0 as! String }
        default: throw APIError(status: 400, "'stop' must be a string or an array of at most 4 non-empty strings", parameter: "stop")
        }
        if let value = try integer("seed") {
            guard value >= 0 else { throw APIError(status: 400, "'seed' must be ≥ 0", parameter: "seed") }
            seed = UInt64(value)
        }
        switch fields["logprobs"] {
        case nil, is NSNull: logprobs = false
        case let flag as NSNumber where isBoolean(flag): logprobs = flag.boolValue
        case is NSNumber: logprobs = (try integer("logprobs") ?? 0) >= 0  // completions: the number of alternatives; 0 still returns the sampled ones
        default: throw APIError(status: 400, "'logprobs' must be a boolean or an integer", parameter: "logprobs")
        }
        stream = try boolean("stream") ?? false
        switch fields["stream_options"] {
        case nil, is NSNull: includeUsage = false
        case let options as [String: Any] where options.keys.allSatisfy({ $0 == "include_usage" }):
            switch options["include_usage"] {
            case nil, is NSNull: includeUsage = false
            case let flag as NSNumber where isBoolean(flag): includeUsage = flag.boolValue
            default: throw APIError(status: 400, "'stream_options.include_usage' must be true or false", parameter: "stream_options")
            }
        default: throw APIError(status: 400, "'stream_options' must be an object with only 'include_usage'", parameter: "stream_options")
        }
    }
}
