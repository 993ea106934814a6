#!/usr/bin/env python3
"""GPT-2 parity fixtures for Tests/ModelsTests (run by hand once; CI never runs Python).

  python3 scripts/reference/gpt2_parity.py make
      Builds a tiny random GPT2LMHeadModel with transformers, saves it to
      Tests/ModelsTests/Fixtures/gpt2-tiny/ (config.json, model.safetensors), and writes
      expected.safetensors there: inputs, logits, loss and the gradients of a few parameters.

  python3 scripts/reference/gpt2_parity.py check-swift DIR
      DIR holds a checkpoint saved by Swift plus swift_logits.safetensors (written by the Swift
      test `savedCheckpointForPython` when RLHF_WRITE_PARITY_DIR=DIR). Loads DIR with
      GPT2LMHeadModel.from_pretrained, recomputes the logits on the same inputs, and records the
      comparison in Tests/ModelsTests/Fixtures/gpt2-tiny/swift_checkpoint_check.json.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "gpt2-tiny")
GRADIENTS = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.attn.c_attn.weight",
             "transformer.h.1.mlp.c_proj.bias", "transformer.h.1.ln_2.weight", "transformer.ln_f.weight"]


def inputs():
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 97, (2, 11), generator=generator)
    mask = torch.ones(2, 11, dtype=torch.long)
    mask[1, :3] = 0          # left padding in the second row
    ids[1, :3] = 0
    position_ids = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)   # as generate() computes them
    labels = ids.masked_fill(mask == 0, -100)
    labels[1, 3] = -100      # its prediction comes from a padded position, where nothing is attended
    return ids, mask, position_ids, labels


def make():
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=97, n_positions=32, n_embd=24, n_layer=2, n_head=3,
                        layer_norm_epsilon=1e-5, activation_function="gelu_new",
                        resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1, bos_token_id=96, eos_token_id=96)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config)
    # Make the layer norms and biases non-trivial so their gradients and effects are tested.
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias") or "ln_" in name:
                parameter.add_(0.1 * torch.randn_like(parameter))
    model.eval()
    os.makedirs(FIXTURE, exist_ok=True)
    model.save_pretrained(FIXTURE, safe_serialization=True)
    ids, mask, position_ids, labels = inputs()
    out = model(input_ids=ids, attention_mask=mask, position_ids=position_ids, labels=labels)
    out.loss.backward()
    parameters = dict(model.named_parameters())
    tensors = {
        "input_ids": ids, "attention_mask": mask, "position_ids": position_ids, "labels": labels,
        "logits": out.logits.detach().contiguous(), "loss": out.loss.detach().reshape(1),
    }
    for name in GRADIENTS:
        tensors["grad." + name] = parameters[name].grad.detach().contiguous()
    save_file(tensors, os.path.join(FIXTURE, "expected.safetensors"),
              metadata={"transformers": transformers.__version__, "torch": torch.__version__})
    print("wrote", FIXTURE, "loss", out.loss.item())


def check_swift(directory):
    model = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager")
    model.eval()
    swift = load_file(os.path.join(directory, "swift_logits.safetensors"))
    ids, mask, position_ids = swift["input_ids"].long(), swift["attention_mask"].long(), swift["position_ids"].long()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids).logits
    real = mask.bool()
    difference = (logits - swift["logits"]).abs()[real].max().item()
    scale = logits.abs()[real].max().item()
    result = {
        "loaded_with": "transformers.GPT2LMHeadModel.from_pretrained",
        "transformers": transformers.__version__, "torch": torch.__version__,
        "max_abs_logit_difference": difference, "max_abs_logit": scale,
        "passed": difference <= 1e-4 * max(1.0, scale),
    }
    with open(os.path.join(FIXTURE, "swift_checkpoint_check.json"), "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1:2] == ["make"]:
        make()
    elif sys.argv[1:2] == ["check-swift"] and len(sys.argv) == 3:
        check_swift(sys.argv[2])
    else:
        sys.exit(__doc__)
