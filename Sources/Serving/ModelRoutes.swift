// The routes of the OpenAI-compatible API (see ModelServer.swift for the service).

import Foundation
import GRPCCore
import GRPCNIOTransportCore
import GRPCNIOTransportHTTP2
import Hummingbird
import Models
import ServiceLifecycle

/// Routes and runs the model API.
public enum ModelServer {
    /// The routes: POST /v1/completions, POST /v1/chat/completions, POST /v1/score (with a reward
    /// model), GET /v1/models, GET /health, GET /metrics.
    public static func router(service: ModelService) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: OpenAIErrorMiddleware())
        router.get("/health") { _, _ in json(["status": "ok"]) }
        router.get("/v1/models") { request, _ -> Response in
            await measured(service, route: "/v1/models") {
                try authorize(request, service)
                return json(["object": "list", "data": [["id": service.name, "object": "model", "created": 0, "owned_by": "swift-rlhf"]]])
            }
        }
        router.get("/metrics") { request, _ -> Response in
            if service.metricsNeedKey {
                do { try authorize(request, service) } catch {
                    return await measured(service, route: "/metrics") { throw error }
                }
            }
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: service.metrics.exposition(
                engine: service.engine.current, maximumQueue: service.engine.maximumQueue))))
            response.headers[.contentType] = "text/plain; version=0.0.4"
            return response
        }
        router.post("/v1/score") { request, _ -> Response in
            await measured(service, route: "/v1/score") { try await score(request, service: service) }
        }
        for (path, chat) in [("/v1/completions", false), ("/v1/chat/completions", true)] {
            router.post(RouterPath(path)) { request, _ -> Response in
                var response = await measured(service, route: path) { try await complete(request, service: service, chat: chat) }
                // The watch for a vanishing client (see complete) uses up the connection's input:
                // every answer of these routes, error or not, says the connection closes after it.
                response.headers[.connection] = "close"
                return response
            }
        }
        return router
    }

    /// Serves HTTP on `port` and, unless `grpcPort` is nil, gRPC on `grpcPort` (0: any free port)
    /// until SIGINT/SIGTERM: then both stop taking requests, the ones in flight get
    /// `limits.shutdownDeadline` to finish, and the engine stops.
    /// - Parameters:
    ///   - limits: the connections' timeouts (gRPC: its idle time) and the shutdown deadline.
    ///   - onRunning: called once with the bound HTTP and gRPC ports when both listen.
    public static func run(service: ModelService, host: String = "127.0.0.1", port: Int, grpcPort: Int?, limits: ConnectionLimits = .standard,
                           onRunning: @escaping @Sendable (_ http: Int, _ grpc: Int?) -> Void) async throws {
        let ports = BoundPorts(expecting: grpcPort == nil ? 1 : 2) { onRunning($0[0], $0.count > 1 ? $0[1] : nil) }
        var grpc: [any Service] = []
        if let grpcPort {
            let address: GRPCNIOTransportCore.SocketAddress = host.contains(":")
                ? .ipv6(host: host, port: grpcPort) : .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: grpcPort)
            let transport = HTTP2ServerTransport.Posix(address: address, transportSecurity: .plaintext,
                                                       config: .defaults {
                                                           $0.rpc.maxRequestPayloadSize = ModelService.maximumBodySize
                                                           $0.connection.maxIdleTime = limits.idleTimeout
                                                           $0.connection.maxGraceTime = limits.shutdownDeadline
                                                       })
            grpc.append(GRPCServerService(server: GRPCServer(transport: transport, services: [GenerationRPCService(service: service)]),
                                          onListening: { ports.bound($0, at: 1) }))
        }
        defer { service.engine.shutdown() }
        try await listen(router(service: service), host: host, port: port, limits: limits, alongside: grpc) { ports.bound($0, at: 0) }
    }

    // MARK: Completions

    /// A completion, answered or streamed. The request's input is watched from the start (the body
    /// is read inside the watch, as Hummingbird requires): a client that goes away while its
    /// whole answer is being generated (its connection's input closes) cancels the work, which
    /// cancels the choices' streams and frees their places in the batch. A streamed answer is
    /// written after the watch; a client that leaves it is noticed when a write fails. The watch
    /// stops the connection's reading for good, so the route closes the connection after
    /// answering. (A client that half-closes its side after sending counts as gone.)
    static func complete(_ request: Request, service: ModelService, chat: Bool) async throws -> Response {
        try authorize(request, service)
        return try await request.body.consumeWithCancellationOnInboundClose { body in
            try await complete(body: try await collect(body), service: service, chat: chat)
        }
    }

    static func complete(body: Data, service: ModelService, chat: Bool) async throws -> Response {
        let parsed = try CompletionRequest(json: body, chat: chat, maxTokensLimit: service.maxTokensLimit)
        let completion = try service.start(parsed)
        let (id, created, model) = (completion.id, completion.created, service.name)
        /// An answer or chunk: `object` with `choices`, and `usage` when given.
        @Sendable func answer(_ object: String, choices: [Any], usage: [String: Int]? = nil) -> [String: Any] {
            var fields: [String: Any] = ["id": id, "object": object, "created": created, "model": model, "choices": choices]
            if let usage { fields["usage"] = usage }
            return fields
        }
        if parsed.stream {
            var response = Response(status: .ok, body: ResponseBody { writer in
                func send(_ object: [String: Any]) async throws {
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    try await writer.write(ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n"))
                }
                func chunk(_ index: Int, text: String?, finish: String?, role: Bool = false) -> [String: Any] {
                    var choice: [String: Any] = ["index": index, "finish_reason": finish ?? NSNull()]
                    if chat {
                        var delta: [String: Any] = [:]
                        if role { delta["role"] = "assistant" }
                        if let text { delta["content"] = text }
                        choice["delta"] = delta
                    } else {
                        choice["text"] = text ?? ""
                        choice["logprobs"] = NSNull()
                    }
                    return answer(chat ? "chat.completion.chunk" : "text_completion", choices: [choice])
                }
                var announced = -1  // chat: the last choice whose assistant role was sent
                try await service.stream(completion) { delta in
                    if chat && delta.index != announced {
                        try await send(chunk(delta.index, text: "", finish: nil, role: true))
                        announced = delta.index
                    }
                    let text: String? = delta.finishReason != nil && delta.text.isEmpty && chat ? nil : delta.text
                    try await send(chunk(delta.index, text: text, finish: delta.finishReason))
                    if delta.isLast && parsed.includeUsage {
                        try await send(answer(chat ? "chat.completion.chunk" : "text_completion", choices: [],
                                              usage: usage(prompt: completion.promptTokens, completion: delta.completionTokens)))
                    }
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            })
            response.headers[.contentType] = "text/event-stream"
            response.headers[.cacheControl] = "no-cache"
            return response
        }
        let finished = try await service.results(of: completion)
        var choices: [[String: Any]] = []
        for (index, (choice, result)) in zip(completion.choices, finished).enumerated() {
            var object: [String: Any] = ["index": index, "finish_reason": result.finishReason]
            let pieces = result.tokens.map { service.tokenizer.decode([$0]) }
            if chat {
                object["message"] = ["role": "assistant", "content": result.text]
                object["logprobs"] = parsed.logprobs
                    ? ["content": zip(pieces, result.logprobs).map { ["token": $0.0, "logprob": Double($0.1), "bytes": Array($0.0.utf8).map(Int.init), "top_logprobs": [Any]()] as [String: Any] }] as Any
                    : NSNull()
            } else {
                object["text"] = result.text
                var offsets: [Int] = [], offset = choice.prompt.count
                for piece in pieces { offsets.append(offset); offset += piece.count }
                object["logprobs"] = parsed.logprobs
                    ? ["tokens": pieces, "token_logprobs": result.logprobs.map(Double.init), "top_logprobs": NSNull(), "text_offset": offsets] as Any
                    : NSNull()
            }
            choices.append(object)
        }
        let completionTokens = finished.map(\.tokens.count).reduce(0, +)
        return json(answer(chat ? "chat.completion" : "text_completion", choices: choices,
                           usage: usage(prompt: completion.promptTokens, completion: completionTokens)))
    }

    static func usage(prompt: Int, completion: Int) -> [String: Int] {
        ["prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion]
    }

    /// POST /v1/score: `{"texts": [...]}` or `{"prompts": [...], "responses": [...]}` → `{"scores": [...]}`.
    static func score(_ request: Request, service: ModelService) async throws -> Response {
        try authorize(request, service)
        guard service.scorer != nil else { throw APIError(status: 404, "this server has no reward model; start it with --reward-model DIR") }
        guard let fields = (try? JSONSerialization.jsonObject(with: try await body(of: request))) as? [String: Any] else {
            throw APIError(status: 400, "the body is not a JSON object")
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = fields[key] else { return nil }
            guard let array = value as? [Any], array.allSatisfy({ $0 is String }) else {
                throw APIError(status: 400, "'\(key)' must be an array of 1 to \(ScoringQueue.maximumTexts) strings", parameter: key)
            }
            return array.map { $0 as! String }
        }
        let scores = try await service.score(texts: try strings("texts"), prompts: try strings("prompts"), responses: try strings("responses"))
        return json(["object": "list", "model": service.name, "scores": scores.map(Double.init)])
    }

    // MARK: Helpers

    /// The request body, at most ``ModelService/maximumBodySize`` bytes (413 beyond).
    static func body(of request: Request) async throws -> Data { try await collect(request.body) }

    /// `body`, at most ``ModelService/maximumBodySize`` bytes (413 beyond).
    static func collect(_ body: RequestBody) async throws -> Data {
        do { return Data(buffer: try await body.collect(upTo: ModelService.maximumBodySize)) } catch {
            throw APIError(status: 413, "the request body is larger than \(ModelService.maximumBodySize) bytes")
        }
    }

    static func authorize(_ request: Request, _ service: ModelService) throws {
        try service.authorize(request.headers[values: .authorization], sentAs: "the header 'Authorization: Bearer KEY'")
    }

    /// `object` as JSON; a value JSON cannot hold (NaN, infinity) is a 500 naming the failure,
    /// never an empty body.
    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data: Data, code: HTTPResponse.Status
        if JSONSerialization.isValidJSONObject(object), let encoded = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            (data, code) = (encoded, status)
        } else {
            FileHandle.standardError.write(Data("rlhf serve: a response could not be encoded as JSON (a NaN or infinite number?)\n".utf8))
            (data, code) = (APIError(status: 500, "the server could not encode its response as JSON (a non-finite number)").body, .internalServerError)
        }
        var response = Response(status: code, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        response.headers[.contentType] = "application/json"
        return response
    }

    /// Runs a handler, answers its error in OpenAI's shape, and records the status and latency.
    static func measured(_ service: ModelService, route: String, _ handler: () async throws -> Response) async -> Response {
        switch await service.measured(route, handler) {
        case .success(let response):
            return response
        case .failure(let error):
            var response = Response(status: HTTPResponse.Status(code: error.status), body: .init(byteBuffer: ByteBuffer(bytes: error.body)))
            response.headers[.contentType] = "application/json"
            if error.status == 503 { response.headers[.retryAfter] = "1" }
            return response
        }
    }
}

/// Errors Hummingbird raises itself (an unknown route, a wrong method) answered in OpenAI's error
/// shape, as every other error of the API is.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            var response = Response(status: error.status, body: .init(byteBuffer: ByteBuffer(bytes: APIError(status: error.status.code, message).body)))
            response.headers[.contentType] = "application/json"
            return response
        }
    }
}

/// Ports reported by servers starting in parallel; calls back once all are known.
final class BoundPorts: @unchecked Sendable {
    private let lock = NSLock()
    private var ports: [Int?]
    private let report: @Sendable ([Int]) -> Void

    init(expecting count: Int, report: @escaping @Sendable ([Int]) -> Void) {
        ports = Array(repeating: nil, count: count)
        self.report = report
    }

    func bound(_ port: Int, at index: Int) {
        let all: [Int]? = lock.withLock {
            ports[index] = port
            return ports.contains(nil) ? nil : ports.map { $0! }
        }
        if let all { report(all) }
    }
}
