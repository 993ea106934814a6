// `rlhf serve`: the OpenAI-compatible HTTP API over one batching generation engine.

import Alignment
import ArgumentParser
import Foundation
import Models
import Serving
import Tokenizers

/// Serves a checkpoint.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a checkpoint over an OpenAI-compatible HTTP API (completions, chat, streaming) and gRPC, batching concurrent requests.",
        discussion: """
        rlhf serve --model runs/ppo/final --port 8080
        curl http://127.0.0.1:8080/v1/completions -H 'Content-Type: application/json' -d '{"prompt":"ROMEO:","max_tokens":32}'
        Routes: POST /v1/completions, POST /v1/chat/completions (stream: true for server-sent events), GET /v1/models,
        POST /v1/score (with --reward-model: {"texts"} or {"prompts","responses"} → {"scores"}), GET /health, GET /metrics (Prometheus).
        gRPC (Protos/rlhf/v1/generation.proto): rlhf.v1.Generation/Generate, GenerateStream, Score on --grpc-port.
        SIGINT/SIGTERM: new requests are refused; those in flight get --shutdown-timeout seconds to finish, then are cut.
        A client that stalls (headers, body, silence) is cut at --header-timeout, --body-timeout, --idle-timeout.
        """)

    @Option(help: "Checkpoint directory (config.json, model.safetensors, tokenizer files).") var model: String
    @Option(help: "The model name clients use (default: the checkpoint folder's name).") var name: String?
    @Option(help: "A reward-model checkpoint for POST /v1/score.") var rewardModel: String?
    @Option(help: "The address to bind (127.0.0.1 keeps the API on this machine).") var host = "127.0.0.1"
    @Option(help: "The HTTP port (0: any free port).") var port = 8080
    @Option(help: "The gRPC port (rlhf.v1.Generation: Generate, GenerateStream, Score; 0: any free port).") var grpcPort = 50051
    @Flag(name: .customLong("no-grpc"), help: "Serve HTTP only.") var noGRPC = false
    @Option(help: "Require 'Authorization: Bearer KEY' with the key in this environment variable.") var apiKeyEnv: String?
    @Flag(help: "GET /metrics needs the API key too.") var metricsNeedKey = false
    @Option(help: "Requests decoded together.") var maxBatch = 16
    @Option(help: "Requests allowed to wait for a place in the batch; more get 503.") var maxQueue = 64
    @Option(help: "The largest max_tokens a request may ask for.") var maxTokensLimit = 256
    @OptionGroup(title: "Time limits") var timeouts: ConnectionLimitOptions

    func validate() throws {
        if metricsNeedKey && apiKeyEnv == nil { throw ValidationError("--metrics-need-key needs --api-key-env (there is no key to ask for)") }
        guard maxBatch >= 1, maxQueue >= 0, maxTokensLimit >= 1 else { throw ValidationError("--max-batch and --max-tokens-limit must be ≥ 1, --max-queue ≥ 0") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard (0...65535).contains(grpcPort) else { throw ValidationError("--grpc-port must be 0…65535") }
    }

    func run() async throws {
        var key: String?
        if let apiKeyEnv {
            guard let value = ProcessInfo.processInfo.environment[apiKeyEnv], !value.isEmpty else {
                throw ValidationError("--api-key-env \(apiKeyEnv): that environment variable is not set")
            }
            key = value
        }
        let directory = URL(fileURLWithPath: model)
        let network = try ModelLoader.autoregressiveModel(from: directory)
        let tokenizer = try loadTokenizer(from: directory)
        let engine = GenerationEngine(model: network, decode: { tokenizer.decode($0) }, maximumBatch: maxBatch, maximumQueue: maxQueue)
        let service = ModelService(name: name ?? directory.standardizedFileURL.lastPathComponent, engine: engine, tokenizer: tokenizer,
                                   apiKey: key, maxTokensLimit: min(maxTokensLimit, network.modelConfiguration.positions - 1),
                                   scorer: try rewardModel.map { ScoringQueue(reward: try LearnedReward(checkpoint: URL(fileURLWithPath: $0))) },
                                   metricsNeedKey: metricsNeedKey)
        let host = host, port = port, grpcPort = noGRPC ? nil : grpcPort, batch = maxBatch, context = network.modelConfiguration.positions
        let limits = timeouts.limits
        try await ModelServer.run(service: service, host: host, port: port, grpcPort: grpcPort, limits: limits) { http, grpc in
            let rpc = grpc.map { " and grpc://\(host):\($0)" } ?? ""
            let line = "serving \(service.name) at http://\(host):\(http)/v1\(rpc) (batch \(batch), context \(context) tokens)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}
