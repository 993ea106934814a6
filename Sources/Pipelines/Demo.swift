// `rlhf demo`: the whole of RLHF on Shakespeare in one command, offline, in minutes. Pretrain a
// small model with its own BPE tokenizer; sample continuations of corpus prompts and let a simulated rater (the
// lexicon gold scorer) or real labels pick the preferred one; fit a reward model (the proxy) to
// those preferences; PPO against the proxy with a KL penalty; DPO on the same pairs; compare the
// three policies on proxy score, gold score and KL; study over-optimization across the PPO
// checkpoints; write one report. Each stage is an ordinary run directory made through the same
// job a user would run by hand, and a stage whose final/ exists is not run again.

import Alignment
import Datasets
import Evaluation
import Foundation
import Models
import Tensors
import Tokenizers

/// The demo's budget and inputs.
public struct DemoSettings: Sendable {
    /// The corpus (plain text).
    public var corpus: URL
    /// Where the stage runs, the data files and report.html go.
    public var directory: URL
    /// Real labels instead of the simulated rater: preference pairs (`prompt`/`chosen`/`rejected`
    /// or HH `chosen`/`rejected`) or labelled text (`text`/`label` or `sample`/`sentiment`).
    public var labels: URL?
    /// The label that means "positive" in labelled text (the others count as negative).
    public var positiveLabel = "happy"
    /// Pretraining steps (of 32 windows of 64 tokens).
    public var pretrainSteps = 1500
    /// Merges of the demo's BPE tokenizer (more merges: more whole words per token; with 4,000,
    /// about 87 % of the pretrained model's words are real words of the corpus, against 75 % with 500).
    public var bpeMerges = 4000
    /// Prompts whose samples the rater compares.
    public var preferencePrompts = 1536
    /// Samples per prompt: the rater's best and worst of them make a pair (ties give none).
    public var samplesPerPrompt = 6
    /// Tokens generated per response.
    public var responseLength = 24
    /// PPO iterations, and iterations between checkpoints (each becomes a point of the study).
    public var ppoIterations = 60, checkpointInterval = 5
    /// PPO rollouts per iteration and learning rate; β (fixed: no adaptive target, so that the
    /// proxy can be over-optimised and the study can show it).
    public var rollouts = 64
    public var ppoLearningRate: Float = 1e-4, klCoefficient: Float = 0.05
    /// Passes of DPO and of reward-model training over the pairs.
    public var dpoEpochs = 2, rewardEpochs = 4
    /// Evaluation prompts (not used for training) and samples per prompt.
    public var evalPrompts = 48, evalSamples = 2
    /// Seed of everything.
    public var seed: UInt64 = 1

    /// The default budget (about 10 minutes on 2 cores), or with `quick` the smoke-test budget.
    public init(corpus: URL, directory: URL, quick: Bool = false) {
        self.corpus = corpus
        self.directory = directory
        if quick {
            pretrainSteps = 400
            bpeMerges = 1000
            preferencePrompts = 600
            responseLength = 16
            ppoIterations = 18
            checkpointInterval = 3
            rollouts = 32
            dpoEpochs = 1
            evalPrompts = 24
        }
    }
}

/// What the demo measured.
public struct DemoResult: Sendable {
    /// Pretrained, PPO and DPO policies measured against the pretrained one.
    public var measurements: [PolicyMeasurement]
    /// For each measured policy, the share of its samples' words that occur in the corpus.
    public var realWordShares: [Double]
    /// The PPO checkpoints.
    public var study: OverOptimizationStudy
    /// Preference pairs used, prompts whose samples all tied, and the reward model's held-out accuracy.
    public var pairs: Int, ties: Int, rewardAccuracy: Double?
    /// The report.
    public var report: URL
}

/// The pipeline.
public struct Demo {
    /// Settings.
    public var settings: DemoSettings
    /// Hears stage headers and data counts.
    public var log: (String) -> Void
    /// Hears pretraining, reward-model and DPO steps.
    public var trainingProgress: ((TrainingProgress) -> Void)?
    /// Hears PPO iterations.
    public var ppoProgress: ((PPOProgress) -> Void)?

    /// A demo with these settings and listeners.
    public init(settings: DemoSettings, log: @escaping (String) -> Void = { _ in },
                trainingProgress: ((TrainingProgress) -> Void)? = nil, ppoProgress: ((PPOProgress) -> Void)? = nil) {
        self.settings = settings
        self.log = log
        self.trainingProgress = trainingProgress
        self.ppoProgress = ppoProgress
    }

