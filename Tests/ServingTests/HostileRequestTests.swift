// The hostile-request suite: completion and chat requests whose fields hold random hostile values
// (null, negative, huge and tiny numbers, huge strings, nested arrays and objects, wrong types),
// plus bodies that are not what a parser expects (duplicate keys, deep nesting, invalid UTF-8,
// truncation). Every answer must be a 2xx with strict JSON (or a well-formed event stream), or a
// 4xx/503 in OpenAI's error shape; the server must answer /health afterwards.

import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import Serving
import Testing

/// What the suite saw: requests sent, answers by status, and the answers that broke the rules.
struct HostileTally: CustomStringConvertible {
    var requests = 0
    var statuses: [Int: Int] = [:]
    var failures: [String] = []

    var description: String {
        let byStatus = statuses.keys.sorted().map { "\($0): \(statuses[$0]!)" }.joined(separator: ", ")
        return "\(requests) requests; statuses {\(byStatus)}; \(failures.count) failures"
    }
}

enum HostileValues {
    /// JSON texts of hostile values.
    static let values: [String] = [
        "null", "true", "false", "0", "-1", "-0", "1", "2", "3", "64", "1000000", "-1000000", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "1e308", "-1e308", "1e-40", "-1e-40", "4.9e-324", "0.5", "1.5", "2.0000001", "1e400",
        "\"\"", "\"hi\"", "\"NaN\"", "\"Infinity\"", "\"-1\"", "\"\\u0000\"", "\"\\ud800\"", "\"<script>alert(1)</script>\"",
        "\"" + String(repeating: "a", count: 100_000) + "\"", "\"" + String(repeating: "é", count: 3_000) + "\"",
        "[]", "[1]", "[\"a\"]", "[\"a\",\"b\"]", "[null]", "[[\"a\"]]", "[[[[[[[[[]]]]]]]]]", "[" + Array(repeating: "\"x\"", count: 2_000).joined(separator: ",") + "]",
        "{}", "{\"a\":1}", "{\"include_usage\":true}", "{\"include_usage\":\"yes\"}", "[{\"role\":\"user\",\"content\":\"hi\"}]",
        "[{\"role\":\"user\",\"content\":null}]", "[{\"role\":\"wizard\",\"content\":\"hi\"}]", "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]",
        "[{\"content\":\"hi\"}]", "[{\"role\":\"user\"}]",
    ]

    static let completionFields = ["model", "prompt", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "stream", "stream_options",
                                   "logprobs", "stop", "seed", "user", "echo", "best_of", "logit_bias", "suffix"]
    static let chatFields = ["model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "stream", "stream_options",
                             "logprobs", "stop", "seed", "user", "tools", "response_format"]

    /// A request body: a valid base with 1–3 fields set to hostile values.
    static func body(chat: Bool, using generator: inout SplitMix64) -> String {
        var fields: [String: String] = chat ? ["messages": "[{\"role\":\"user\",\"content\":\"hello\"}]", "max_tokens": "4"]
                                            : ["prompt": "\"hello\"", "max_tokens": "4"]
        let names = chat ? chatFields : completionFields
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            fields[names.randomElement(using: &generator)!] = values.randomElement(using: &generator)!
        }
        return "{" + fields.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }

    /// Bodies no field mutation makes: broken or adversarial JSON.
    static let odd: [String] = [
        "", " ", "null", "[]", "\"hello\"", "42", "{", "{\"prompt\":", "{\"prompt\":\"hi\",}", "{'prompt':'hi'}",
        "{\"prompt\":\"a\",\"prompt\":\"b\",\"max_tokens\":2}", "{\"prompt\":\"a\",\"max_tokens\":2,\"max_tokens\":-5}",
        String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000),
        "{\"prompt\":" + String(repeating: "[", count: 5_000) + "\"a\"" + String(repeating: "]", count: 5_000) + "}",
        String(repeating: "{\"a\":", count: 20_000) + "1" + String(repeating: "}", count: 20_000),
        "{\"prompt\":\"hi\",\"max_tokens\":4}" + String(repeating: " ", count: 10_000) + "x",
        "{\"prompt\":NaN}", "{\"prompt\":\"hi\",\"temperature\":Infinity}", "{\"prompt\":\"hi\",\"temperature\":-Infinity}",
        "{\"prompt\":\"hi\",\"max_tokens\":4,\"n\":1e1}", "{\"prompt\":[\"a\",\"b\",\"c\"],\"n\":4,\"max_tokens\":2}",
        // The cases found by hand: a denormal temperature with log-probabilities, a fan-out beyond the engine.
        "{\"prompt\":\"hi\",\"max_tokens\":4,\"temperature\":1e-40,\"logprobs\":1}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4,\"temperature\":1e-40,\"logprobs\":true}",
        "{\"prompt\":[" + Array(repeating: "\"a\"", count: 85).joined(separator: ",") + "],\"n\":2,\"max_tokens\":2}",
    ]
}

