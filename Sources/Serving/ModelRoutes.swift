// The routes of the OpenAI-compatible API (see ModelServer.swift for the service).

import Foundation
import Hummingbird
import Models

/// Routes and runs the model API.
public enum ModelServer {
    /// The routes: POST /v1/completions, POST /v1/chat/completions, POST /v1/score (with a reward
    /// model), GET /v1/models, GET /health, GET /metrics.
    public static func router(service: ModelService) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ in json(["status": "ok"]) }
        router.get("/v1/models") { request, _ -> Response in
            await measured(service, route: "/v1/models") {
                try authorize(request, service)
                return json(["object": "list", "data": [["id": service.name, "object": "model", "created": 0, "owned_by": "swift-rlhf"]]])
            }
        }
        router.get("/metrics") { _, _ -> Response in
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
                await measured(service, route: path) { try await complete(request, service: service, chat: chat) }
            }
        }
        return router
    }

    /// Serves until SIGINT/SIGTERM; in-flight requests finish first, then the engine stops.
    public static func run(service: ModelService, host: String = "127.0.0.1", port: Int, onRunning: @escaping @Sendable (Int) -> Void) async throws {
        try await listen(router(service: service), host: host, port: port, onRunning: onRunning)
        service.engine.shutdown()
    }

    // MARK: Completions

    static func complete(_ request: Request, service: ModelService, chat: Bool) async throws -> Response {
        try authorize(request, service)
        let parsed = try CompletionRequest(json: try await body(of: request), chat: chat, maxTokensLimit: service.maxTokensLimit)
        if let model = parsed.model, model != service.name {
            throw APIError(status: 404, "the model '\(model)' does not exist; this server has '\(service.name)'", parameter: "model", type: "invalid_request_error")
        }
        let seed = parsed.seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        // Each prompt is encoded once; its n choices differ by seed.
        var jobs: [(prompt: String, decoding: DecodingRequest)] = []
        var promptTokens = 0
        for prompt in parsed.prompts {
            let ids = try service.promptTokens(prompt, for: parsed)
            promptTokens += ids.count
            for _ in 0..<parsed.n { jobs.append((prompt, service.decodingRequest(prompt: ids, request: parsed, seed: seed &+ UInt64(jobs.count)))) }
        }
        let streams: [AsyncThrowingStream<DecodingEvent, any Error>]
        do { streams = try jobs.map { try service.engine.submit($0.decoding) } } catch let refusal as EngineRefusal {
            throw APIError(status: 503, refusal.description, type: "server_error")
        }
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24).lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let endOfSequence = service.tokenizer.endOfTextTokenId
        let stops = parsed.stopStrings
        let tokenizer = service.tokenizer
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
                    return ["id": id, "object": chat ? "chat.completion.chunk" : "text_completion", "created": created, "model": service.name, "choices": [choice]]
                }
                for (index, stream) in streams.enumerated() {
                    if chat { try await send(chunk(index, text: "", finish: nil, role: true)) }
                    var text = IncrementalText(decode: { tokenizer.decode($0) }, stops: stops)
                    for try await event in stream {
                        switch event {
                        case .token(_, let token, _):
                            let piece = text.add(token)
                            if !piece.isEmpty { try await send(chunk(index, text: piece, finish: nil)) }
                        case .finished(_, let sequence):
                            let rest = text.finish(dropping: sequence.finishReason == .endOfSequence && sequence.tokens.last == endOfSequence)
                            try await send(chunk(index, text: rest.isEmpty && chat ? nil : rest, finish: finishReason(sequence)))
                        }
                    }
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            })
            response.headers[.contentType] = "text/event-stream"
            response.headers[.cacheControl] = "no-cache"
            return response
        }
        var sequences: [GeneratedSequence] = []
        for stream in streams {
            for try await event in stream { if case .finished(_, let sequence) = event { sequences.append(sequence) } }
        }
        var choices: [[String: Any]] = []
        for (index, (job, sequence)) in zip(jobs, sequences).enumerated() {
            var tokens = sequence.tokens, logprobs = sequence.logProbabilities
            if sequence.finishReason == .endOfSequence, tokens.last == endOfSequence { tokens.removeLast(); logprobs.removeLast() }
            let text = truncating(tokenizer.decode(tokens), atFirstOf: stops)
            var choice: [String: Any] = ["index": index, "finish_reason": finishReason(sequence)]
            let pieces = tokens.map { tokenizer.decode([$0]) }
            if chat {
                choice["message"] = ["role": "assistant", "content": text]
                choice["logprobs"] = parsed.logprobs
                    ? ["content": zip(pieces, logprobs).map { ["token": $0.0, "logprob": Double($0.1), "bytes": Array($0.0.utf8).map(Int.init), "top_logprobs": [Any]()] as [String: Any] }] as Any
                    : NSNull()
            } else {
                choice["text"] = text
                var offsets: [Int] = [], offset = job.prompt.count
                for piece in pieces { offsets.append(offset); offset += piece.count }
                choice["logprobs"] = parsed.logprobs
                    ? ["tokens": pieces, "token_logprobs": logprobs.map(Double.init), "top_logprobs": NSNull(), "text_offset": offsets] as Any
                    : NSNull()
            }
            choices.append(choice)
        }
        let completionTokens = sequences.map(\.tokens.count).reduce(0, +)
        return json(["id": id, "object": chat ? "chat.completion" : "text_completion", "created": created, "model": service.name, "choices": choices,
                     "usage": ["prompt_tokens": promptTokens, "completion_tokens": completionTokens, "total_tokens": promptTokens + completionTokens]])
    }

    /// POST /v1/score: `{"texts": [...]}` or `{"prompts": [...], "responses": [...]}` → `{"scores": [...]}`.
    static func score(_ request: Request, service: ModelService) async throws -> Response {
        try authorize(request, service)
        guard let scorer = service.scorer else { throw APIError(status: 404, "this server has no reward model; start it with --reward-model DIR") }
        guard let fields = (try? JSONSerialization.jsonObject(with: try await body(of: request))) as? [String: Any] else {
            throw APIError(status: 400, "the body is not a JSON object")
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = fields[key] else { return nil }
            guard let array = value as? [Any], !array.isEmpty, array.count <= ScoringQueue.maximumTexts, array.allSatisfy({ $0 is String }) else {
                throw APIError(status: 400, "'\(key)' must be an array of 1 to \(ScoringQueue.maximumTexts) strings", parameter: key)
            }
            return array.map { $0 as! String }
        }
        let prompts: [String], responses: [String]
        if let texts = try strings("texts") {
            (prompts, responses) = (Array(repeating: "", count: texts.count), texts)
        } else if let given = try strings("prompts"), let answers = try strings("responses") {
            guard given.count == answers.count else { throw APIError(status: 400, "'prompts' and 'responses' must have the same length", parameter: "responses") }
            (prompts, responses) = (given, answers)
        } else {
            throw APIError(status: 400, "give 'texts', or 'prompts' and 'responses'", parameter: "texts")
        }
        let scores = try await scorer.score(prompts: prompts, responses: responses)
        return json(["object": "list", "model": service.name, "scores": scores.map(Double.init)])
    }

    static func finishReason(_ sequence: GeneratedSequence) -> String { sequence.finishReason == .length ? "length" : "stop" }

    // MARK: Helpers

    /// The request body, at most ``ModelService/maximumBodySize`` bytes (413 beyond).
    static func body(of request: Request) async throws -> Data {
        do { return Data(buffer: try await request.body.collect(upTo: ModelService.maximumBodySize)) } catch {
            throw APIError(status: 413, "the request body is larger than \(ModelService.maximumBodySize) bytes")
        }
    }

    static func authorize(_ request: Request, _ service: ModelService) throws {
        guard let key = service.apiKey else { return }
        guard request.headers[.authorization] == "Bearer \(key)" else {
            throw APIError(status: 401, "a valid API key is required: send the header 'Authorization: Bearer KEY'")
        }
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        response.headers[.contentType] = "application/json"
        return response
    }

    /// Runs a handler, answers its error in OpenAI's shape, and records the status and latency.
    static func measured(_ service: ModelService, route: String, _ handler: () async throws -> Response) async -> Response {
        let started = Date()
        var response: Response
        do {
            response = try await handler()
        } catch {
            let apiError = error as? APIError ?? APIError(status: 500, "the server failed: \(error)")
            response = Response(status: HTTPResponse.Status(code: apiError.status), body: .init(byteBuffer: ByteBuffer(bytes: apiError.body)))
            response.headers[.contentType] = "application/json"
            if apiError.status == 503 { response.headers[.retryAfter] = "1" }
        }
        service.metrics.record(route: route, status: Int(response.status.code), seconds: Date().timeIntervalSince(started))
        return response
    }
}
