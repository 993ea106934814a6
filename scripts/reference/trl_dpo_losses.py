"""TRL's own DPO loss code on fixed per-token log-probabilities, for the Swift parity test.

Calls `trl.DPOTrainer._compute_loss` (TRL 1.16) — sigmoid and IPO; sigmoid + sft weighted 1 and 0.5
(TRL 1.16's form of RPO's `rpo_alpha`); sigmoid with reference log-probs of 0 (reference-free) — with a
stand-in model whose forward returns the
fixture's per-token log-probs (TRL sums them over the completion mask), precomputed reference
log-probs, and a minimal trainer state. Writes Tests/AlignmentTests/Fixtures/trl_dpo_losses.json:

    python3 scripts/reference/trl_dpo_losses.py > Tests/AlignmentTests/Fixtures/trl_dpo_losses.json
"""
import json
import types
from collections import defaultdict

import torch
import trl
from trl import DPOTrainer

# Three pairs; per-token log-probs of each completion (lengths differ), and reference sums.
CHOSEN = [[-0.5, -1.25, -0.75], [-2.0, -0.125], [-0.3, -0.6, -0.9, -1.2]]
REJECTED = [[-1.5, -2.25], [-0.25, -0.5, -1.0], [-0.4, -0.8, -1.6]]
REF_CHOSEN = [-2.75, -1.5, -3.5]
REF_REJECTED = [-3.5, -1.5, -2.5]
PROMPT = 2  # prompt tokens before each completion


class StandIn(torch.nn.Module):
    def __init__(self, log_probs):
        super().__init__()
        self.log_probs = log_probs

    def forward(self, **kwargs):
        zeros = torch.zeros_like(self.log_probs)
        return types.SimpleNamespace(log_probs=self.log_probs, entropy=zeros, mean_logits=zeros, is_top1=zeros.bool())


def batch():
    rows = CHOSEN + REJECTED
    width = PROMPT + max(len(r) for r in rows)
    completion_mask = torch.zeros(len(rows), width, dtype=torch.long)
    log_probs = torch.zeros(len(rows), width - 1)
    for i, row in enumerate(rows):
        completion_mask[i, PROMPT:PROMPT + len(row)] = 1
        # position t of the shifted sequence predicts token t + 1
        log_probs[i, PROMPT - 1:PROMPT - 1 + len(row)] = torch.tensor(row)
    inputs = {
        "input_ids": torch.ones(len(rows), width, dtype=torch.long),
        "attention_mask": (completion_mask + (torch.arange(width) < PROMPT).long()).clamp(max=1),
        "completion_mask": completion_mask,
        "ref_chosen_logps": torch.tensor(REF_CHOSEN),
        "ref_rejected_logps": torch.tensor(REF_REJECTED),
    }
    return inputs, log_probs


def trl_loss(loss_type, beta, loss_weights=None, reference_zero=False):
    inputs, log_probs = batch()
    if reference_zero:  # what a reference-free run hands TRL: reference log-probs of 0
        inputs["ref_chosen_logps"] = torch.zeros(len(CHOSEN))
        inputs["ref_rejected_logps"] = torch.zeros(len(REJECTED))
    loss_types = loss_type if isinstance(loss_type, list) else [loss_type]
    loss_weights = loss_weights or [1.0] * len(loss_types)
    model = StandIn(log_probs)
    model.train()
    accelerator = types.SimpleNamespace(device="cpu", gather_for_metrics=lambda x: x, gather=lambda x: x)
    state = types.SimpleNamespace(
        model=model, accelerator=accelerator, aux_loss_enabled=False, ld_alpha=None, precompute_ref_logps=True,
        f_divergence_type="reverse_kl", f_alpha_divergence_coef=1.0, loss_types=loss_types, loss_weights=loss_weights,
        beta=beta, label_smoothing=0.0, use_weighting=False, _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
        _total_train_tokens=0, _tp_size=1, rpo_alpha=None,
    )
    loss = DPOTrainer._compute_loss(state, model, inputs, return_outputs=False)
    return float(loss), {k: v[-1] for k, v in state._metrics["train"].items() if v and not isinstance(v[-1], list)}


if __name__ == "__main__":
    cases = []
    for loss_type, beta in [("sigmoid", 0.1), ("sigmoid", 0.5), ("ipo", 0.5)]:
        loss, metrics = trl_loss(loss_type, beta)
        cases.append({"loss_type": loss_type, "beta": beta, "loss": loss, "metrics": metrics})
    # RPO: TRL 1.16 has no rpo_alpha; the NLL term is loss_type "sft" weighted beside "sigmoid".
    loss, metrics = trl_loss(["sigmoid", "sft"], 0.1, loss_weights=[1.0, 0.5])
    cases.append({"loss_type": "sigmoid", "beta": 0.1, "rpo_alpha": 0.5, "loss": loss, "metrics": metrics})
    # Reference-free: TRL 1.16 has no switch; reference log-probs of 0 give the same numbers.
    loss, metrics = trl_loss("sigmoid", 0.1, reference_zero=True)
    cases.append({"loss_type": "sigmoid", "beta": 0.1, "reference_free": True, "loss": loss, "metrics": metrics})
    print(json.dumps({"trl_version": trl.__version__, "chosen": CHOSEN, "rejected": REJECTED,
                      "ref_chosen": REF_CHOSEN, "ref_rejected": REF_REJECTED, "cases": cases}, indent=1))
