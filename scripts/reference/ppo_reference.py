#!/usr/bin/env python3
"""One PPO iteration in PyTorch, as openai/lm-human-preferences (train_policy.py, PPOTrainer.loss
and train) and vwxyzjn/lm-human-preference-details define it, for the Swift PPO parity test
(run by hand once; CI never runs Python; the output is committed).

  python3 scripts/reference/ppo_reference.py

Builds a tiny random GPT2LMHeadModel (transformers) plus a linear value head on the final hidden
state (after ln_f), fixed rollouts (8 rows, query 5, response 6 tokens, no padding), and runs one
iteration: rewards = -kl_coef * (old - ref logprobs) with the score added to the last token; then
2 epochs x 2 minibatches of 4 rows: whitened rewards (mean kept), GAE, whitened advantages,
clipped policy and value losses, and one hand-written Adam step each (TensorFlow epsilon
placement), all in float64 from the float32 starting weights and float32 rollout tensors.
Writes Tests/AlignmentTests/Fixtures/ppo-reference/:

  config.json, generation_config.json   the GPT-2 config (save_pretrained)
  model.safetensors      starting weights, float32: transformer.* (lm_head tied, not stored)
                         plus v_head.summary.weight (1, 16) and v_head.summary.bias (1,)
  rollouts.json          queries, responses, old_logprobs, ref_logprobs, values, scores,
                         permutations, hyperparameters, minibatch_stats (4, in order), stats
                         (averaged, "ppo/" prefix), torch_version, transformers_version
  expected.safetensors   every parameter after the iteration (same names), float32

Before writing, it checks: the forward's log-probs equal a token-by-token recomputation (so
old_logprobs := logp0 gives ratio 1), clipping happens in both losses for some minibatch, and the
saved checkpoint reloads through GPT2LMHeadModel.from_pretrained with identical logits.
"""
import copy
import json
import os

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests", "AlignmentTests", "Fixtures", "ppo-reference")

B, Q, R = 8, 5, 6
VOCAB, EMBD = 37, 16
HP = {
    "kl_coef": 0.15, "gamma": 1.0, "lam": 0.95, "cliprange": 0.2, "cliprange_value": 0.2,
    "vf_coef": 0.1, "whiten_rewards": True, "temperature": 0.7, "ppo_epochs": 2,
    "num_mini_batches": 2, "learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-5,
    "eps_placement": "tensorflow",
}
OLD_NOISE, REF_NOISE, VALUE_NOISE, SCORE_SCALE = 0.3, 0.5, 0.3, 2.0
STAT_NAMES = ["loss/policy", "loss/value", "loss/total", "policy/entropy", "policy/approxkl",
              "policy/clipfrac", "returns/mean", "returns/var", "val/vpred", "val/error",
              "val/clipfrac", "val/mean", "val/var"]


def build():
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=EMBD, n_layer=2, n_head=2,
                        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config)
    model.eval()
    v_head = torch.nn.Linear(EMBD, 1)
    with torch.no_grad():
        v_head.weight.normal_(0.0, 0.2)
        v_head.bias.normal_(0.0, 0.2)
    return model, v_head