    var runs: URL { settings.directory.appendingPathComponent("runs") }
    func runURL(_ name: String) -> URL { runs.appendingPathComponent(name) }
    /// Whether a stage's run finished; says so when it did (it is then not run again).
    func finished(_ name: String) -> Bool {
        guard RunDirectory.isFinished(at: runURL(name)) else { return false }
        log("      \(name): finished before, not rerun")
        return true
    }
    func file(_ name: String) -> URL { settings.directory.appendingPathComponent(name) }

    /// Runs every stage not yet finished, then evaluates and writes report.html.
    public func run() throws -> DemoResult {
        let s = settings
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
        let corpusText = try Self.readCorpus(s.corpus)
        let common = ["--runs_dir", runs.path, "--seed", "\(s.seed)"]

        // 1. Pretrain.
        log("[1/7] pretraining a 4-layer model with a \(s.bpeMerges)-merge BPE tokenizer on \(s.corpus.lastPathComponent) (\(s.pretrainSteps) steps)")
        if !finished("pretrain") {
            let (job, training, mapping) = try PretrainJob.resolve(file: nil, overrides: common + [
                "--name", "pretrain", "--corpus", s.corpus.path, "--tokenizer", "bpe", "--bpe_merges", "\(s.bpeMerges)", "--n_layer", "4", "--n_head", "4", "--n_embd", "128",
                "--block_size", "64", "--batch_size", "32", "--dropout", "0", "--max_steps", "\(s.pretrainSteps)",
                "--learning_rate", "2e-3", "--warmup_steps", "20", "--eval_interval", "\(max(s.pretrainSteps / 5, 1))",
                "--eval_batches", "8", "--checkpoint_interval", "\(max(s.pretrainSteps / 2, 1))", "--log_interval", "10"])
            _ = try job.run(training: training, mapping: mapping, resume: true, progress: trainingProgress)
        }
        let pretrained = runURL("pretrain").appendingPathComponent("final")
        let base = try ModelLoader.languageModel(from: pretrained)
        let tokenizer = try loadTokenizer(from: pretrained)

        // 2. Prompts and preferences.
        let prompts = Self.corpusPrompts(corpusText, count: s.preferencePrompts + s.evalPrompts, seed: s.seed)
        guard prompts.count > s.evalPrompts + 8 else {
            throw RunError.invalidData(path: s.corpus.path, problem: "only \(prompts.count) usable lines (4+ words) for prompts; the demo needs \(s.evalPrompts + 9)")
        }
        let evalPrompts = Array(prompts.prefix(s.evalPrompts)), trainPrompts = Array(prompts.dropFirst(s.evalPrompts))
        try Self.writePrompts(trainPrompts, to: file("prompts.jsonl"))
        try Self.writePrompts(evalPrompts, to: file("eval_prompts.jsonl"))
        var generation = PPOConfiguration()
        generation.maxNewTokens = s.responseLength
        generation.temperature = 1
        generation.chunkSize = s.rollouts  // as PPO samples: the study and the comparison see the same responses
        let sampler = try PolicySampler(configuration: generation, tokenizer: tokenizer, modelConfiguration: base.modelConfiguration)
        // The simulated rater and the gold: positivity on the lexicon, credited for sense — real
        // words that read fluently to the pretrained model, against its own samples' fluency.
        let words = SenseAndSentimentGold(corpus: corpusText)
        var gold = FluentSenseGold(words: words, model: base, tokenizer: tokenizer, baseline: 0)
        do {
            var generator = RandomGenerator(seed: s.seed ^ 0xF1E7)
            let probe = Array(trainPrompts.prefix(256))
            let own = try sampler.sample(base, prompts: probe, generator: &generator)
            gold.baseline = try gold.meanLogProbability(prompts: probe, responses: own.texts)
            log(String(format: "      the pretrained model's own samples: %.3f nats per token (the gold's fluency baseline); real words %.3f",
                       gold.baseline, words.realWordShare(own.texts)))
        }
        var pairsURL = file("preferences.jsonl")
        var labelled = false
        var ties = 0, pairCount = 0, labelNames: [String] = [], labelFields = (text: "text", label: "label")
        if let labels = s.labels {
            log("[2/7] preferences: real labels from \(labels.path)")
            let records = try RecordFile.read(labels).records
            if records.first?.has("chosen") == true {
                pairsURL = labels
                pairCount = try PreferencePair.read(labels).records.count
            } else {
                labelled = true
                labelFields = (records.first?.has("sample") == true ? "sample" : "text", records.first?.has("sentiment") == true ? "sentiment" : "label")
                let (pairs, names) = try Self.pairsFromLabelledText(records, fields: labelFields, positiveLabel: s.positiveLabel, source: labels.path)
                try Self.writePairs(pairs, to: pairsURL)
                pairCount = records.count
                labelNames = names
                log("      \(records.count) labelled texts; \(pairs.count) positive/negative pairs for DPO")
            }
        } else {
            log("[2/7] preferences: \(trainPrompts.count) corpus prompts × \(s.samplesPerPrompt) samples, judged by the simulated rater (the gold: positivity × sense)")
            if !FileManager.default.fileExists(atPath: pairsURL.path) {
                var generator = RandomGenerator(seed: s.seed ^ 0x9A12)
                let collected = try Self.collectPreferences(model: base, sampler: sampler, prompts: trainPrompts, samplesPerPrompt: s.samplesPerPrompt,
                                                            rater: gold, generator: &generator)
                try Self.writePairs(collected.pairs, to: pairsURL)
                ties = collected.ties
            }
            pairCount = try PreferencePair.read(pairsURL).records.count
            log("      \(pairCount) pairs written to \(pairsURL.path)\(ties > 0 ? "; \(ties) prompts whose samples all tied gave none" : "")")
        }

        // 3. Reward model (the proxy).
        log("[3/7] reward model (the proxy) from the \(labelled ? "labelled texts" : "pairs")")
        if !finished("reward") {
            var overrides = common + ["--name", "reward", "--model", pretrained.path, "--max_length", "64", "--batch_size", "16",
                                      "--epochs", "\(s.rewardEpochs)", "--learning_rate", "1e-3", "--eval_interval", "20",
                                      "--log_interval", "5", "--unknown_characters", "fold"]
            if labelled, let labels = s.labels {
                overrides += ["--data", labels.path, "--label_rewards", "{" + labelNames.map { "\"\($0)\": \($0 == s.positiveLabel ? 1 : -1)" }.joined(separator: ", ") + "}", "--objective", "labelled"]
                overrides += ["--text_field", labelFields.text, "--label_field", labelFields.label]
            } else {
                overrides += ["--data", pairsURL.path]
            }
            let (job, training, mapping) = try RewardJob.resolve(file: nil, overrides: overrides)
            _ = try job.run(training: training, mapping: mapping, resume: true, report: { log("      " + $0) }, progress: trainingProgress)
        }
        let accuracy = try MetricsLog.read(runURL("reward").appendingPathComponent("metrics.jsonl"))
            .last(where: { $0["valid/accuracy"] != nil })?["valid/accuracy"] as? Double
        if let accuracy { log(String(format: "      held-out accuracy %.3f", accuracy)) }
        let proxyURL = runURL("reward").appendingPathComponent("final")
        let proxy = try LearnedReward(checkpoint: proxyURL)

        // 4. PPO against the proxy.
        log("[4/7] PPO against the proxy: \(s.ppoIterations) iterations of \(s.rollouts) rollouts, β \(s.klCoefficient), a checkpoint every \(s.checkpointInterval)")
        if !finished("ppo") {
            let (job, ppo, mapping) = try PPOJob.resolve(file: nil, overrides: common + [
                "--name", "ppo", "--model", pretrained.path, "--prompts", file("prompts.jsonl").path,
                "--eval_prompts", file("eval_prompts.jsonl").path, "--reward", "model:\(proxyURL.path)",
                "--iterations", "\(s.ppoIterations)", "--num_rollouts", "\(s.rollouts)", "--chunk_size", "\(s.rollouts)",
                "--ppo_epochs", "4", "--num_mini_batches", "4", "--init_kl_coef", "\(s.klCoefficient)", "--target", "null",
                "--learning_rate", "\(s.ppoLearningRate)", "--temperature", "1", "--max_new_tokens", "\(s.responseLength)",
                "--eval_interval", "\(s.checkpointInterval)", "--checkpoint_interval", "\(s.checkpointInterval)", "--keep_checkpoints", "1000"])
            _ = try job.run(ppo: ppo, mapping: mapping, resume: true, progress: ppoProgress)
        }

        // 5. DPO on the same pairs.
        log("[5/7] DPO from the pretrained model on the same \(labelled ? "labelled texts, paired" : "pairs")")
        if !finished("dpo") {
            let (job, training, mapping) = try DPOJob.resolve(file: nil, overrides: common + [
                "--name", "dpo", "--model", pretrained.path, "--data", pairsURL.path, "--beta", "0.1", "--learning_rate", "1e-4",
                "--epochs", "\(s.dpoEpochs)", "--batch_size", "16", "--max_length", "64", "--max_prompt_length", "32",
                "--eval_interval", "10", "--log_interval", "5", "--eos_token", "\n", "--unknown_characters", "fold"])
            _ = try job.run(training: training, mapping: mapping, resume: true, report: { log("      " + $0) }, progress: trainingProgress)
        }

        // 6. Evaluation.
        log("[6/7] evaluation on \(evalPrompts.count) held-out prompts × \(s.evalSamples) samples: proxy, gold, KL to the pretrained model")
        var measurements: [PolicyMeasurement] = [], realWordShares: [Double] = []
        for (name, url) in [("pretrained", pretrained), ("ppo", runURL("ppo").appendingPathComponent("final")), ("dpo", runURL("dpo").appendingPathComponent("final"))] {
            let policy = name == "pretrained" ? base : try ModelLoader.languageModel(from: url)
            let measurement = try PolicyMeasurement.measure(name: name, policy: policy, reference: base, sampler: sampler, prompts: evalPrompts,
                                                            samplesPerPrompt: s.evalSamples, proxy: proxy, gold: gold, seed: s.seed ^ 0xE7A1)
            let share = words.realWordShare(measurement.samples.map(\.response))
            log(String(format: "      %-10@ proxy %7.3f  gold %7.3f  KL %6.2f  real words %.3f  separators %.3f  distinct-2 %.3f",
                       name, measurement.proxy, measurement.gold ?? .nan, measurement.kl, share, measurement.separatorRatio, measurement.distinct2))
            measurements.append(measurement)
            realWordShares.append(share)
        }
        log("      over-optimization study across the PPO checkpoints")
        let study = try OverOptimizationStudy.run(runDirectory: runURL("ppo"), gold: gold, proxy: proxy, prompts: evalPrompts,
                                                  samplesPerPrompt: s.evalSamples, seed: s.seed ^ 0xE7A1)
        try study.write(to: settings.directory)
        log("      " + study.summary)

        // 7. Report.
        let report = file("report.html")
        log("[7/7] report: \(report.path)")
        let records = try ["pretrain", "reward", "ppo", "dpo"].map { try RunRecord(directory: runURL($0)) }
        let preamble = Self.whatHappenedHTML(settings: s, measurements: measurements, realWordShares: realWordShares, pairs: pairCount,
                                             labelled: labelled, accuracy: accuracy, study: study)
            + Self.summaryHTML(settings: s, measurements: measurements, realWordShares: realWordShares, pairs: pairCount, labelled: labelled, accuracy: accuracy)
            + study.htmlSection()
        try Data(RunReport.html(runs: records, title: "RLHF on Shakespeare: the swift-rlhf demo", preamble: preamble).utf8)
            .write(to: report, options: .atomic)
        return DemoResult(measurements: measurements, realWordShares: realWordShares, study: study, pairs: pairCount, ties: ties, rewardAccuracy: accuracy, report: report)
    }

