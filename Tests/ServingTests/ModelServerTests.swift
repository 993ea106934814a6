// The OpenAI-compatible API in process: completions and chat in OpenAI's shape, streaming as
// server-sent events ending in [DONE] whose text equals the non-streamed text, and every bad
// request answered in OpenAI's error shape with the right status.

import Alignment
import Foundation
import Hummingbird
import HummingbirdTesting
import Models
import Serving
import Testing
import Tokenizers

/// A service over a tiny random model with a character tokenizer.
/// `slow`: a model big enough that a 1000-token request keeps the engine busy for a good part of a second.
/// A tiny model behind a service. `slow`: a wider, deeper model; `decodeDelay`: each text
/// decoding (once per token per row when a request has stop strings) sleeps this long.
func tinyService(apiKey: String? = nil, maximumBatch: Int = 4, maximumQueue: Int = 8, slow: Bool = false, decodeDelay: Duration? = nil) throws -> ModelService {
    let tokenizer = try CharacterTokenizer(characters: Array(" abcdefghijklmnopqrstuvwxyz.,!?\n<|>".unicodeScalars))
    let configuration = GPT2Configuration(vocabularySize: tokenizer.vocabularySize, positions: slow ? 1024 : 64, embeddingDimension: slow ? 256 : 16,
                                          layers: slow ? 4 : 1, heads: 2,
                                          residualDropout: 0, embeddingDropout: 0, attentionDropout: 0, initializerRange: 0.3,
                                          bosTokenId: nil, eosTokenId: nil)
    let model = GPT2LMHeadModel(configuration, seed: 3)
    let delay = decodeDelay.map { Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18 }
    let engine = GenerationEngine(model: model, decode: { tokens in
        if let delay { Thread.sleep(forTimeInterval: delay) }
        return tokenizer.decode(tokens)
    }, maximumBatch: maximumBatch, maximumQueue: maximumQueue)
    return ModelService(name: "tiny", engine: engine, tokenizer: tokenizer, apiKey: apiKey, maxTokensLimit: 32)
}

