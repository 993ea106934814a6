// A closed-loop load test of an OpenAI-compatible completions endpoint: N clients each send a
// request, wait for the whole answer, and send the next, for T seconds (or until a request count
// is reached). It reports statuses, requests/s, latency percentiles and generated tokens/s (from
// the answers' usage; streamed answers ask for it with stream_options.include_usage).

import AsyncHTTPClient
import Foundation

/// What to send, how hard and for how long.
public struct LoadTestConfiguration: Sendable {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    public var url: URL
    /// Clients sending at once.
    public var clients: Int
    /// Seconds to keep sending.
    public var duration: TimeInterval
    /// Stop after this many requests (nil: only the duration bounds the run).
    public var maximumRequests: Int?
    /// The prompts, used in turn.
    public var prompts: [String]
    /// `max_tokens` and `temperature` of each request.
    public var maxTokens: Int, temperature: Float
    /// Whether to stream (server-sent events).
    public var stream: Bool
    /// A bearer key, if the server needs one.
    public var apiKey: String?

    /// A configuration.
    public init(url: URL, clients: Int, duration: TimeInterval, maximumRequests: Int? = nil, prompts: [String], maxTokens: Int,
                temperature: Float = 1, stream: Bool = false, apiKey: String? = nil) {
        self.url = url
        self.clients = clients
        self.duration = duration
        self.maximumRequests = maximumRequests
        self.prompts = prompts
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stream = stream
        self.apiKey = apiKey
    }
}

/// What a load test saw.
public struct LoadTestReport: Codable, Sendable, Equatable {
    public var clients: Int
    public var stream: Bool
    /// Wall-clock seconds from the first request to the last answer.
    public var seconds: Double
    public var requests: Int
    /// Answers per HTTP status ("200", "503", …); failed connections count as "error".
    public var statuses: [String: Int]
    public var requestsPerSecond: Double
    /// Latency of successful requests, milliseconds.
    public var latencyP50: Double, latencyP99: Double, latencyMax: Double
    /// New tokens in successful answers, and per second of the run.
    public var completionTokens: Int
    public var tokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case clients, stream, seconds, requests, statuses
        case requestsPerSecond = "requests_per_second"
        case latencyP50 = "latency_p50_ms", latencyP99 = "latency_p99_ms", latencyMax = "latency_max_ms"
        case completionTokens = "completion_tokens", tokensPerSecond = "tokens_per_second"
    }

    /// The count of answers with a 5xx status other than 503, plus failed connections.
    public var unexpectedFailures: Int {
        statuses.filter { $0.key == "error" || ($0.key.hasPrefix("5") && $0.key != "503") }.values.reduce(0, +)
    }

    /// One line for people.
    public var summary: String {
        let counts = statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        return String(format: "%d clients%@: %d requests in %.1f s (%@) = %.1f req/s; latency p50 %.0f ms, p99 %.0f ms; %d new tokens = %.1f tokens/s",
                      clients, stream ? " streaming" : "", requests, seconds, counts, requestsPerSecond, latencyP50, latencyP99,
                      completionTokens, tokensPerSecond)
    }
}

/// Runs load tests.
public enum LoadTest {
    /// The `q`-quantile (0…1) of `values` by the nearest-rank method; 0 for none.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Sends requests from `configuration.clients` clients until the time or the request budget
    /// runs out. A 503 is counted and the client waits as its Retry-After says (at most 5 s;
    /// 10 ms without one) before its next request. Each request may take 120 s and its answer
    /// 64 MiB at most; beyond either it counts as "error".
    public static func run(_ configuration: LoadTestConfiguration) async -> LoadTestReport {
        let client = HTTPExchange.makeClient(connectionsPerHost: configuration.clients)
        let report = await run(configuration, through: client)
        try? await client.shutdown()
        return report
    }

    /// The longest a request may take, and the largest answer accepted.
    static let requestTimeout: TimeInterval = 120, maximumAnswerBytes = 64 << 20

