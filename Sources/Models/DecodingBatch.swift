// Step-level (continuous) batching: requests join a running batch at the next decoding step and
// leave it when they finish, so concurrent requests share every forward pass. Each request keeps
// its own random stream, so its tokens do not depend on what else is in the batch: with the same
// seed it gets what `generate` gives it alone.
//
// Layout: the active requests occupy rows 0..<active of one key/value cache (a finished request's
// row is refilled with the last active row), the rows share one column count, and a padding mask
// marks each row's own columns. A new request is prefilled in a cache of its own and copied in;
// when the columns run out, the cache is compacted.
// It speaks to any ``AutoregressiveModel`` through the model interface. A causal LM's rows share
// one key/value cache and one forward pass per step, as above. Any other model (an
// encoder-decoder) decodes in cohorts: the requests that join at the same step start one decoding
// session together (one encoder pass over their prompts, then one decoder pass per step for the
// cohort — each row its own encoded source and its own row of the decoder cache). A row that
// finishes or is cancelled leaves the batch at once (its place is free for a new request); its
// cohort feeds it a placeholder token until the cohort's last row is done. Cohorts that joined at
// different steps take separate passes: the decoder interface has no self-attention padding mask
// or per-row step, so rows at different decoder steps cannot share one.
// Shapes: B active rows, L cache columns, V vocabulary.

import Foundation
import Tensors

/// What one request asks for.
public struct DecodingRequest: Sendable {
    /// The prompt's token ids (non-empty).
    public var prompt: [Int]
    /// Length limits, sampling, stop strings and end-of-sequence handling.
    public var configuration: GenerationConfiguration
    /// The seed of this request's random stream.
    public var seed: UInt64

    /// A request.
    public init(prompt: [Int], configuration: GenerationConfiguration, seed: UInt64 = 0) {
        self.prompt = prompt
        self.configuration = configuration
        self.seed = seed
    }
}

/// What a decoding step produced for one request.
public enum DecodingEvent: Equatable, Sendable {
    /// A new token and its log-probability under the sampling distribution.
    case token(request: Int, token: Int, logProbability: Float)
    /// The request is done: all its tokens, and why it stopped.
    case finished(request: Int, sequence: GeneratedSequence)
}

/// A batch of requests decoded together, one token per request per ``step()``.
public final class DecodingBatch {
    /// The model.
    public let model: any AutoregressiveModel
    /// The most requests decoded at once.
    public let maximumBatch: Int
    /// The model as a causal LM, whose rows share `cache`; nil for any other model.
    let causal: (any CausalLanguageModel)?
    /// The causal rows' shared key/value cache (an empty one for other models).
    let cache: KeyValueCache
    let decode: (([Int]) -> String)?
    /// The model's vocabulary size, context and end-of-sequence id (read once, not per row and step).
    let vocabularySize: Int, positions: Int, endOfSequence: Int?

    struct Row {
        var id: Int
        var request: DecodingRequest
        var generator: RandomGenerator
        var sequence: GeneratedSequence
        /// The logits to sample the next token from: V values at `logitsOffset` of this tensor (the
        /// prompt's own prefill output, or the row's place in the last step's batched output;
        /// referenced, not copied, and carried along when the row moves).
        var logits: Tensor
        var logitsOffset: Int
        /// This row's columns in the cache, ascending.
        var columns: [Int]
        /// The position id of the next token.
        var position: Int
        /// For a model that is not a causal LM, the cohort the row decodes in (nil until its
        /// first step), and its row in the cohort's session; nil for a causal LM's rows.
        var cohort: Cohort? = nil
        var member = 0
    }

    /// Requests of a model that is not a causal LM that started at the same step: one decoding
    /// session over their prompts. Rows that have left keep their place in the session, fed
    /// their last token, until no row of the cohort is left (then the cohort is released).
    final class Cohort {
        let session: any DecodingSession
        /// The token each member is fed at the next step.
        var next: [Int32]

        init(session: any DecodingSession, size: Int) {
            self.session = session
            next = Array(repeating: 0, count: size)
        }
    }
    var rows: [Row] = []

    /// A batch for `model` holding at most `maximumBatch` requests. The model is put in evaluation
    /// mode (no dropout) and must not be trained while the batch runs.
    /// - Parameter decode: turns tokens into text, needed for stop strings.
    public init(model: any AutoregressiveModel, maximumBatch: Int, decode: (([Int]) -> String)? = nil) {
        precondition(maximumBatch >= 1, "maximumBatch must be at least 1")
        model.setTraining(false)
        self.model = model
        causal = model as? any CausalLanguageModel
        self.maximumBatch = maximumBatch
        self.decode = decode
        let configuration = model.modelConfiguration
        (vocabularySize, positions, endOfSequence) = (configuration.vocabularySize, configuration.positions, configuration.eosTokenId)
        cache = causal?.makeCache(batch: maximumBatch, capacity: 2 * configuration.positions)
            ?? KeyValueCache(layers: 0, batch: maximumBatch, heads: 1, headSize: 1, capacity: 0)
    }