func object(_ response: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

@Suite("Model server")
struct ModelServerTests {
    @Test("completions and chat in OpenAI's shape; usage counts; the same seed gives the same text; streaming gives the same text")
    func completions() async throws {
        let service = try tinyService()
        defer { service.engine.shutdown() }
        let app = Application(router: ModelServer.router(service: service))
        try await app.test(.router) { client in
            let body = #"{"model":"tiny","prompt":"hello there","max_tokens":12,"temperature":0.8,"seed":7,"n":2,"logprobs":1}"#
            let first = try object(try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)))
            #expect(first["object"] as? String == "text_completion" && first["model"] as? String == "tiny")
            let choices = try #require(first["choices"] as? [[String: Any]])
            #expect(choices.count == 2 && choices.map { $0["index"] as? Int } == [0, 1])
            let usage = try #require(first["usage"] as? [String: Int])
            #expect(usage["prompt_tokens"] == 11 && usage["completion_tokens"] == 24 && usage["total_tokens"] == 35)
            let logprobs = try #require(choices[0]["logprobs"] as? [String: Any])
            #expect((logprobs["token_logprobs"] as? [Double])?.count == 12 && (logprobs["tokens"] as? [String])?.joined() == choices[0]["text"] as? String)
            let again = try object(try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)))
            #expect((again["choices"] as? [[String: Any]])?.map { $0["text"] as? String } == choices.map { $0["text"] as? String })

            // Streaming: chunks then [DONE]; the concatenated text equals the non-streamed text of choice 0.
            let streamed = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders,
                                                    body: ByteBuffer(string: #"{"prompt":"hello there","max_tokens":12,"temperature":0.8,"seed":7,"stream":true}"#))
            #expect(streamed.headers[.contentType] == "text/event-stream")
            let events = String(buffer: streamed.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            let chunks = try events.dropLast().map { try #require(try JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]) }
            let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["text"] as? String) }.joined()
            #expect(text == choices[0]["text"] as? String)
            #expect((chunks.last?["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "length")
            #expect(chunks.allSatisfy { $0["usage"] == nil })

            // stream_options.include_usage: one more chunk, with no choices and the usage.
            let counted = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: ByteBuffer(string:
                #"{"prompt":"hello there","max_tokens":12,"temperature":0.8,"seed":7,"stream":true,"stream_options":{"include_usage":true}}"#))
            let countedEvents = String(buffer: counted.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(countedEvents.count == events.count + 1 && countedEvents.last == "data: [DONE]")
            let usageChunk = try #require(try JSONSerialization.jsonObject(with: Data(countedEvents[countedEvents.count - 2].dropFirst(6).utf8)) as? [String: Any])
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true && usageChunk["usage"] as? [String: Int] == ["prompt_tokens": 11, "completion_tokens": 12, "total_tokens": 23])

            let chat = try object(try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: ByteBuffer(string:
                #"{"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_tokens":8,"seed":1}"#)))
            let message = try #require((chat["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])
            #expect(chat["object"] as? String == "chat.completion" && message["role"] as? String == "assistant" && message["content"] is String)
            let chatStream = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: ByteBuffer(string:
                #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":8,"seed":1,"stream":true}"#))
            let chatEvents = String(buffer: chatStream.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(chatEvents.first?.contains(#""role":"assistant""#) == true && chatEvents.last == "data: [DONE]")

            let models = try object(try await client.execute(uri: "/v1/models", method: .get))
            #expect((models["data"] as? [[String: Any]])?.first?["id"] as? String == "tiny")
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("rlhf_requests_total{route=\"/v1/completions\",status=\"200\"} 4") && metrics.contains("rlhf_generated_tokens_total"))
        }
    }

    @Test("bad requests: 400 naming the field, 404 for another model, 413 for a large body, all in OpenAI's error shape", arguments: [
        (#"{"prompt":"hi","max_tokens":"ten"}"#, 400, "max_tokens"), (#"{"prompt":"hi","max_tokens":33}"#, 400, "max_tokens"),
        (#"{"prompt":5}"#, 400, "prompt"), (#"{"prompt":"hi","n":0}"#, 400, "n"), (#"{"prompt":"hi","temperature":3}"#, 400, "temperature"),
        (#"{"prompt":"hi","stream":"yes"}"#, 400, "stream"), (#"{"prompt":"hi","stop":[1]}"#, 400, "stop"), (#"not json"#, 400, ""),
        (#"{"prompt":"\#(String(repeating: "a", count: 40))","max_tokens":30}"#, 400, "prompt"), (#"{"prompt":"hi","model":"gpt-4"}"#, 404, "model"),
        (#"{"prompt":"\#(String(repeating: "a", count: 1_100_000))"}"#, 413, ""), (#"{"prompt":"HI"}"#, 400, "prompt"),
        (#"{"prompt":"hi","stream":true,"stream_options":{"include_usage":1}}"#, 400, "stream_options"),
        (#"{"prompt":"hi","stream":true,"stream_options":{"other":true}}"#, 400, "stream_options"),
    ])
    func badRequests(body: String, status: Int, parameter: String) async throws {
        let service = try tinyService()
        defer { service.engine.shutdown() }
        let app = Application(router: ModelServer.router(service: service))
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body))
            #expect(Int(response.status.code) == status)
            let error = try #require(try object(response)["error"] as? [String: Any])
            #expect(error["message"] is String && error["type"] is String)
            if !parameter.isEmpty { #expect(error["param"] as? String == parameter) }
        }
        #expect(service.engine.current.completed == 0)
    }

    @Test("unknown routes and methods answer in OpenAI's error shape; a fan-out beyond the engine's capacity and over 64 prompts are 400; a denormal temperature with logprobs decodes greedily and answers strict JSON")
    func hostileEdges() async throws {
        let service = try tinyService()
        defer { service.engine.shutdown() }
        let app = Application(router: ModelServer.router(service: service))
        try await app.test(.router) { client in
            for (uri, method) in [("/nope", HTTPRequest.Method.get), ("/v1/completions", .get), ("/v1/../etc/passwd", .post)] {
                let response = try await client.execute(uri: uri, method: method, headers: jsonHeaders, body: ByteBuffer(string: "{}"))
                #expect(response.status.code >= 400 && response.status.code < 500, "\(method) \(uri)")
                let error = try #require(try object(response)["error"] as? [String: Any], "\(method) \(uri)")
                #expect(error["message"] is String && error["type"] as? String == "invalid_request_error")
            }
            // More generations than the engine could ever hold (batch 4 + queue 8 = 12): 400 naming the limit, not 503.
            let prompts = (0..<7).map { "\"p\($0)\"" }.joined(separator: ",")
            let fanOut = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders,
                                                  body: ByteBuffer(string: #"{"prompt":[\#(prompts)],"n":2,"max_tokens":2}"#))
            let fanOutError = try #require(try object(fanOut)["error"] as? [String: Any])
            #expect(fanOut.status == .badRequest && (fanOutError["message"] as? String)?.contains("at most 12") == true && fanOutError["param"] as? String == "n")
            let many = (0..<65).map { _ in "\"p\"" }.joined(separator: ",")
            let tooMany = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders,
                                                   body: ByteBuffer(string: #"{"prompt":[\#(many)],"max_tokens":2}"#))
            let tooManyError = try #require(try object(tooMany)["error"] as? [String: Any])
            #expect(tooMany.status == .badRequest && tooManyError["param"] as? String == "prompt")
            for temperature in ["1e-40", "1e-30", "0.00001"] {
                let body = ByteBuffer(string: #"{"prompt":"hi","max_tokens":4,"temperature":\#(temperature),"logprobs":1}"#)
                let response = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: body)
                #expect(response.status == .ok, "temperature \(temperature)")
                let choices = try #require(try object(response)["choices"] as? [[String: Any]])
                #expect(choices.count == 1 && (choices[0]["text"] as? String) != nil)
            }
        }
        #expect(constantTimeEqual(Array("key".utf8), Array("key".utf8)) && !constantTimeEqual(Array("key".utf8), Array("kez".utf8))
                && !constantTimeEqual(Array("key".utf8), Array("keys".utf8)) && !constantTimeEqual([], Array("k".utf8)))
    }

    @Test("with metricsNeedKey, /metrics needs the API key as well")
    func metricsBehindKey() async throws {
        let base = try tinyService()
        let service = ModelService(name: "tiny", engine: base.engine, tokenizer: base.tokenizer, apiKey: "sesame", maxTokensLimit: 32, metricsNeedKey: true)
        defer { service.engine.shutdown() }
        try await Application(router: ModelServer.router(service: service)).test(.router) { client in
            let refused = try await client.execute(uri: "/metrics", method: .get)
            let refusal = try object(refused)["error"] as? [String: Any]
            #expect(refused.status == .unauthorized && refusal?["type"] as? String == "authentication_error")
            let allowed = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer sesame"])
            #expect(allowed.status == .ok && String(buffer: allowed.body).contains("# TYPE"))
        }
    }

    @Test("an API key, when set, is required as a Bearer token; a full queue is 503 with Retry-After")
    func keyAndOverload() async throws {
        let service = try tinyService(apiKey: "sesame", maximumBatch: 1, maximumQueue: 0, slow: true)
        defer { service.engine.shutdown() }
        let app = Application(router: ModelServer.router(service: service))
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"prompt":"hi","max_tokens":4}"#)
            let missing = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: body)
            let missingError = try object(missing)["error"] as? [String: Any]
            #expect(missing.status == .unauthorized && missingError?["type"] as? String == "authentication_error")
            var headers = jsonHeaders
            headers[.authorization] = "Bearer wrong"
            #expect(try await client.execute(uri: "/v1/models", method: .get, headers: headers).status == .unauthorized)
            headers[.authorization] = "Bearer sesame"
            #expect(try await client.execute(uri: "/v1/completions", method: .post, headers: headers, body: body).status == .ok)
            // The scheme in any case; a key that shares a prefix, or is longer, is still wrong.
            for (value, status) in [("bearer sesame", HTTPResponse.Status.ok), ("BEARER  sesame", .ok), ("Bearer sesam", .unauthorized),
                                    ("Bearer sesame2", .unauthorized), ("Basic sesame", .unauthorized), ("sesame", .unauthorized)] {
                headers[.authorization] = value
                #expect(try await client.execute(uri: "/v1/models", method: .get, headers: headers).status == status, "\(value)")
            }
            headers[.authorization] = "Bearer sesame"
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .ok)  // open unless asked otherwise
            // Hold the engine, fill the only place, then ask again.
            service.engine.pause()
            let busy = try service.engine.submit(DecodingRequest(prompt: [1], configuration: GenerationConfiguration(maxNewTokens: 1000, stopAtEndOfSequence: false)))
            let refused = try await client.execute(uri: "/v1/completions", method: .post, headers: headers, body: body)
            #expect(refused.status == .serviceUnavailable && refused.headers[.retryAfter] == "1")
            service.engine.resume()
            for try await _ in busy { break }  // stop listening: the engine drops the request
        }
    }
}

@Suite("Incremental text")
struct IncrementalTextTests {
    @Test("a scalar that joins the previous grapheme is still sent; incomplete UTF-8 and possible stop strings are held back")
    func deltas() {
        let pieces = [1: "a\u{0604}", 2: "Ջ", 3: "xyE", 4: "N", 5: "D", 6: "b\u{FFFD}", 7: "é"]
        let decode: ([Int]) -> String = { tokens in tokens.map { pieces[$0]! }.joined() }
        var joined = IncrementalText(decode: decode, stops: [])
        #expect(joined.add(1) == "a\u{0604}" && joined.add(2) == "Ջ" && joined.finish(dropping: false) == "")

        var stopped = IncrementalText(decode: decode, stops: ["END"])
        #expect(stopped.add(3) == "x" && stopped.add(4) == "y" && stopped.add(5) == "" && stopped.finish(dropping: false) == "")

        // "b\u{FFFD}" then "é": with a decoder that shows an unfinished character as U+FFFD.
        var partial = IncrementalText(decode: { $0 == [6] ? "b\u{FFFD}" : "bé" }, stops: [])
        #expect(partial.add(6) == "b" && partial.add(7) == "é")
        var ended = IncrementalText(decode: decode, stops: [])
        #expect(ended.add(1) == "a\u{0604}" && ended.add(2) == "Ջ" && ended.finish(dropping: true) == "")
    }
}

/// Scores a response by its length, so the expected numbers are known.
struct LengthReward: RewardFunction {
    func rewards(prompts: [String], responses: [String]) throws -> [Float] { responses.map { Float($0.count) } }
}

/// LengthReward once let through: each call waits for one `release()` (at most 60 s: a test that
/// forgets to release fails with an error instead of hanging the whole run).
final class GatedLengthReward: RewardFunction, @unchecked Sendable {
    struct NeverReleased: Error {}
    let gate = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var calls = 0
    /// Calls that have reached the gate.
    var entered: Int { lock.withLock { calls } }
    func release(_ count: Int = 1) { for _ in 0..<count { gate.signal() } }
    func rewards(prompts: [String], responses: [String]) throws -> [Float] {
        lock.withLock { calls += 1 }
        guard gate.wait(timeout: .now() + 60) == .success else { throw NeverReleased() }
        return responses.map { Float($0.count) }
    }
}

@Suite("Model server scoring")
struct ModelServerScoringTests {
    @Test("the scoring queue is bounded: beyond its places a request is refused at once (503), and one that waited too long is refused unscored")
    func boundedScoring() async throws {
        let gated = GatedLengthReward()
        let full = ScoringQueue(reward: gated, maximumPending: 2)
        async let first = full.score(prompts: [""], responses: ["ab"])
        async let second = full.score(prompts: [""], responses: ["abc"])
        let deadline = Date().addingTimeInterval(30)
        while full.pendingCount < 2 && Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        guard full.pendingCount == 2 else { gated.release(10); Issue.record("two requests never got in"); return }
        for _ in 0..<3 {
            do { _ = try await full.score(prompts: [""], responses: ["x"]); Issue.record("expected a refusal") } catch let error as APIError {
                #expect(error.status == 503 && error.message.contains("full"))
            }
        }
        gated.release(2)
        let (a, b) = (try await first, try await second)
        #expect(a == [2] && b == [3])
        gated.release()
        #expect(try await full.score(prompts: [""], responses: ["abcd"]) == [4])  // places free again
        let slow = GatedLengthReward()
        let impatient = ScoringQueue(reward: slow, maximumPending: 4, maximumWait: 0.2)
        let running = Task { try await impatient.score(prompts: [""], responses: ["a"]) }
        let enteredBy = Date().addingTimeInterval(60)
        while slow.entered < 1 && Date() < enteredBy { try await Task.sleep(for: .milliseconds(5)) }  // "a" is scoring
        let waiting = Task { try await impatient.score(prompts: [""], responses: ["b"]) }
        // A fresh deadline: on a loaded machine the first half of the test may already have taken long.
        let queuedBy = Date().addingTimeInterval(60)
        while impatient.pendingCount < 2 && Date() < queuedBy { try await Task.sleep(for: .milliseconds(5)) }
        guard impatient.pendingCount == 2 else { slow.release(10); Issue.record("the second request never queued"); return }
        try await Task.sleep(for: .milliseconds(300))  // "b" has now waited longer than 0.2 s
        slow.release()
        let ran = try await running.value
        #expect(ran == [1])
        var refusal: APIError?
        do { _ = try await waiting.value } catch let error as APIError { refusal = error }
        #expect(refusal?.status == 503 && refusal?.message.contains("waited") == true, "\(String(describing: refusal))")
    }

    @Test("/v1/score: texts or prompt/response pairs → scores; bad bodies are 400 naming the field; no reward model is 404")
    func score() async throws {
        let plain = try tinyService()
        defer { plain.engine.shutdown() }
        let base = try tinyService()
        let service = ModelService(name: "tiny", engine: base.engine, tokenizer: try CharacterTokenizer(characters: Array("ab".unicodeScalars)),
                                   scorer: ScoringQueue(reward: LengthReward()))
        defer { service.engine.shutdown() }
        try await Application(router: ModelServer.router(service: service)).test(.router) { client in
            let texts = try object(try await client.execute(uri: "/v1/score", method: .post, headers: jsonHeaders, body: ByteBuffer(string: #"{"texts":["a","abc"]}"#)))
            #expect(texts["scores"] as? [Double] == [1, 3])
            let pairs = try object(try await client.execute(uri: "/v1/score", method: .post, headers: jsonHeaders,
                                                           body: ByteBuffer(string: #"{"prompts":["p","q"],"responses":["xy",""]}"#)))
            #expect(pairs["scores"] as? [Double] == [2, 0])
            for (body, parameter) in [(#"{"texts":[]}"#, "texts"), (#"{"texts":[1]}"#, "texts"), (#"{"prompts":["p"],"responses":["a","b"]}"#, "responses"), (#"{}"#, "texts")] {
                let response = try await client.execute(uri: "/v1/score", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body))
                let error = try object(response)["error"] as? [String: Any]
                #expect(response.status == .badRequest && error?["param"] as? String == parameter, "\(body)")
            }
        }
        try await Application(router: ModelServer.router(service: plain)).test(.router) { client in
            let response = try await client.execute(uri: "/v1/score", method: .post, headers: jsonHeaders, body: ByteBuffer(string: #"{"texts":["a"]}"#))
            #expect(response.status == .notFound)
        }
    }
}