    // MARK: Data

    /// The smallest corpus the demo accepts (enough lines for its prompts and its tokenizer), and
    /// the largest it reads into memory.
    public static let minimumCorpusBytes = 20_000, maximumCorpusBytes = 256 << 20

    /// The corpus as text; a missing, empty, binary or too small file is an error naming it and what the demo needs.
    public static func readCorpus(_ url: URL) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw RunError.missingFile(path: url.path, expected: "--corpus needs a plain-text file; leave it out for the built-in Shakespeare")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size <= maximumCorpusBytes else {
            throw RunError.invalidData(path: url.path, problem: "the corpus is \(size) bytes; the demo reads at most \(maximumCorpusBytes) (take an excerpt)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw RunError.unreadableFile(path: url.path, what: "corpus") }
        guard !data.isEmpty else { throw RunError.emptyData(path: url.path, problem: "the corpus is empty; the demo needs at least \(minimumCorpusBytes) bytes of plain text") }
        guard !data.contains(0), let text = String(data: data, encoding: .utf8) else {
            throw RunError.invalidData(path: url.path, problem: "the corpus is not UTF-8 text (binary data?); the demo needs plain text")
        }
        guard data.count >= minimumCorpusBytes else {
            throw RunError.invalidData(path: url.path, problem: "the corpus is \(data.count) bytes; the demo needs at least \(minimumCorpusBytes) bytes of plain text (a few pages) to draw prompts from and learn from")
        }
        return text
    }

    /// Prompts from a corpus: the first four words of lines that have at least four words and
    /// are not all capitals (speaker names, stage headings); de-duplicated, seeded shuffle.
    public static func corpusPrompts(_ text: String, count: Int, seed: UInt64) -> [String] {
        var seen = Set<String>(), candidates: [String] = []
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.count >= 4, line.contains(where: \.isLowercase), words[0].first?.isLetter == true else { continue }
            let prompt = words.prefix(4).joined(separator: " ")
            if seen.insert(prompt).inserted { candidates.append(prompt) }
        }
        return Array(Split.shuffled(candidates, seed: seed ^ 0x9807).prefix(count))
    }

