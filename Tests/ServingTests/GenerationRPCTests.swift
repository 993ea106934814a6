// The gRPC service in process over a real loopback connection: Generate, GenerateStream and Score
// through the generated Swift client; the same seed gives the HTTP API's text; errors arrive as
// the matching gRPC status codes.

import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Hummingbird
import HummingbirdTesting
import Serving
import Testing
import Models
import Tokenizers

/// Runs `body` with a client of a gRPC server over `service` on a free loopback port.
func withGenerationServer(_ service: ModelService, _ body: (Rlhf_V1_Generation.Client<HTTP2ClientTransport.Posix>) async throws -> Void) async throws {
    let server = GRPCServer(transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
                            services: [GenerationRPCService(service: service)])
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        do {
            let port = try #require(try await server.listeningAddress?.ipv4?.port)
            try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
                try await body(Rlhf_V1_Generation.Client(wrapping: client))
            }
        } catch {
            server.beginGracefulShutdown()
            throw error
        }
        server.beginGracefulShutdown()
        try await group.waitForAll()
    }
}

/// The status code a call fails with, or nil when it succeeds.
func statusCode(_ call: () async throws -> Void) async -> RPCError.Code? {
    do {
        try await call()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}

@Suite("gRPC generation service")
struct GenerationRPCTests {
    @Test("Generate, GenerateStream and Score through the generated client; the same seed gives the HTTP API's text")
    func calls() async throws {
        let base = try tinyService()
        let service = ModelService(name: "tiny", engine: base.engine, tokenizer: base.tokenizer, maxTokensLimit: 32, scorer: ScoringQueue(reward: LengthReward()))
        defer { service.engine.shutdown() }
        // The HTTP API's answer to the same request, for comparison.
        let httpTexts = try await Application(router: ModelServer.router(service: service)).test(.router) { client -> [String] in
            let body = #"{"prompt":"hello there","max_tokens":12,"temperature":0.8,"seed":7,"n":2}"#
            let answer = try object(try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)))
            return (answer["choices"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        }
        try await withGenerationServer(service) { client in
            let request = Rlhf_V1_GenerateRequest.with {
                $0.prompt = "hello there"
                $0.maxTokens = 12
                $0.temperature = 0.8
                $0.seed = 7
                $0.n = 2
                $0.logprobs = true
            }
            let response = try await client.generate(request)
            #expect(response.model == "tiny" && response.id.hasPrefix("cmpl-"))
            #expect(response.choices.map(\.index) == [0, 1] && response.choices.map(\.text) == httpTexts && httpTexts.count == 2)
            #expect(response.usage.promptTokens == 11 && response.usage.completionTokens == 24 && response.usage.totalTokens == 35)
            let first = response.choices[0]
            #expect(first.finishReason == "length" && first.tokenIds.count == 12 && first.logprobs.count == 12 && first.logprobs.allSatisfy { $0 <= 0 })
            #expect(service.tokenizer.decode(first.tokenIds.map { Int($0) }) == first.text)

            // Streamed: the pieces of choice 0 join to its text; only the last chunk has a finish reason and the usage.
            var single = request
            single.n = 1
            single.logprobs = false
            let chunks = try await client.generateStream(single) { response in
                var chunks: [Rlhf_V1_GenerateChunk] = []
                for try await chunk in response.messages { chunks.append(chunk) }
                return chunks
            }
            #expect(chunks.count > 1 && chunks.map(\.text).joined() == first.text)
            #expect(chunks.dropLast().allSatisfy { $0.finishReason.isEmpty && !$0.hasUsage })
            #expect(chunks.last?.finishReason == "length" && chunks.last?.usage.completionTokens == 12 && chunks.last?.usage.promptTokens == 11)

            // Chat messages.
            let chat = try await client.generate(.with {
                $0.messages = [.with { $0.role = "user"; $0.content = "hi" }]
                $0.maxTokens = 8
                $0.seed = 1
            })
            #expect(chat.id.hasPrefix("chatcmpl-") && chat.choices.count == 1 && chat.choices[0].tokenIds.count <= 8)

            let texts = try await client.score(.with { $0.texts = ["a", "abc"] })
            #expect(texts.scores == [1, 3] && texts.model == "tiny")
            let pairs = try await client.score(.with { $0.prompts = ["p", "q"]; $0.responses = ["xy", ""] })
            #expect(pairs.scores == [2, 0])
            #expect(await statusCode { _ = try await client.score(.with { $0.prompts = ["p"]; $0.responses = ["a", "b"] }) } == .invalidArgument)
            #expect(await statusCode { _ = try await client.score(Rlhf_V1_ScoreRequest()) } == .invalidArgument)
        }
    }

    @Test("bad requests are INVALID_ARGUMENT, another model NOT_FOUND, a missing key UNAUTHENTICATED, a full queue RESOURCE_EXHAUSTED")
    func errors() async throws {
        let service = try tinyService(apiKey: "sesame", maximumBatch: 1, maximumQueue: 0, slow: true)
        defer { service.engine.shutdown() }
        try await withGenerationServer(service) { client in
            let key: Metadata = ["authorization": "Bearer sesame"]
            let valid = Rlhf_V1_GenerateRequest.with { $0.prompt = "hi"; $0.maxTokens = 4 }
            #expect(await statusCode { _ = try await client.generate(valid) } == .unauthenticated)
            #expect(await statusCode { _ = try await client.generate(valid, metadata: ["authorization": "Bearer wrong"]) } == .unauthenticated)
            #expect(await statusCode { _ = try await client.score(.with { $0.texts = ["a"] }) } == .unauthenticated)
            #expect(await statusCode { _ = try await client.generate(valid, metadata: key) } == nil)

            var tooLong = valid
            tooLong.maxTokens = 1000
            var otherModel = valid
            otherModel.model = "gpt-4"
            var both = valid
            both.messages = [.with { $0.role = "user"; $0.content = "hi" }]
            var badRole = Rlhf_V1_GenerateRequest()
            badRole.messages = [.with { $0.role = "robot"; $0.content = "hi" }]
            var hot = valid
            hot.temperature = 3
            var many = valid
            many.n = 100
            for (name, request, code) in [("max_tokens", tooLong, RPCError.Code.invalidArgument), ("model", otherModel, .notFound),
                                          ("prompt and messages", both, .invalidArgument), ("role", badRole, .invalidArgument),
                                          ("temperature", hot, .invalidArgument), ("n", many, .invalidArgument),
                                          ("empty prompt", Rlhf_V1_GenerateRequest(), .invalidArgument)] {
                #expect(await statusCode { _ = try await client.generate(request, metadata: key) } == code, "\(name)")
                #expect(await statusCode { try await client.generateStream(request, metadata: key) { for try await _ in $0.messages {} } } == code, "\(name), streamed")
            }
            // No reward model.
            #expect(await statusCode { _ = try await client.score(.with { $0.texts = ["a"] }, metadata: key) } == .notFound)

            // Hold the engine, fill the only place, then ask again.
            service.engine.pause()
            let busy = try service.engine.submit(DecodingRequest(prompt: [1], configuration: GenerationConfiguration(maxNewTokens: 1000, stopAtEndOfSequence: false)))
            #expect(await statusCode { _ = try await client.generate(valid, metadata: key) } == .resourceExhausted)
            service.engine.resume()
            for try await _ in busy { break }
        }
    }
}