    /// ``run(_:)`` on a given client.
    static func run(_ configuration: LoadTestConfiguration, through client: HTTPClient) async -> LoadTestReport {
        let endpoint = configuration.url.appendingPathComponent("v1/completions")
        let budget = RequestBudget(limit: configuration.maximumRequests)
        let started = Date()
        let deadline = started.addingTimeInterval(configuration.duration)
        let results = await withTaskGroup(of: [Outcome].self) { group in
            for index in 0..<configuration.clients {
                group.addTask {
                    var outcomes: [Outcome] = []
                    while Date() < deadline, let number = budget.take() {
                        let prompt = configuration.prompts[(number + index) % configuration.prompts.count]
                        let outcome = await send(prompt: prompt, to: endpoint, configuration: configuration, client: client)
                        outcomes.append(outcome)
                        if let wait = outcome.retryAfter { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                    }
                    return outcomes
                }
            }
            var all: [Outcome] = []
            for await outcomes in group { all += outcomes }
            return all
        }
        let seconds = max(Date().timeIntervalSince(started), 1e-9)
        let succeeded = results.filter { $0.status == "200" }
        let latencies = succeeded.map { $0.seconds * 1000 }
        let tokens = succeeded.map(\.completionTokens).reduce(0, +)
        return LoadTestReport(clients: configuration.clients, stream: configuration.stream, seconds: seconds, requests: results.count,
                              statuses: Dictionary(grouping: results, by: \.status).mapValues(\.count),
                              requestsPerSecond: Double(results.count) / seconds,
                              latencyP50: percentile(latencies, 0.5), latencyP99: percentile(latencies, 0.99), latencyMax: latencies.max() ?? 0,
                              completionTokens: tokens, tokensPerSecond: Double(tokens) / seconds)
    }

    struct Outcome {
        var status: String
        var seconds: Double
        var completionTokens: Int
        /// For a 503: the seconds its Retry-After asks for (at most 5; 0.01 without one).
        var retryAfter: Double? = nil
    }

    /// One request; its status ("error" when the connection failed, the deadline passed or the
    /// answer was too large) and completion tokens.
    static func send(prompt: String, to endpoint: URL, configuration: LoadTestConfiguration, client: HTTPClient) async -> Outcome {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let key = configuration.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        var body: [String: Any] = ["prompt": prompt, "max_tokens": configuration.maxTokens, "temperature": Double(configuration.temperature)]
        if configuration.stream {
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
        }
        let request = HTTPExchange.Request(url: endpoint, method: "POST", headers: headers, body: try? JSONSerialization.data(withJSONObject: body),
                                           timeout: requestTimeout, maximumAnswerBytes: maximumAnswerBytes)
        let started = Date()
        let answer = try? await HTTPExchange.send(request, through: client)
        let seconds = Date().timeIntervalSince(started)
        guard let answer else { return Outcome(status: "error", seconds: seconds, completionTokens: 0) }
        var outcome = Outcome(status: String(answer.status), seconds: seconds,
                              completionTokens: answer.status == 200 ? completionTokens(in: answer.body, streamed: configuration.stream) : 0)
        if answer.status == 503 {
            outcome.retryAfter = min(answer.header("Retry-After").flatMap(Double.init) ?? 0.01, 5)
        }
        return outcome
    }

    /// `usage.completion_tokens` of a JSON answer, or of the usage chunk of a streamed one.
    static func completionTokens(in data: Data, streamed: Bool) -> Int {
        let objects: [Data] = streamed
            ? String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.map { Data($0.dropFirst(6).utf8) }
            : [data]
        for object in objects.reversed() {
            if let fields = try? JSONSerialization.jsonObject(with: object) as? [String: Any],
               let usage = fields["usage"] as? [String: Any], let tokens = usage["completion_tokens"] as? Int {
                return tokens
            }
        }
        return 0
    }
}

/// Hands out request numbers until a limit, across clients.
final class RequestBudget: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let limit: Int?

    init(limit: Int?) { self.limit = limit }

    func take() -> Int? {
        lock.withLock {
            if let limit, next >= limit { return nil }
            next += 1
            return next - 1
        }
    }
}