    /// Samples `samplesPerPrompt` continuations per prompt; the rater's highest and lowest scored
    /// make a pair (chosen, rejected). A prompt whose samples all score the same gives no pair.
    public static func collectPreferences(model: any CausalLanguageModel, sampler: PolicySampler, prompts: [String], samplesPerPrompt: Int,
                                          rater: any RewardFunction, generator: inout RandomGenerator) throws -> (pairs: [PreferencePair], ties: Int) {
        let k = max(samplesPerPrompt, 2)
        let repeated = prompts.flatMap { Array(repeating: $0, count: k) }
        let sampled = try sampler.sample(model, prompts: repeated, generator: &generator)
        let scores = try rater.rewards(prompts: repeated, responses: sampled.texts)
        var pairs: [PreferencePair] = [], ties = 0
        for (index, prompt) in prompts.enumerated() {
            let range = (index * k)..<((index + 1) * k)
            let best = range.max { scores[$0] < scores[$1] }!, worst = range.min { scores[$0] < scores[$1] }!
            guard scores[best] > scores[worst] else { ties += 1; continue }
            pairs.append(PreferencePair(prompt: prompt, chosen: sampled.texts[best], rejected: sampled.texts[worst]))
        }
        return (pairs, ties)
    }

    /// DPO pairs from labelled text: the i-th positive text against the i-th negative one, with an
    /// empty prompt. Returns the pairs and the label names; a record without the fields is an
    /// error naming its line and field.
    static func pairsFromLabelledText(_ records: [RawRecord], fields: (text: String, label: String), positiveLabel: String,
                                      source: String) throws -> ([PreferencePair], [String]) {
        var positive: [String] = [], negative: [String] = [], names = Set<String>()
        for record in records {
            let text = try record.string(fields.text)
            let label = try record.string(fields.label)
            names.insert(label)
            if label == positiveLabel { positive.append(text) } else { negative.append(text) }
        }
        guard !positive.isEmpty, !negative.isEmpty else {
            throw RunError.invalidData(path: source, problem: "labelled text needs both '\(positiveLabel)' and other labels; found \(positive.count) and \(negative.count)")
        }
        return (zip(positive, negative).map { PreferencePair(prompt: "", chosen: $0, rejected: $1) }, names.sorted())
    }

