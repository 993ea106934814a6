#!/usr/bin/env python3
"""PyTorch timings of the kernels `rlhf bench` measures, at the same shapes, on this machine.

Not part of the product or of CI: run it by hand (pip install torch) to compare, e.g.
    python3 scripts/bench/torch_reference.py
Prints JSON lines: {"bench": ..., "forward_ms": ..., "backward_ms": ...} (medians of 5 runs).
"""
import json
import time

import torch
import torch.nn.functional as F

torch.manual_seed(0)
B, T, C, NH, V = 4, 256, 768, 12, 50257
HS = C // NH


def median_ms(fn, repetitions=5):
    fn()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[len(times) // 2]


def forward_backward(name, make_inputs, forward):
    inputs = make_inputs()
    out = forward(*inputs)
    grad = torch.randn_like(out)
    fwd = median_ms(lambda: forward(*inputs))

    def both():
        for x in inputs:
            x.grad = None
        forward(*inputs).backward(grad)

    total = median_ms(both)
    print(json.dumps({"bench": name, "forward_ms": round(fwd, 3), "backward_ms": round(total - fwd, 3),
                      "threads": torch.get_num_threads()}))


a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
ms = median_ms(lambda: a @ b, 10)
print(json.dumps({"bench": "sgemm", "ms": round(ms, 3), "gflops": round(2 * 1024 ** 3 / ms / 1e6, 1)}))

forward_backward(
    "attention",
    lambda: [torch.randn(B, NH, T, HS, requires_grad=True) for _ in range(3)],
    lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))
forward_backward(
    "layernorm",
    lambda: [torch.randn(B * T, C, requires_grad=True), torch.ones(C, requires_grad=True), torch.zeros(C, requires_grad=True)],
    lambda x, w, b: F.layer_norm(x, (C,), w, b))
forward_backward(
    "gelu",
    lambda: [torch.randn(B, T, 4 * C, requires_grad=True)],
    lambda x: F.gelu(x, approximate="tanh"))
forward_backward(
    "softmax",
    lambda: [torch.randn(B * T, V, requires_grad=True)],
    lambda x: torch.softmax(x, dim=-1))
targets = torch.randint(0, V, (B * T,))
forward_backward(
    "crossentropy",
    lambda: [torch.randn(B * T, V, requires_grad=True)],
    lambda x: F.cross_entropy(x, targets))

parameters = [torch.nn.Parameter(torch.randn(124_439_808))]
parameters[0].grad = torch.randn(124_439_808)
for fused in (False, True):
    optimizer = torch.optim.AdamW(parameters, lr=1e-4, fused=fused)
    print(json.dumps({"bench": "adamw", "fused": fused, "step_ms": round(median_ms(optimizer.step), 2)}))
