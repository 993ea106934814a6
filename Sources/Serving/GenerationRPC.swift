// The gRPC face of the model server: `rlhf.v1.Generation` (Protos/rlhf/v1/generation.proto) with
// unary Generate, server-streaming GenerateStream and unary Score, over the same ModelService as
// the HTTP API — one engine, the same validation and limits. API errors map to gRPC status codes:
// 400 → INVALID_ARGUMENT, 401 → UNAUTHENTICATED, 404 → NOT_FOUND, 503 (queue full) →
// RESOURCE_EXHAUSTED, anything else → INTERNAL.

import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceLifecycle

/// The `rlhf.v1.Generation` service.
public struct GenerationRPCService: Rlhf_V1_Generation.ServiceProtocol {
    let service: ModelService

    /// Serves `service`.
    public init(service: ModelService) { self.service = service }

    public func generate(request: ServerRequest<Rlhf_V1_GenerateRequest>, context: ServerContext) async throws -> ServerResponse<Rlhf_V1_GenerateResponse> {
        try await measured("Generate") {
            try authorize(request.metadata)
            let completion = try service.start(try Self.completionRequest(request.message, service: service))
            let choices = try await service.results(of: completion)
            return ServerResponse(message: .with { response in
                response.id = completion.id
                response.model = service.name
                response.choices = choices.enumerated().map { index, choice in
                    .with {
                        $0.index = UInt32(index)
                        $0.text = choice.text
                        $0.finishReason = choice.finishReason
                        $0.tokenIds = choice.tokens.map { UInt32($0) }
                        if completion.request.logprobs { $0.logprobs = choice.logprobs }
                    }
                }
                response.usage = Self.usage(prompt: completion.promptTokens, completion: choices.map(\.tokens.count).reduce(0, +))
            })
        }
    }

    public func generateStream(request: ServerRequest<Rlhf_V1_GenerateRequest>, context: ServerContext) async throws -> StreamingServerResponse<Rlhf_V1_GenerateChunk> {
        try await measured("GenerateStream") {
            try authorize(request.metadata)
            let completion = try service.start(try Self.completionRequest(request.message, service: service))
            return StreamingServerResponse(of: Rlhf_V1_GenerateChunk.self) { writer in
                try await service.stream(completion) { delta in
                    try await writer.write(.with {
                        $0.id = completion.id
                        $0.index = UInt32(delta.index)
                        $0.text = delta.text
                        $0.finishReason = delta.finishReason ?? ""
                        if delta.isLast { $0.usage = Self.usage(prompt: completion.promptTokens, completion: delta.completionTokens) }
                    })
                }
                return [:]
            }
        }
    }

    public func score(request: ServerRequest<Rlhf_V1_ScoreRequest>, context: ServerContext) async throws -> ServerResponse<Rlhf_V1_ScoreResponse> {
        try await measured("Score") {
            try authorize(request.metadata)
            let message = request.message
            let scores = try await service.score(texts: message.texts.isEmpty ? nil : message.texts,
                                                 prompts: message.prompts.isEmpty ? nil : message.prompts,
                                                 responses: message.responses.isEmpty ? nil : message.responses)
            return ServerResponse(message: .with { $0.model = service.name; $0.scores = scores })
        }
    }

    /// The request as the HTTP API would read it (same defaults, ranges and field names).
    static func completionRequest(_ message: Rlhf_V1_GenerateRequest, service: ModelService) throws -> CompletionRequest {
        var fields: [String: Any] = ["model": message.model]
        let chat = !message.messages.isEmpty
        if chat {
            guard message.prompt.isEmpty else { throw APIError(status: 400, "give 'prompt' or 'messages', not both", parameter: "messages") }
            fields["messages"] = message.messages.map { ["role": $0.role, "content": $0.content] }
        } else {
            fields["prompt"] = message.prompt
        }
        if message.hasMaxTokens { fields["max_tokens"] = Int(message.maxTokens) }
        if message.hasTemperature { fields["temperature"] = Double(message.temperature) }
        if message.hasTopP { fields["top_p"] = Double(message.topP) }
        if message.hasN { fields["n"] = Int(message.n) }
        if !message.stop.isEmpty { fields["stop"] = message.stop }
        fields["logprobs"] = message.logprobs
        var request = try CompletionRequest(fields: fields, chat: chat, maxTokensLimit: service.maxTokensLimit)
        if message.hasSeed { request.seed = message.seed }
        return request
    }

    static func usage(prompt: Int, completion: Int) -> Rlhf_V1_Usage {
        .with {
            $0.promptTokens = UInt32(prompt)
            $0.completionTokens = UInt32(completion)
            $0.totalTokens = UInt32(prompt + completion)
        }
    }

    /// Requires `authorization: Bearer KEY` metadata when the service has a key.
    func authorize(_ metadata: Metadata) throws {
        try service.authorize(Array(metadata[stringValues: "authorization"]), sentAs: "the metadata 'authorization: Bearer KEY'")
    }

    /// Runs a handler, turns an ``APIError`` into the matching ``RPCError`` and records the call.
    func measured<Result>(_ method: String, _ handler: () async throws -> Result) async throws -> Result {
        try await service.measured("/rlhf.v1.Generation/" + method, handler)
            .mapError { RPCError(code: Self.code(forStatus: $0.status), message: $0.message) }.get()
    }

    /// The gRPC status code of an HTTP status.
    static func code(forStatus status: Int) -> RPCError.Code {
        switch status {
        case 400, 413: return .invalidArgument
        case 401: return .unauthenticated
        case 404: return .notFound
        case 429, 503: return .resourceExhausted
        case 499: return .cancelled
        default: return .internalError
        }
    }
}

/// A gRPC server as a service of a ServiceGroup: it reports its port once listening and, on
/// graceful shutdown, stops taking calls and lets the ones in flight finish.
struct GRPCServerService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let onListening: @Sendable (Int) -> Void

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await server.listeningAddress, let port = address.ipv4?.port ?? address.ipv6?.port {
                    onListening(port)
                }
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
