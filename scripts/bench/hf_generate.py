#!/usr/bin/env python3
"""Hugging Face generate() speed at the shapes of `rlhf bench --only generate_*`, on this machine.

Random weights, 64-token prompts, 128 new tokens, sampling at temperature 1, float32, CPU.
Run by hand for comparison (pip install torch transformers): python3 scripts/bench/hf_generate.py
"""
import json
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

CASES = [
    ("generate_gpt2_small", GPT2Config(), [1, 16]),
    ("generate_shakespeare", GPT2Config(vocab_size=65, n_positions=256, n_embd=384, n_layer=6, n_head=6), [1, 64]),
]

torch.manual_seed(0)
for name, config, batches in CASES:
    model = GPT2LMHeadModel(config).eval()
    for batch in batches:
        prompts = torch.randint(0, config.vocab_size, (batch, 64))
        kwargs = dict(max_new_tokens=128, min_new_tokens=128, do_sample=True, temperature=1.0, top_k=0,
                      pad_token_id=0, attention_mask=torch.ones_like(prompts))
        with torch.no_grad():
            model.generate(prompts[:, :8], max_new_tokens=4, do_sample=True, top_k=0, pad_token_id=0)
            start = time.perf_counter()
            out = model.generate(prompts, **kwargs)
            seconds = time.perf_counter() - start
        new = (out.shape[1] - 64) * batch
        print(json.dumps({"bench": name, "batch": batch, "seconds": round(seconds, 3),
                          "tokens_per_second": round(new / seconds, 1), "threads": torch.get_num_threads()}), flush=True)