    /// Forward passes of the model so far: a causal LM's prompt prefills and batched steps; another
    /// model's cohort starts and cohort steps.
    public private(set) var forwardPasses = 0
    /// How many times the cache was compacted (its columns ran out).
    public private(set) var compactions = 0
    /// Requests being decoded.
    public var activeCount: Int { rows.count }
    /// Whether another request can join.
    public var hasRoom: Bool { rows.count < maximumBatch }

    /// Checks a request against the model: a non-empty prompt of in-vocabulary ids that fits
    /// the model with its `max_new_tokens` (a causal LM: `n_positions`), and valid sampling settings.
    /// - Throws: ``GenerationError`` saying what is wrong.
    public func validate(_ request: DecodingRequest) throws {
        try request.configuration.sampling.validate()
        let V = vocabularySize
        guard !request.prompt.isEmpty else { throw GenerationError("the prompt is empty") }
        if let bad = request.prompt.first(where: { $0 < 0 || $0 >= V }) { throw GenerationError("token id \(bad) is outside the vocabulary 0..<\(V)") }
        guard request.configuration.maxNewTokens >= 1, request.configuration.minNewTokens >= 0 else {
            throw GenerationError("max_new_tokens must be ≥ 1 and min_new_tokens ≥ 0")
        }
        if let problem = contextProblem(promptLength: request.prompt.count, newTokens: request.configuration.maxNewTokens) {
            throw GenerationError(problem)
        }
        if !request.configuration.stopStrings.isEmpty && decode == nil { throw GenerationError("stop strings need a tokenizer") }
    }

    /// Why a prompt of `promptLength` tokens with `newTokens` new ones does not fit the model, or
    /// nil: a causal LM holds both in its `n_positions`; another model says (``AutoregressiveModel/contextProblem(promptLength:newTokens:)``).
    public func contextProblem(promptLength: Int, newTokens: Int) -> String? {
        guard causal != nil else { return model.contextProblem(promptLength: promptLength, newTokens: newTokens) }
        guard promptLength + newTokens > positions else { return nil }
        return "the prompt has \(promptLength) tokens; with max_new_tokens \(newTokens) that exceeds the context of \(positions) tokens"
    }

    /// Adds a request: prefills its prompt and places it in the next free row. It takes part from
    /// the next ``step()`` on.
    /// - Parameter id: the caller's name for the request, used in events.
    /// - Throws: ``GenerationError`` from ``validate(_:)``, or when the batch is full.
    public func admit(id: Int, _ request: DecodingRequest) throws {
        guard hasRoom else { throw GenerationError("the batch is full (\(maximumBatch) requests)") }
        try validate(request)
        guard let model = causal else {
            // Its cohort starts at the next step, with the other requests admitted before it.
            rows.append(Row(id: id, request: request, generator: RandomGenerator(seed: request.seed),
                            sequence: GeneratedSequence(prompt: request.prompt, tokens: [], logProbabilities: [], finishReason: .length),
                            logits: Tensor(zeros: [vocabularySize]), logitsOffset: 0, columns: [], position: 0))
            return
        }
        let p = request.prompt.count
        let own = model.makeCache(batch: 1, capacity: p)
        forwardPasses += 1
        let logits = withNoGrad {
            let hidden = model.hidden(IndexTensor(shape: [1, p], values: request.prompt.map { Int32($0) }), cache: own)
            return model.logits(hidden: hidden.slice(axis: 1, (p - 1)..<p))
        }
        if max(cache.length, p) + 1 > cache.capacity { compact() }
        if cache.length < p { cache.advance(to: p) }
        let start = cache.length - p
        cache.copyRow(from: own, sourceRow: 0, count: p, into: rows.count, at: start)
        rows.append(Row(id: id, request: request, generator: RandomGenerator(seed: request.seed),
                        sequence: GeneratedSequence(prompt: request.prompt, tokens: [], logProbabilities: [], finishReason: .length),
                        logits: logits, logitsOffset: 0, columns: Array(start..<cache.length), position: p))
    }

