// The load tester: nearest-rank percentiles by hand, and a client that waits as Retry-After says
// (a server that always answers 503 with Retry-After: 1 gets about one request a second).

import Foundation
import Hummingbird
import HummingbirdTesting
import Clients
import Serving
import Testing

@Suite("Load test")
struct LoadTestTests {
    @Test("nearest-rank percentiles: 1…100 → p50 50, p99 99; one value; none")
    func percentiles() {
        let values = (1...100).map(Double.init).shuffled()
        #expect(LoadTest.percentile(values, 0.5) == 50 && LoadTest.percentile(values, 0.99) == 99 && LoadTest.percentile(values, 1) == 100)
        #expect(LoadTest.percentile([7, 3, 5, 9], 0.5) == 5 && LoadTest.percentile([4], 0.99) == 4 && LoadTest.percentile([], 0.5) == 0)
    }

    @Test("a 503 with Retry-After: 1 holds the client a second; statuses, tokens and failures are counted")
    func retryAfter() async throws {
        let router = Router()
        router.post("/v1/completions") { _, _ -> Response in
            var response = Response(status: .serviceUnavailable)
            response.headers[.retryAfter] = "1"
            return response
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let port = try #require(client.port)
            let report = await LoadTest.run(LoadTestConfiguration(url: URL(string: "http://127.0.0.1:\(port)")!, clients: 2, duration: 1.5,
                                                                  prompts: ["a"], maxTokens: 4))
            // Each client: a request at once and one after a second (a stalled machine may leave out
            // the second); without waiting it would be hundreds.
            #expect((2...4).contains(report.requests) && report.statuses == ["503": report.requests], "\(report.summary)")
            #expect(report.completionTokens == 0 && report.unexpectedFailures == 0 && report.latencyP50 == 0)
        }
        // Nothing listening: every request is a failed connection.
        let refused = await LoadTest.run(LoadTestConfiguration(url: URL(string: "http://127.0.0.1:9")!, clients: 1, duration: 10, maximumRequests: 3,
                                                               prompts: ["a"], maxTokens: 4))
        #expect(refused.statuses == ["error": 3] && refused.unexpectedFailures == 3)
    }
}
