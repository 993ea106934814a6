// Counters for GET /metrics in the Prometheus text format: requests and errors per route,
// a latency histogram, and the engine's queue depth, active requests, tokens and tokens/s.

import Foundation

/// Request counters and latencies, safe to update from any task.
final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [String: Int] = [:]   // "route status" → count
    private var errors = 0
    /// Upper bounds of the latency buckets, in seconds.
    static let buckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    private var bucketCounts = [Int](repeating: 0, count: buckets.count)
    private var latencyCount = 0
    private var latencySum = 0.0
    private let started = Date()
    private var lastTokens = 0, lastTime = Date(), tokensPerSecond = 0.0

    /// Records one finished request.
    func record(route: String, status: Int, seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        requests["\(route) \(status)", default: 0] += 1
        if status >= 400 { errors += 1 }
        for (index, bound) in Self.buckets.enumerated() where seconds <= bound { bucketCounts[index] += 1 }
        latencyCount += 1
        latencySum += seconds
    }

    /// The Prometheus exposition of these counters and of `engine`.
    func exposition(engine: EngineStatistics, maximumQueue: Int) -> String {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let elapsed = now.timeIntervalSince(lastTime)
        if elapsed >= 1 {
            tokensPerSecond = Double(engine.tokens - lastTokens) / elapsed
            lastTokens = engine.tokens
            lastTime = now
        }
        var lines = ["# HELP rlhf_requests_total HTTP requests by route and status.", "# TYPE rlhf_requests_total counter"]
        for (key, count) in requests.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: " ")
            lines.append("rlhf_requests_total{route=\"\(parts[0])\",status=\"\(parts[1])\"} \(count)")
        }
        lines += ["# HELP rlhf_errors_total HTTP requests answered with a 4xx or 5xx status.", "# TYPE rlhf_errors_total counter", "rlhf_errors_total \(errors)"]
        lines += ["# HELP rlhf_request_seconds Request latency, to the last byte.", "# TYPE rlhf_request_seconds histogram"]
        for (bound, count) in zip(Self.buckets, bucketCounts) { lines.append("rlhf_request_seconds_bucket{le=\"\(bound)\"} \(count)") }
        lines += ["rlhf_request_seconds_bucket{le=\"+Inf\"} \(latencyCount)", "rlhf_request_seconds_sum \(latencySum)", "rlhf_request_seconds_count \(latencyCount)"]
        lines += ["# HELP rlhf_queue_depth Requests waiting for a place in the batch.", "# TYPE rlhf_queue_depth gauge", "rlhf_queue_depth \(engine.queued)",
                  "# HELP rlhf_queue_limit The most requests allowed to wait.", "# TYPE rlhf_queue_limit gauge", "rlhf_queue_limit \(maximumQueue)",
                  "# HELP rlhf_active_requests Requests being decoded.", "# TYPE rlhf_active_requests gauge", "rlhf_active_requests \(engine.active)",
                  "# HELP rlhf_refused_total Requests refused because the queue was full.", "# TYPE rlhf_refused_total counter", "rlhf_refused_total \(engine.refused)",
                  "# HELP rlhf_generated_tokens_total New tokens generated.", "# TYPE rlhf_generated_tokens_total counter", "rlhf_generated_tokens_total \(engine.tokens)",
                  "# HELP rlhf_decoding_steps_total Batched decoding steps run.", "# TYPE rlhf_decoding_steps_total counter", "rlhf_decoding_steps_total \(engine.steps)",
                  "# HELP rlhf_tokens_per_second New tokens per second since the previous scrape (at least 1 s apart).",
                  "# TYPE rlhf_tokens_per_second gauge", "rlhf_tokens_per_second \(tokensPerSecond)",
                  "# HELP rlhf_uptime_seconds Seconds since the server started.", "# TYPE rlhf_uptime_seconds gauge",
                  "rlhf_uptime_seconds \(now.timeIntervalSince(started))"]
        return lines.joined(separator: "\n") + "\n"
    }
}
