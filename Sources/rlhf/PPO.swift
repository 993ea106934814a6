// `rlhf ppo`: PPO against a reward model or a programmatic reward, thin over `train(...)`.

import Alignment
import ArgumentParser
import Foundation

/// Aligns a policy with PPO into runs/<name>/.
struct PPO: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
        commandName: "ppo",
        abstract: "PPO with openai/lm-human-preferences' details (KL-shaped rewards, adaptive KL, whitening, GAE, clipping).",
        discussion: """
        Settings come from a preset, then --config FILE (flat YAML), then --field value overrides, e.g.
          rlhf ppo --model runs/sft/final --prompts prompts.jsonl --reward model:runs/rm/final --name ppo --iterations 100
          rlhf ppo --model runs/shakespeare/final --prompts input.txt --prompt_words 4 --reward uppercase
        reward: model:DIR | uppercase | lexicon | regex:PATTERN | length:N | classifier:DIR:LABEL | http(s)://URL.
        preset: none | lm_human_preferences_sentiment (OAI's sentiment run: 512 rollouts in one minibatch, 4 epochs,
        lr 1e-5 decayed over total_episodes 1e6, temperature 0.7, 24 tokens sampled past EOS, truncation at '.' after
        16 tokens with penalty −1, β0 0.15, KL target 6, horizon 10000, vf_coef 0.1, TensorFlow-style Adam ε 1e-5).
        metrics.jsonl uses lm-human-preferences' names (objective/score, objective/kl, …);
        samples.jsonl holds the eval prompts' responses and scores before training and at each evaluation.
        """
        + "\nFields (YAML name; on the command line --name-with-dashes or --name_with_underscores):\n" + ((try? PPOJob.fieldsHelp()) ?? ""))
    }

    @Option(help: "A YAML file of settings.") var config: String?
    @Flag(help: "Continue from the newest checkpoint of the run.") var resume = false
    @Flag(help: "With --resume: accept a configuration that differs from the run's config.yaml (by default only max_steps, iterations, total_episodes and the log/eval/checkpoint intervals may change).") var overrideConfig = false
    @Argument(parsing: .allUnrecognized, help: "--field value overrides.") var overrides: [String] = []

    func run() throws {
        let (job, ppo, mapping) = try PPOJob.resolve(file: config.map { URL(fileURLWithPath: $0) }, overrides: overrides)
        let terminal = isatty(2) != 0
        let run = try job.run(ppo: ppo, mapping: mapping, resume: resume, overrideConfig: overrideConfig) { progress in
            let line = String(format: "iteration %d/%d  score %.4f  kl %.4f  β %.4f  %.1f s/it", progress.iteration, progress.iterations,
                              progress.score, progress.kl, progress.klCoefficient, progress.seconds)
            FileHandle.standardError.write(Data(((terminal ? "\r" : "") + line + (terminal ? " " : "\n")).utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        print("finished; final checkpoint: \(run.finalURL.path)")
    }
}
