// Typed, documented job settings: every field has help, closed choices are enums whose bad values
// are named with the allowed ones, and config.yaml writes numbers as they were written.

import Alignment
import Foundation
import Testing
import Yams

/// A job: its name, its defaults with their documentation, its help text, and a round trip of a
/// resolved mapping through the job's and the trainer's structs (what a run decodes and records).
private struct JobEntry {
    let name: String
    let defaults: () throws -> (mapping: Node.Mapping, optionalKeys: Set<String>, help: [SettingHelp])
    let text: () throws -> String
    let roundTrip: (Node.Mapping) throws -> Node.Mapping

    init<Job: FieldListSettings, Settings: FieldListSettings>(_ name: String, _ job: Job, _ settings: Settings, text: @escaping () throws -> String) {
        self.name = name
        defaults = { try JobConfiguration.defaults(job, settings) }
        self.text = text
        roundTrip = { mapping in
            var out = try JobConfiguration.mapping(of: JobConfiguration.decode(Job.self, from: mapping, source: "test"))
            for (key, value) in try JobConfiguration.mapping(of: JobConfiguration.decode(Settings.self, from: mapping, source: "test")) { out[key] = value }
            return out
        }
    }
}

private var jobs: [JobEntry] { [
    JobEntry("sft", SFTJob(), SFTConfiguration(), text: SFTJob.fieldsHelp),
    JobEntry("dpo", DPOJob(), DPOConfiguration(), text: DPOJob.fieldsHelp),
    JobEntry("reward", RewardJob(), RewardConfiguration(), text: RewardJob.fieldsHelp),
    JobEntry("ppo", PPOJob(), PPOConfiguration(), text: PPOJob.fieldsHelp),
    JobEntry("ppo preset", PPOJob(), PPOConfiguration.lmHumanPreferencesSentiment, text: PPOJob.fieldsHelp),
    JobEntry("pretrain", PretrainJob(), PretrainConfiguration(), text: PretrainJob.fieldsHelp),
    JobEntry("classifier", ClassifierJob(), ClassifierConfiguration(), text: ClassifierJob.fieldsHelp),
] }

@Suite("Job settings")
struct JobSettingsTests {
    @Test("every field a job encodes has exactly one help entry, the defaults survive decoding, and every field that defaults to null is read once set")
    func helpCoversEveryField() throws {
        for job in jobs {
            let defaults = try job.defaults()
            let names = defaults.help.map(\.name)
            #expect(Set(names).count == names.count, "\(job.name): a field documented twice")
            let encoded = Set(defaults.mapping.keys.compactMap(\.string))
            #expect(encoded.subtracting(names).isEmpty, "\(job.name): undocumented fields \(encoded.subtracting(names).sorted())")
            #expect(defaults.help.allSatisfy { !$0.meaning.isEmpty })
            #expect(try job.roundTrip(defaults.mapping) == defaults.mapping, "\(job.name): the defaults do not survive decoding and encoding")
            // A field that defaults to null is read and recorded under its documented name once set.
            for entry in defaults.help where defaults.optionalKeys.contains(entry.name) {
                let sample = entry.choices?.first ?? (entry.type?.hasPrefix("integer") == true ? "3"
                    : entry.type?.hasPrefix("number") == true ? "0.5" : entry.type?.hasPrefix("mapping") == true ? "{a: 1}" : "x")
                let resolved = try JobConfiguration.resolve(defaults: defaults.mapping, optionalKeys: defaults.optionalKeys, file: nil,
                                                            overrides: ["--\(entry.name)", sample])
                #expect(try job.roundTrip(resolved)[Node(entry.name)] != nil, "\(job.name): \(entry.name) set to \(sample) is not read")
            }
        }
    }

    @Test("the generated help gives each field's spelling, type, default and meaning; choices are listed")
    func generatedHelp() throws {
        let ppo = try PPOJob.fieldsHelp()
        #expect(ppo.contains("  --max-new-tokens  integer, default 24\n      New tokens per response, at most."))
        #expect(ppo.contains("  --scale-reward  none | running, default none\n"))
        #expect(ppo.contains("  --value-model  shared | separate, default shared\n"))
        #expect(ppo.contains("  --eps-placement  pytorch | tensorflow, default pytorch\n"))
        #expect(ppo.contains("  --beta1  number, default 0.9\n"))
        #expect(ppo.contains("  --target  number or null, default 6.0\n"))
        #expect(ppo.contains("  --truncate-token  text or null, default null\n"))
        let sft = try SFTJob.fieldsHelp()
        #expect(sft.contains("  --long-responses  error | truncate | skip, default error\n"))
        #expect(sft.contains("  --schedule  linear | cosine | noam | constant, default linear\n"))
        #expect(try PretrainJob.fieldsHelp().contains("  --schedule  linear | cosine | noam | constant, default cosine\n"))
        #expect(try RewardJob.fieldsHelp().contains("  --normalize  none | before | after | both, default none\n"))
        #expect(try ClassifierJob.fieldsHelp().contains("  --problem-type  auto | single_label_classification | multi_label_classification, default auto\n"))
    }