    static func writePrompts(_ prompts: [String], to url: URL) throws {
        let lines = try prompts.map { String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": $0], options: [.withoutEscapingSlashes]), as: UTF8.self) }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
    }

    static func writePairs(_ pairs: [PreferencePair], to url: URL) throws {
        let lines = try pairs.map { pair in
            String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected],
                                                         options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
    }

    // MARK: Report

    /// "What happened", written from the numbers: how well the pretrained model writes, how well
    /// the proxy learned the rater, what PPO and DPO did to proxy and gold, and the study's verdict.
    static func whatHappenedHTML(settings: DemoSettings, measurements: [PolicyMeasurement], realWordShares: [Double], pairs: Int,
                                 labelled: Bool, accuracy: Double?, study: OverOptimizationStudy) -> String {
        func named(_ name: String) -> (PolicyMeasurement, Double)? {
            measurements.firstIndex { $0.name == name }.map { (measurements[$0], $0 < realWordShares.count ? realWordShares[$0] : .nan) }
        }
        var text = ""
        if let (pretrained, share) = named("pretrained") {
            text += String(format: "After %d pretraining steps the model writes Shakespeare-like text: %.0f%% of the words in its samples occur in the corpus. ",
                           settings.pretrainSteps, share * 100)
            if let gold = pretrained.gold { text += String(format: "Its samples score %.3f on the proxy and %.3f on the gold. ", pretrained.proxy, gold) }
        }
        text += labelled ? "The reward model learned from \(pairs) labelled texts" : "The simulated rater picked the better and worse of each prompt's samples (\(pairs) pairs), and the reward model learned its preferences"
        text += accuracy.map { String(format: ", agreeing with it on %.0f%% of held-out pairs. ", $0 * 100) } ?? ". "
        if let (ppo, share) = named("ppo"), let (pretrained, _) = named("pretrained") {
            text += String(format: "PPO against that reward model raised the proxy from %.2f to %.2f at a KL of %.1f nats", pretrained.proxy, ppo.proxy, ppo.kl)
            if let g0 = pretrained.gold, let g1 = ppo.gold { text += String(format: "; the gold went from %.3f to %.3f", g0, g1) }
            text += String(format: " (real words %.0f%%, separators %.3f, distinct-2 %.3f). ", share * 100, ppo.separatorRatio, ppo.distinct2)
        }
        if let (dpo, _) = named("dpo") {
            text += String(format: "DPO on the same pairs reached a proxy of %.2f and a gold of %@ at a KL of %.1f. ", dpo.proxy,
                           dpo.gold.map { String(format: "%.3f", $0) } ?? "–", dpo.kl)
        }
        return "<h2>What happened</h2><p id=what-happened>\(escapeHTML(text))</p><p>\(escapeHTML(study.summary))</p>\n"
    }

    /// The summary table and the side-by-side samples of the three policies.
    static func summaryHTML(settings: DemoSettings, measurements: [PolicyMeasurement], realWordShares: [Double], pairs: Int, labelled: Bool, accuracy: Double?) -> String {
        var html = "<h2>Summary</h2><p>Corpus \(escapeHTML(settings.corpus.lastPathComponent)); "
        html += labelled ? "labels from \(escapeHTML(settings.labels?.lastPathComponent ?? "")) (\(pairs) texts); "
            : "\(pairs) preference pairs judged by the simulated rater (the gold scorer); "
        html += accuracy.map { String(format: "reward model held-out accuracy %.3f. ", $0) } ?? ""
        html += "Proxy: the learned reward model PPO optimised. Gold, the stand-in for human raters who score positivity and sense: "
        html += escapeHTML(FluentSenseGold.definition) + ". KL: Σ log π − log π_pretrained per response, nats. "
        html += "Real words: the share of the samples' words that occur in the corpus.</p>"
        html += "<table><tr><th>policy</th><th>proxy</th><th>gold</th><th>KL</th><th>real words</th><th>separators</th><th>distinct-1</th><th>distinct-2</th></tr>"
        for (index, m) in measurements.enumerated() {
            let share = index < realWordShares.count ? String(format: "%.3f", realWordShares[index]) : ""
            html += String(format: "<tr><td>%@</td><td class=n>%.4f</td><td class=n>%@</td><td class=n>%.3f</td><td class=n>%@</td><td class=n>%.3f</td><td class=n>%.3f</td><td class=n>%.3f</td></tr>",
                           escapeHTML(m.name), m.proxy, m.gold.map { String(format: "%.4f", $0) } ?? "", m.kl, share, m.separatorRatio, m.distinct1, m.distinct2)
        }
        html += "</table><h2>Side by side</h2><table><tr><th>prompt</th>"
        html += measurements.map { "<th>\(escapeHTML($0.name)) (proxy / gold)</th>" }.joined() + "</tr>"
        let rows = measurements.map(\.samples.count).min() ?? 0
        for i in stride(from: 0, to: min(rows, 12 * settings.evalSamples), by: max(settings.evalSamples, 1)) {
            html += "<tr><td>\(escapeHTML(measurements[0].samples[i].prompt))</td>"
            for m in measurements {
                let sample = m.samples[i]
                html += "<td>\(escapeHTML(sample.response))<br><small>"
                html += String(format: "%.3f / %@", sample.proxy, sample.gold.map { String(format: "%.3f", $0) } ?? "") + "</small></td>"
            }
            html += "</tr>"
        }
        return html + "</table>\n"
    }
}
