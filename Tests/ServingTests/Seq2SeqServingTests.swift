// An encoder-decoder served over the OpenAI-compatible API in process: the completion's prompt is
// the encoder's source, several choices and prompts decode side by side (each its own slot, its
// own encoded source and decoder cache), and each text is what `generate` writes for it alone.

import Foundation
import Hummingbird
import HummingbirdTesting
import Models
import Serving
import Tensors
import TestFamilies
import Testing
import Tokenizers

@Suite("Serving an encoder-decoder")
struct Seq2SeqServingTests {
    @Test("completions of a seq2seq model over HTTP equal generate's, alone and streamed; a source longer than the encoder takes is a 400")
    func completions() async throws {
        let tokenizer = try CharacterTokenizer(characters: Array(" abcdefghijklmnopqrstuvwxyz.,!?\n<|>".unicodeScalars))
        let model = TinySeq2SeqPolicy(TinySeq2SeqPolicyConfiguration(vocabularySize: tokenizer.vocabularySize, hiddenSize: 16, positions: 32,
                                                                     eosTokenId: nil, padTokenId: 0, dropout: 0), seed: 5)
        let engine = GenerationEngine(model: model, decode: { tokenizer.decode($0) }, maximumBatch: 3, maximumQueue: 8)
        defer { engine.shutdown() }
        let service = ModelService(name: "s2s", engine: engine, tokenizer: tokenizer, maxTokensLimit: 32)
        func alone(_ prompt: String, _ tokens: Int) throws -> String {
            var generator = RandomGenerator(seed: 0)
            let configuration = GenerationConfiguration(maxNewTokens: tokens, sampling: SamplingConfiguration(temperature: 0))
            return tokenizer.decode(try generate(model, prompts: [tokenizer.encode(prompt)], configuration: configuration, generator: &generator)[0].tokens)
        }
        let expected = [try alone("hello there", 10), try alone("hello there", 10), try alone("abc", 10), try alone("abc", 10)]
        let app = Application(router: ModelServer.router(service: service))
        try await app.test(.router) { client in
            // Two prompts × n 2 = four slots through a batch of three: slots join as others leave.
            let body = #"{"model":"s2s","prompt":["hello there","abc"],"max_tokens":10,"temperature":0,"n":2}"#
            let response = try await client.execute(uri: "/v1/completions", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
            #expect(response.status == .ok)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            let texts = try #require(object["choices"] as? [[String: Any]]).map { $0["text"] as? String }
            #expect(texts == expected)
            #expect(expected[0] != expected[2], "the two sources must decode differently for the check to mean anything")
            // Streamed: the same text.
            let streamed = try await client.execute(uri: "/v1/completions", method: .post, headers: [.contentType: "application/json"],
                                                    body: ByteBuffer(string: #"{"prompt":"abc","max_tokens":10,"temperature":0,"stream":true}"#))
            let events = String(buffer: streamed.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            let chunks = try events.dropLast().map { try #require(try JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]) }
            #expect(chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["text"] as? String) }.joined() == expected[2])
            // The encoder takes 32 tokens: a 40-character source is refused, naming the prompt.
            let long = try await client.execute(uri: "/v1/completions", method: .post, headers: [.contentType: "application/json"],
                                                body: ByteBuffer(string: #"{"prompt":"\#(String(repeating: "a", count: 40))","max_tokens":4}"#))
            #expect(long.status == .badRequest)
            let error = try #require(try JSONSerialization.jsonObject(with: Data(buffer: long.body)) as? [String: Any])["error"] as? [String: Any]
            #expect(error?["param"] as? String == "prompt" && (error?["message"] as? String)?.contains("encoder") == true, "\(String(describing: error))")
        }
    }
}