    @Test("a bad choice is an error naming the field, the value and the allowed values", arguments: [
        ("scale_reward", "bogus", "none, running"), ("value_model", "both", "shared, separate"),
        ("schedule", "triangle", "linear, cosine, noam, constant"), ("eps_placement", "keras", "pytorch, tensorflow"),
        ("preset", "openai", "none, lm_human_preferences_sentiment"),
    ])
    func badChoice(field: String, value: String, allowed: String) throws {
        let error = try #require(throws: RunError.self, "accepted \(field) \(value)") {
            try PPOJob.resolve(file: nil, overrides: ["--model", "m", "--prompts", "p", "--reward", "uppercase", "--\(field)", value])
        }
        #expect(error == .invalidChoice(field: field, source: "command line", value: value, choices: allowed.components(separatedBy: ", ")))
        #expect(error.description == "command line: field '\(field)' is '\(value)'; expected \(allowed)")
    }

    @Test("closed choices decode to their enums: objective, normalize, unknown_characters, problem_type, long_responses")
    func choicesDecode() throws {
        let (reward, training, _) = try RewardJob.resolve(file: nil, overrides: ["--data", "d", "--model", "m", "--objective", "best_of_n",
                                                                               "--normalize", "both", "--unknown-characters", "fold"])
        #expect(reward.objective == .bestOfN && reward.objective.objective == .bestOfN)
        #expect(training.normalize == .both && training.normalize.before && training.normalize.after)
        #expect(reward.unknownCharacters == .fold)
        let (classifier, _, _) = try ClassifierJob.resolve(file: nil, overrides: ["--data", "d", "--model", "m", "--problem_type", "multi_label_classification"])
        #expect(classifier.problemType == .multiLabel)
        let (_, sft, _) = try SFTJob.resolve(file: nil, overrides: ["--data", "d", "--model", "m", "--long-responses", "skip", "--schedule", "cosine"])
        #expect(sft.longResponses == .skip && sft.schedule == .cosine)
    }

    @Test("the optimizer fields are one shared struct, flattened into every trainer's mapping with that trainer's defaults")
    func sharedOptimizer() throws {
        let names = Set(OptimizerSettings.help.map(\.name))
        for job in jobs {
            let keys = Set(try job.defaults().mapping.keys.compactMap(\.string))
            #expect(names.isSubset(of: keys), "\(job.name) lacks \(names.subtracting(keys).sorted())")
        }
        // The values PPO and pretraining used before they shared the struct, literally.
        let ppo = PPOConfiguration().optimizer
        #expect(ppo.learningRate == 1e-5 && ppo.schedule == .linear && ppo.warmupSteps == 0 && ppo.minimumLearningRateRatio == 0)
        #expect(ppo.weightDecay == 0 && ppo.beta1 == 0.9 && ppo.beta2 == 0.999 && ppo.adamEpsilon == 1e-5 && ppo.epsilonPlacement == .pytorch)
        #expect(ppo.gradientClip == 0)
        let pretrain = PretrainConfiguration().optimizer
        #expect(pretrain.learningRate == 1e-3 && pretrain.schedule == .cosine && pretrain.warmupSteps == 100 && pretrain.minimumLearningRateRatio == 0.1)
        #expect(pretrain.weightDecay == 0.1 && pretrain.beta1 == 0.9 && pretrain.beta2 == 0.99 && pretrain.adamEpsilon == 1e-8)
        #expect(pretrain.epsilonPlacement == .pytorch && pretrain.gradientClip == 1)
        var configuration = PPOConfiguration()
        configuration.learningRate = 3e-4  // read and written through
        #expect(configuration.optimizer.learningRate == 3e-4)
        let (_, resolved, _) = try PPOJob.resolve(file: nil, overrides: ["--model", "m", "--prompts", "p", "--reward", "uppercase", "--weight_decay", "0.01"])
        #expect(resolved.optimizer.weightDecay == 0.01 && resolved.optimizer.adamW.weightDecay == 0.01)
        let bad = OptimizerSettings(learningRate: 1e-3, beta2: 1)
        #expect(throws: RunError.invalidSetting(field: "beta2", source: "config", problem: "is 1.0; it must be in [0, 1)")) { try bad.validate() }
    }

    @Test("config.yaml writes numbers as written (0.9, not 8.99999976158142e-1) and reads back the same settings")
    func numbersAsWritten() throws {
        let (_, ppo, mapping) = try PPOJob.resolve(file: nil, overrides: ["--model", "m", "--prompts", "p", "--reward", "uppercase", "--cliprange", "0.3"])
        let yaml = try JobConfiguration.yaml(mapping)
        for line in ["beta1: 0.9", "beta2: 0.999", "cliprange: 0.3", "cliprange_value: 0.2", "vf_coef: 0.1", "lam: 0.95", "adam_eps: 1e-05",
                     "init_kl_coef: 0.15", "horizon: 10000.0", "learning_rate: 1e-05"] {
            #expect(("\n" + yaml).contains("\n" + line + "\n"), "\(line) missing from:\n\(yaml)")
        }
        #expect(!yaml.contains("e-1\n") && !yaml.contains("99999"))
        let reread = try JobConfiguration.decode(PPOConfiguration.self, from: try Yams.compose(yaml: yaml)!.mapping!, source: "config.yaml")
        #expect(reread == ppo)
    }
}