def forward(model, v_head, queries, responses):
    """Per response token: log-prob of the token under softmax(logits / T), value, entropy."""
    ids = torch.cat([queries, responses], dim=1)
    positions = torch.arange(ids.shape[1]).expand_as(ids)
    hidden = model.transformer(input_ids=ids, position_ids=positions).last_hidden_state  # after ln_f
    hidden = hidden[:, Q - 1:Q - 1 + R]          # position Q-1+t predicts response token t
    logits = model.lm_head(hidden) / HP["temperature"]
    logp_all = torch.log_softmax(logits, dim=-1)
    logprob = logp_all.gather(-1, responses.unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    value = v_head(hidden).squeeze(-1)
    return logprob, value, entropy


def stepwise_logprobs(model, queries, responses):
    """Independent check of the indexing: feed each prefix and read its last position."""
    out = torch.empty(responses.shape, dtype=torch.float64)
    for t in range(R):
        ids = torch.cat([queries, responses[:, :t]], dim=1)
        logits = model(input_ids=ids).logits[:, -1] / HP["temperature"]
        out[:, t] = torch.log_softmax(logits, -1).gather(-1, responses[:, t:t + 1]).squeeze(-1)
    return out


def whiten(x, shift_mean=True):
    mean = x.mean()
    var = ((x - mean) ** 2).mean()               # biased
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    return out if shift_mean else out + mean


def gae(rewards, values):
    lastgaelam = torch.zeros(rewards.shape[0], dtype=rewards.dtype)
    advantages = [None] * R
    for t in reversed(range(R)):
        nextvalue = values[:, t + 1] if t < R - 1 else torch.zeros_like(lastgaelam)
        delta = rewards[:, t] + HP["gamma"] * nextvalue - values[:, t]
        lastgaelam = delta + HP["gamma"] * HP["lam"] * lastgaelam
        advantages[t] = lastgaelam
    advantages = torch.stack(advantages, dim=1)
    return advantages, advantages + values


def iteration(model, v_head, rollouts, permutations):
    """Trains model and v_head in place; returns the 4 minibatch stat dicts."""
    queries, responses = rollouts["queries"], rollouts["responses"]
    old_logprobs, values = rollouts["old_logprobs"], rollouts["values"]
    kl = old_logprobs - rollouts["ref_logprobs"]
    rewards = -HP["kl_coef"] * kl
    rewards[:, -1] += rollouts["scores"]

    parameters = [p for _, p in model.named_parameters()] + list(v_head.parameters())
    m_state = [torch.zeros_like(p) for p in parameters]
    v_state = [torch.zeros_like(p) for p in parameters]
    step = 0
    size = B // HP["num_mini_batches"]
    all_stats = []
    for perm in permutations:
        for mb in range(HP["num_mini_batches"]):
            rows = torch.tensor(perm[mb * size:(mb + 1) * size])
            mb_rewards, mb_values, mb_old = rewards[rows], values[rows], old_logprobs[rows]
            if HP["whiten_rewards"]:
                mb_rewards = whiten(mb_rewards, shift_mean=False)
            advantages, returns = gae(mb_rewards, mb_values)
            advantages = whiten(advantages).detach()
            returns = returns.detach()

            logprob, vpred, entropy = forward(model, v_head, queries[rows], responses[rows])
            vpredclipped = torch.clamp(vpred, mb_values - HP["cliprange_value"], mb_values + HP["cliprange_value"])
            vf_losses1 = (vpred - returns) ** 2
            vf_losses2 = (vpredclipped - returns) ** 2
            vf_loss = 0.5 * torch.maximum(vf_losses1, vf_losses2).mean()
            vf_clipfrac = (vf_losses2 > vf_losses1).double().mean()
            ratio = torch.exp(logprob - mb_old)
            pg_losses = -advantages * ratio
            pg_losses2 = -advantages * torch.clamp(ratio, 1.0 - HP["cliprange"], 1.0 + HP["cliprange"])
            pg_loss = torch.maximum(pg_losses, pg_losses2).mean()
            pg_clipfrac = (pg_losses2 > pg_losses).double().mean()
            loss = pg_loss + HP["vf_coef"] * vf_loss

            stats = {
                "loss/policy": pg_loss, "loss/value": vf_loss, "loss/total": loss,
                "policy/entropy": entropy.mean(),
                "policy/approxkl": 0.5 * ((logprob - mb_old) ** 2).mean(),
                "policy/clipfrac": pg_clipfrac,
                "returns/mean": returns.mean(), "returns/var": ((returns - returns.mean()) ** 2).mean(),
                "val/vpred": vpred.mean(), "val/error": ((vpred - returns) ** 2).mean(),
                "val/clipfrac": vf_clipfrac,
                "val/mean": mb_values.mean(), "val/var": ((mb_values - mb_values.mean()) ** 2).mean(),
            }
            all_stats.append({k: v.item() for k, v in stats.items()})

            for p in parameters:
                p.grad = None
            loss.backward()
            step += 1
            b1, b2, eps, lr = HP["beta1"], HP["beta2"], HP["adam_eps"], HP["learning_rate"]
            lr_t = lr * (1.0 - b2 ** step) ** 0.5 / (1.0 - b1 ** step)
            with torch.no_grad():
                for p, m, v in zip(parameters, m_state, v_state):
                    g = p.grad
                    m.mul_(b1).add_((1.0 - b1) * g)
                    v.mul_(b2).add_((1.0 - b2) * g * g)
                    p.sub_(lr_t * m / (v.sqrt() + eps))
    return all_stats


def averaged(minibatch_stats):
    n = len(minibatch_stats)
    out = {"ppo/" + k: sum(s[k] for s in minibatch_stats) / n for k in STAT_NAMES}
    out["ppo/val/var_explained"] = 1.0 - out["ppo/val/error"] / out["ppo/returns/var"]
    return out


def parameter_dict(model, v_head):
    out = {name: p.detach().float().contiguous().clone() for name, p in model.named_parameters()}
    out["v_head.summary.weight"] = v_head.weight.detach().float().contiguous().clone()
    out["v_head.summary.bias"] = v_head.bias.detach().float().contiguous().clone()
    return out


def main():
    model, v_head = build()

    # Starting checkpoint: save_pretrained's files, with the value head added to model.safetensors.
    os.makedirs(FIXTURE, exist_ok=True)
    model.save_pretrained(FIXTURE, safe_serialization=True)
    for name in os.listdir(FIXTURE):
        if name not in ("config.json", "generation_config.json", "model.safetensors"):
            os.remove(os.path.join(FIXTURE, name))
    weights_path = os.path.join(FIXTURE, "model.safetensors")
    saved = load_file(weights_path)
    start = parameter_dict(model, v_head)
    assert set(saved) | {"v_head.summary.weight", "v_head.summary.bias"} == set(start), sorted(set(saved) ^ set(start))
    saved["v_head.summary.weight"] = start["v_head.summary.weight"]
    saved["v_head.summary.bias"] = start["v_head.summary.bias"]
    save_file(saved, weights_path, metadata={"format": "pt"})

    # Float64 copies of exactly those float32 values.
    model64 = copy.deepcopy(model).double()
    v_head64 = copy.deepcopy(v_head).double()
    assert model64.lm_head.weight is model64.transformer.wte.weight   # still one (tied) parameter

    # Rollouts.
    generator = torch.Generator().manual_seed(1)
    queries = torch.randint(0, VOCAB - 1, (B, Q), generator=generator)
    responses = torch.randint(0, VOCAB - 1, (B, R), generator=generator)
    with torch.no_grad():
        logp0, value0, _ = forward(model64, v_head64, queries, responses)

        # Check 1: forward indexing / temperature against a token-by-token recomputation.
        stepwise = stepwise_logprobs(model64, queries, responses)
        check_ratio = (stepwise - logp0).abs().max().item()
        assert check_ratio < 1e-12, check_ratio

    def noise(std):
        return std * torch.randn(B, R, generator=generator, dtype=torch.float64)

    old32 = (logp0 + noise(OLD_NOISE)).float()
    ref32 = (logp0 + noise(REF_NOISE)).float()
    values32 = (value0 + noise(VALUE_NOISE)).float()
    scores32 = (SCORE_SCALE * torch.randn(B, generator=generator, dtype=torch.float64)).float()
    permutations = [torch.randperm(B, generator=generator).tolist() for _ in range(HP["ppo_epochs"])]
    rollouts = {"queries": queries, "responses": responses, "old_logprobs": old32.double(),
                "ref_logprobs": ref32.double(), "values": values32.double(), "scores": scores32.double()}

    # Check 1 (as specified): with old_logprobs := logp0 exactly, the first minibatch's ratio is 1.
    rows = torch.tensor(permutations[0][:B // HP["num_mini_batches"]])
    with torch.no_grad():
        lp, _, _ = forward(model64, v_head64, queries[rows], responses[rows])
    ratio_error = (torch.exp(lp - logp0[rows]) - 1).abs().max().item()
    assert ratio_error < 1e-12, ratio_error

    minibatch_stats = iteration(model64, v_head64, rollouts, permutations)
    stats = averaged(minibatch_stats)

    # Check 2: clipping happens (strictly between 0 and 1) in some minibatch for both losses.
    for key in ("policy/clipfrac", "val/clipfrac"):
        fracs = [s[key] for s in minibatch_stats]
        assert any(0.0 < f < 1.0 for f in fracs), (key, fracs)

    expected = parameter_dict(model64, v_head64)
    assert set(expected) == set(start)
    save_file(expected, os.path.join(FIXTURE, "expected.safetensors"), metadata={"format": "pt"})
    delta = max((expected[k].double() - start[k].double()).abs().max().item() for k in start)

    # Check 3: the checkpoint reloads through from_pretrained with identical logits.
    reloaded = GPT2LMHeadModel.from_pretrained(FIXTURE, attn_implementation="eager")
    reloaded.eval()
    ids = torch.cat([queries, responses], dim=1)
    with torch.no_grad():
        reload_diff = (reloaded(input_ids=ids).logits - model(input_ids=ids).logits).abs().max().item()
    assert reload_diff == 0.0, reload_diff
    reread = load_file(weights_path)
    assert all(torch.equal(reread[k], start[k]) for k in start)

    def rows_of(t):
        return [[float(x) for x in row] for row in t.tolist()]

    document = {
        "queries": queries.tolist(), "responses": responses.tolist(),
        "old_logprobs": rows_of(old32), "ref_logprobs": rows_of(ref32), "values": rows_of(values32),
        "scores": [float(x) for x in scores32.tolist()],
        "permutations": permutations, "hyperparameters": HP,
        "minibatch_stats": minibatch_stats, "stats": stats,
        "torch_version": torch.__version__, "transformers_version": transformers.__version__,
    }
    with open(os.path.join(FIXTURE, "rollouts.json"), "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")

    for name in os.listdir(FIXTURE):
        os.chmod(os.path.join(FIXTURE, name), 0o644)

    print("wrote", FIXTURE)
    print(f"checks: stepwise logprob diff {check_ratio:.3g}, ratio-1 with old=logp0 {ratio_error:.3g}, "
          f"reload logit diff {reload_diff:.3g}")
    print("clipfrac per minibatch: policy", [s["policy/clipfrac"] for s in minibatch_stats],
          "value", [s["val/clipfrac"] for s in minibatch_stats])
    print(f"max |delta param| {delta:.6g}")
    for k, v in stats.items():
        print(f"  {k:28s} {v:.12g}")


if __name__ == "__main__":
    main()
