#!/usr/bin/env python3
"""PyTorch training throughput at the shapes of `rlhf bench --only train_*`, on this machine.

Forward + loss + backward + AdamW on random tokens, float32, CPU; HF GPT2LMHeadModel (eager
attention). Run by hand for comparison: python3 scripts/bench/torch_train.py
"""
import json
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

CASES = [
    ("train_shakespeare", GPT2Config(vocab_size=65, n_positions=256, n_embd=384, n_layer=6, n_head=6,
                                     resid_pdrop=0.2, embd_pdrop=0.2, attn_pdrop=0.2), 16, 256),
    ("train_gpt2_small", GPT2Config(resid_pdrop=0, embd_pdrop=0, attn_pdrop=0), 4, 256),
]
torch.manual_seed(0)
for name, config, batch, block in CASES:
    model = GPT2LMHeadModel(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    ids = torch.randint(0, config.vocab_size, (batch, block))

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[2]
    print(json.dumps({"bench": name, "step_ms": round(seconds * 1e3, 1),
                      "tokens_per_second": round(batch * block / seconds, 1), "threads": torch.get_num_threads()}), flush=True)
