// `rlhf generate`, `rlhf tokenize`, `rlhf logprobs`: the model and tokenizer from the command line.

import ArgumentParser
import Datasets
import Foundation
import Models
import Tensors
import Tokenizers

/// Samples continuations of a prompt from a checkpoint directory.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a Hugging Face checkpoint directory (a causal LM such as GPT-2, or an encoder-decoder such as T5: the prompt is its source).")

    @Option(help: "Checkpoint directory (config.json, model.safetensors, tokenizer files).") var model: String
    @Option(help: "The prompt.") var prompt: String
    @Option(name: .customLong("max-new-tokens"), help: "Tokens to generate at most.") var maxNewTokens = 64
    @Option(name: .customLong("min-new-tokens"), help: "No end-of-text before this many tokens.") var minNewTokens = 0
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 1
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all).") var topK = 0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1: all).") var topP: Float = 1
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(name: .customLong("num-return-sequences"), help: "Continuations to sample.") var numReturnSequences = 1
    @Option(name: .customLong("stop"), help: "Stop when the text contains this string (repeatable).") var stop: [String] = []
    @Flag(help: "Print one JSON object per sequence (text, tokens, log-probabilities, finish reason).") var json = false

    func validate() throws {
        guard numReturnSequences >= 1 else { throw ValidationError("--num-return-sequences must be at least 1") }
        guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens must be ≥ 0") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        let network = try ModelLoader.autoregressiveModel(from: directory)
        let tokenizer = try loadTokenizer(from: directory)
        let ids = tokenizer.encode(prompt)
        var generator = RandomGenerator(seed: seed)
        let request = GenerationConfiguration(
            maxNewTokens: maxNewTokens, minNewTokens: minNewTokens,
            sampling: SamplingConfiguration(temperature: temperature, topK: topK, topP: topP), stopStrings: stop,
            endOfSequenceTokenId: network.modelConfiguration.eosTokenId ?? tokenizer.endOfTextTokenId,
            vocabularyLimit: GenerationConfiguration.vocabularyLimit(model: network.modelConfiguration, tokenizer: tokenizer))
        let sequences = try generate(network, prompts: Array(repeating: ids, count: numReturnSequences),
                                     configuration: request, generator: &generator, decode: { tokenizer.decode($0) })
        for sequence in sequences {
            var newTokens = sequence.tokens
            if sequence.finishReason == .endOfSequence { newTokens.removeLast() }
            let text = truncating(tokenizer.decode(newTokens), atFirstOf: stop)
            if json {
                let object: [String: Any] = [
                    "prompt": prompt, "text": text, "tokens": sequence.tokens,
                    "logprobs": sequence.logProbabilities.map(Double.init), "finish_reason": sequence.finishReason.rawValue,
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                // A causal LM continues the prompt; an encoder-decoder writes a new text from it.
                print(network is any EncoderDecoderLanguageModel ? text : prompt + text)
                if numReturnSequences > 1 { print("---") }
            }
        }
    }
}

/// Prints token ids for each input line.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print one JSON array of token ids per input line.")

    @Option(help: "Tokenizer directory (tokenizer.json, vocab.json + merges.txt, or a character vocabulary).") var tokenizer: String
    @Option(help: "Input file (one text per line); standard input when omitted.") var input: String?

    func run() throws {
        let loaded = try loadTokenizer(from: URL(fileURLWithPath: tokenizer))
        try forEachLine(of: input) { line, _ in
            print("[" + loaded.encode(line).map(String.init).joined(separator: ",") + "]")
        }
    }
}

/// Prints per-token log-probabilities of each {"text"} line under a model.
struct LogProbs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logprobs",
        abstract: "For each {\"text\"} line of a JSONL file, print the per-token log-probabilities and their sum as JSON.")

    @Option(help: "Checkpoint directory.") var model: String
    @Option(help: "JSONL file with a \"text\" field per line.") var input: String

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        let network = try ModelLoader.languageModel(from: directory)
        let tokenizer = try loadTokenizer(from: directory)
        for record in try JSONLines.read(URL(fileURLWithPath: input)).records {
            let tokens = tokenizer.encode(try record.string("text"))
            let values: [Float]
            do { values = try sequenceLogProbabilities(network, tokens: tokens) } catch {
                throw record.error(field: "text", "\(error)")
            }
            let result: [String: Any] = [
                "line": record.line, "tokens": tokens, "logprobs": values.map(Double.init),
                "sum": values.reduce(0.0) { $0 + Double($1) },
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}

/// Calls `body` with each line (without its newline) and its 1-based number, from a file or stdin.
func forEachLine(of path: String?, _ body: (String, Int) throws -> Void) throws {
    let text: String
    if let path {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read the file") }
        text = String(decoding: data, as: UTF8.self)
    } else {
        text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    for (index, line) in lines.enumerated() { try body(line, index + 1) }
}
