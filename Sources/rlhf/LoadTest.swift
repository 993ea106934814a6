// `rlhf loadtest`: N concurrent clients against a running `rlhf serve` (or any OpenAI-compatible
// completions server) for T seconds.

import ArgumentParser
import Datasets
import Foundation
import Clients
import Serving

/// Prints the load test's report.
struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load-test an OpenAI-compatible completions server: N closed-loop clients for T seconds; requests/s, p50/p99 latency, tokens/s.",
        discussion: """
        rlhf serve --model runs/demo/policy --port 8080 &
        rlhf loadtest --url http://127.0.0.1:8080 --clients 16 --duration 20 --max-tokens 64 --stream
        Each client sends a request, waits for the whole answer and sends the next. 503s (a full queue) are counted and the
        client waits as Retry-After says (at most 5 s). Tokens are the answers' usage.completion_tokens (streams ask for it with stream_options.include_usage).
        """)

    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "Concurrent clients.") var clients = 16
    @Option(help: "Seconds to send for.") var duration: Double = 10
    @Option(help: "Stop after this many requests.") var requests: Int?
    @Option(help: "Prompts ({\"prompt\"} JSONL/JSON, .txt one per line, or a CSV column); default: a few fixed ones.") var prompts: String?
    @Option(help: "The field or CSV column holding each prompt.") var promptField = "prompt"
    @Option(help: "max_tokens of each request.") var maxTokens = 32
    @Option(help: "temperature of each request.") var temperature: Float = 1
    @Flag(help: "Stream the answers (server-sent events).") var stream = false
    @Option(help: "The environment variable holding the server's API key.") var apiKeyEnv: String?
    @Flag(help: "Print the report as one JSON line.") var json = false
    @Flag(help: "Exit with status 1 if any answer was a 5xx other than 503, or a connection failed.") var strict = false

    func validate() throws {
        guard URL(string: url)?.scheme?.hasPrefix("http") == true else { throw ValidationError("--url must be an http(s) URL, got '\(url)'") }
        guard clients >= 1, duration > 0, maxTokens >= 1 else { throw ValidationError("--clients and --max-tokens must be ≥ 1, --duration > 0") }
        if let requests, requests < 1 { throw ValidationError("--requests must be ≥ 1") }
    }

    func run() async throws {
        let texts = try prompts.map { try PromptSet.read(URL(fileURLWithPath: $0), field: promptField).records }
            ?? ["ROMEO:", "To be, or not", "The king", "Good morrow", "What light"]
        guard !texts.isEmpty else { throw ValidationError("\(prompts ?? ""): no prompts") }
        var key: String?
        if let apiKeyEnv {
            guard let value = ProcessInfo.processInfo.environment[apiKeyEnv], !value.isEmpty else {
                throw ValidationError("--api-key-env \(apiKeyEnv): that environment variable is not set")
            }
            key = value
        }
        let configuration = LoadTestConfiguration(url: URL(string: url)!, clients: clients, duration: duration, maximumRequests: requests, prompts: texts,
                                                  maxTokens: maxTokens, temperature: temperature, stream: stream, apiKey: key)
        let report = await LoadTest.run(configuration)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.summary)
        }
        if strict && report.unexpectedFailures > 0 { throw ExitCode(1) }
    }
}
