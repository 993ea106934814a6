// `rlhf ppo`: PPO against a reward model or a programmatic reward, thin over `train(...)`.

import Alignment
import ArgumentParser
import Foundation

/// Aligns a policy with PPO into runs/<name>/.
struct PPO: ParsableCommand {
    static let configuration = CommandConfiguration(
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
        Fields: name, runs_dir, model, prompts, prompt_field, prompt_words, eval_prompts, num_eval_prompts, reward, preset,
        iterations, num_rollouts, chunk_size, ppo_epochs, num_mini_batches, gradient_accumulation_steps, init_kl_coef, target (null: fixed β), horizon,
        gamma, lam, cliprange, cliprange_value, vf_coef, ent_coef, whiten_rewards, scale_reward (none | running),
        cliprange_reward, temperature, top_k, top_p, max_new_tokens, min_new_tokens, stop_at_eos, stop, truncate_token,
        truncate_after, penalty_reward, value_model (shared | separate), learning_rate, schedule, total_episodes, warmup_steps, beta1,
        beta2, adam_eps, eps_placement (pytorch | tensorflow), grad_clip, eval_interval, checkpoint_interval,
        keep_checkpoints, seed. metrics.jsonl uses lm-human-preferences' names (objective/score, objective/kl, …);
        samples.jsonl holds the eval prompts' responses and scores before training and at each evaluation.
        """)

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
