#!/usr/bin/env python3
"""PyTorch / transformers T5-small speed at the shapes of `rlhf bench --only train_t5_small,generate_t5_small`.

T5-small shaped as Flan-T5-small (6 + 6 layers, d_model 512, d_ff 2048, 8 heads, vocabulary 32,128,
gated GELU, untied head), random weights, float32, CPU, eager attention.
  train_t5_small:    8 sources of 128 tokens, targets of 32, dropout 0.1: forward + loss + backward +
                     AdamW; tokens/s counts source and target tokens.
  generate_t5_small: 64-token sources, 64 new tokens sampled at temperature 1 (min_new_tokens = 64),
                     batch 1 and 16, model.generate with its cache.
Run by hand for comparison: python3 scripts/bench/torch_t5.py
"""
import json
import time

import torch
from transformers import T5Config, T5ForConditionalGeneration

torch.manual_seed(0)
config = T5Config(feed_forward_proj="gated-gelu", tie_word_embeddings=False, dropout_rate=0.1, decoder_start_token_id=0)
config._attn_implementation = "eager"

model = T5ForConditionalGeneration(config).train()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
batch, source, target = 8, 128, 32
ids = torch.randint(2, config.vocab_size, (batch, source))
labels = torch.randint(2, config.vocab_size, (batch, target))


def step():
    loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
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
print(json.dumps({"bench": "train_t5_small", "step_ms": round(seconds * 1e3, 1),
                  "tokens_per_second": round(batch * (source + target) / seconds, 1), "threads": torch.get_num_threads()}), flush=True)

model.eval()
for batch in [1, 16]:
    prompts = torch.randint(2, config.vocab_size, (batch, 64))
    kwargs = dict(max_new_tokens=64, min_new_tokens=64, do_sample=True, temperature=1.0, top_k=0,
                  attention_mask=torch.ones_like(prompts))
    with torch.no_grad():
        model.generate(prompts[:, :8], max_new_tokens=4, do_sample=True, top_k=0)
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            out = model.generate(prompts, **kwargs)
            runs.append(time.perf_counter() - start)
    seconds = sorted(runs)[1]
    new = (out.shape[1] - 1) * batch
    print(json.dumps({"bench": "generate_t5_small", "batch": batch, "seconds": round(seconds, 3),
                      "tokens_per_second": round(new / seconds, 1), "threads": torch.get_num_threads()}), flush=True)