    /// Samples one token for every active request, reports it, retires finished requests, and
    /// runs one batched forward pass for the rest.
    /// - Returns: the events of this step, in row order (a request's token before its finish).
    public func step() -> [DecodingEvent] {
        if causal == nil { startCohort() }
        var events: [DecodingEvent] = []
        var finished: [Int] = []
        var next: [Int32] = []
        for index in rows.indices {
            let configuration = rows[index].request.configuration
            let endOfSequence = configuration.endOfSequenceTokenId ?? self.endOfSequence
            let produced = rows[index].sequence.tokens.count
            let banned = produced < configuration.minNewTokens ? endOfSequence : nil
            let V = vocabularySize
            let row = UnsafeBufferPointer(start: rows[index].logits.data + rows[index].logitsOffset,
                                          count: min(configuration.vocabularyLimit ?? V, V))
            let (token, logProbability) = sampleToken(row, configuration: configuration.sampling, banned: banned, generator: &rows[index].generator)
            rows[index].sequence.tokens.append(token)
            rows[index].sequence.logProbabilities.append(logProbability)
            events.append(.token(request: rows[index].id, token: token, logProbability: logProbability))
            var reason: FinishReason?
            if configuration.stopAtEndOfSequence && token == endOfSequence {
                reason = .endOfSequence
            } else if let decode, !configuration.stopStrings.isEmpty,
                      configuration.stopStrings.contains(where: decode(rows[index].sequence.tokens).contains) {
                reason = .stopString
            } else if produced + 1 >= configuration.maxNewTokens {
                reason = .length
            }
            if let reason {
                rows[index].sequence.finishReason = reason
                events.append(.finished(request: rows[index].id, sequence: rows[index].sequence))
                finished.append(index)
            }
            next.append(Int32(token))
        }
        // Retire finished rows, highest first, refilling each with the last row.
        for index in finished.sorted(by: >) {
            next[index] = next[rows.count - 1]
            next.removeLast()
            retire(index)
        }
        guard !rows.isEmpty else {
            cache.reset()
            return events
        }
        guard let model = causal else {
            // One decoder step per cohort, every member fed (a member that left, its last token).
            var cohorts: [Cohort] = []
            for b in rows.indices {
                let cohort = rows[b].cohort!
                cohort.next[rows[b].member] = next[b]
                if !cohorts.contains(where: { $0 === cohort }) { cohorts.append(cohort) }
            }
            withNoGrad { for cohort in cohorts { cohort.session.append(cohort.next) } }
            forwardPasses += cohorts.count
            for b in rows.indices {
                rows[b].logits = rows[b].cohort!.session.logits
                rows[b].logitsOffset = rows[b].member * vocabularySize
            }
            return events
        }
        if cache.length + 1 > cache.capacity { compact() }
        let B = rows.count, L = cache.length + 1
        let mask = Tensor(zeros: [B, L])  // each row sees its own columns and the new one
        for (b, row) in rows.enumerated() {
            for column in row.columns { mask.data[b * L + column] = 1 }
            mask.data[b * L + L - 1] = 1
        }
        let positions = IndexTensor(shape: [B, 1], values: rows.map { Int32($0.position) })
        withNoGrad {
            let logits = model(IndexTensor(shape: [B, 1], values: next), positions: positions, mask: mask, cache: cache)
            forwardPasses += 1
            let V = vocabularySize
            for b in 0..<B {
                rows[b].logits = logits
                rows[b].logitsOffset = b * V
                rows[b].columns.append(L - 1)
                rows[b].position += 1
            }
        }
        return events
    }

    /// Starts one cohort for the rows admitted since the last step (a model that is not a causal
    /// LM): their prompts encoded together, room for the longest `max_new_tokens` among them.
    func startCohort() {
        let joining = rows.indices.filter { rows[$0].cohort == nil }
        guard !joining.isEmpty else { return }
        let newTokens = joining.map { rows[$0].request.configuration.maxNewTokens }.max()!
        let session = withNoGrad { model.startDecoding(prompts: joining.map { rows[$0].request.prompt }, newTokens: newTokens) }
        forwardPasses += 1
        let cohort = Cohort(session: session, size: joining.count)
        for (member, index) in joining.enumerated() {
            rows[index].cohort = cohort
            rows[index].member = member
            rows[index].logits = session.logits
            rows[index].logitsOffset = member * vocabularySize
        }
    }

    /// Drops a request before it finishes (its client went away), freeing its row.
    /// - Returns: whether the request was in the batch.
    @discardableResult
    public func cancel(id: Int) -> Bool {
        guard let index = rows.firstIndex(where: { $0.id == id }) else { return false }
        retire(index)
        if rows.isEmpty { cache.reset() }
        return true
    }

    /// Removes row `index`, moving the last row into its place (cache columns included).
    func retire(_ index: Int) {
        let last = rows.count - 1
        if index != last && causal != nil {
            cache.copyRow(from: cache, sourceRow: last, count: cache.length, into: index, at: 0)
        }
        if index != last { rows[index] = rows[last] }
        rows.removeLast()
    }

    /// Moves every row's columns to the right end of the cache and renumbers them.
    func compact() {
        let live = (0..<cache.batch).map { $0 < rows.count ? rows[$0].columns : [] }
        let length = cache.compact(keeping: live)
        compactions += 1
        for index in rows.indices { rows[index].columns = Array((length - rows[index].columns.count)..<length) }
    }
}