@Suite("Hostile requests")
struct HostileRequestTests {
    /// Checks one answer against the rules; returns what broke them, if anything.
    static func violation(status: Int, contentType: String?, body: ByteBuffer) -> String? {
        let data = Data(buffer: body)
        switch status {
        case 200..<300:
            if contentType == "text/event-stream" {
                let events = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
                guard events.last == "data: [DONE]" else { return "a stream that does not end with [DONE]" }
                for event in events.dropLast() {
                    guard event.hasPrefix("data: "), (try? JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8))) is [String: Any] else {
                        return "a stream event that is not a JSON object: \(event.prefix(120))"
                    }
                }
                return nil
            }
            guard !data.isEmpty else { return "an empty 2xx body" }
            guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else { return "a 2xx body that is not strict JSON: \(String(decoding: data.prefix(160), as: UTF8.self))" }
            return nil
        case 400..<500, 503:
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let error = object["error"] as? [String: Any],
                  error["message"] is String, error["type"] is String, error.keys.contains("param"), error.keys.contains("code") else {
                return "a \(status) not in OpenAI's error shape: \(String(decoding: data.prefix(160), as: UTF8.self))"
            }
            return nil
        default:
            return "status \(status): \(String(decoding: data.prefix(200), as: UTF8.self))"
        }
    }

    @Test("random hostile values in every field of completion and chat requests, and malformed bodies: 2xx strict JSON or 4xx/503 in OpenAI's shape; the server lives")
    func hostileSuite() async throws {
        let service = try tinyService(maximumBatch: 4, maximumQueue: 8)
        defer { service.engine.shutdown() }
        var tally = HostileTally()
        var generator = SplitMix64(seed: 20)  // the reported before/after runs used this sequence
        var requests: [(route: String, body: String)] = []
        for index in 0..<600 {
            let chat = index % 2 == 1
            requests.append((chat ? "/v1/chat/completions" : "/v1/completions", HostileValues.body(chat: chat, using: &generator)))
        }
        for body in HostileValues.odd {
            requests.append(("/v1/completions", body))
            requests.append(("/v1/chat/completions", body))
        }
        let app = Application(router: ModelServer.router(service: service))
        let all = requests
        tally = try await app.test(.router) { client -> HostileTally in
            var tally = HostileTally()
            for (route, body) in all {
                let response = try await client.execute(uri: route, method: .post, headers: jsonHeaders, body: ByteBuffer(string: body))
                tally.requests += 1
                tally.statuses[Int(response.status.code), default: 0] += 1
                if let problem = Self.violation(status: Int(response.status.code), contentType: response.headers[.contentType], body: response.body) {
                    tally.failures.append("\(route) \(body.prefix(160)) → \(problem)")
                }
            }
            // Routes and methods that do not exist.
            for (uri, method) in [("/v1/nothing", HTTPRequest.Method.post), ("/v1/completions", .get), ("/", .get), ("/v1/models/x", .delete)] {
                let response = try await client.execute(uri: uri, method: method, headers: jsonHeaders, body: ByteBuffer(string: "{}"))
                tally.requests += 1
                tally.statuses[Int(response.status.code), default: 0] += 1
                if let problem = Self.violation(status: Int(response.status.code), contentType: response.headers[.contentType], body: response.body) {
                    tally.failures.append("\(method) \(uri) → \(problem)")
                }
            }
            // Invalid UTF-8 in a string, and a body that is not JSON text at all.
            for bytes in [[UInt8](#"{"prompt":""#.utf8) + [0xFF, 0xFE, 0xC3] + [UInt8](#"","max_tokens":2}"#.utf8), [0x00, 0x01, 0x02, 0xFF]] {
                let response = try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: ByteBuffer(bytes: bytes))
                tally.requests += 1
                tally.statuses[Int(response.status.code), default: 0] += 1
                if let problem = Self.violation(status: Int(response.status.code), contentType: response.headers[.contentType], body: response.body) {
                    tally.failures.append("invalid UTF-8 → \(problem)")
                }
            }
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok, "the server no longer answers /health")
            return tally
        }
        print("hostile suite: \(tally)")
        #expect(tally.failures.isEmpty, "\(tally)\n\(tally.failures.prefix(20).joined(separator: "\n"))")
        #expect(tally.statuses.keys.contains(200) && tally.statuses.keys.contains(400), "the suite should see both accepted and refused requests: \(tally)")
        #expect(service.engine.current.queued == 0 && service.engine.current.active == 0)
    }
}
