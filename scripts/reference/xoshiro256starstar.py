# Reference values for Tensors.RandomGenerator (xoshiro256** seeded by SplitMix64), in plain
# Python from the algorithms as published (prng.di.unimi.it). Run: python3 scripts/reference/xoshiro256starstar.py
# Tests/TensorsTests/RandomGeneratorTests.swift asserts the printed numbers.
M=(1<<64)-1
def splitmix(seed):
    s=seed; out=[]
    for _ in range(4):
        s=(s+0x9E3779B97F4A7C15)&M; z=s
        z=((z^(z>>30))*0xBF58476D1CE4E5B9)&M
        z=((z^(z>>27))*0x94D049BB133111EB)&M
        out.append(z^(z>>31))
    return out
def rotl(x,k): return ((x<<k)|(x>>(64-k)))&M
def xoshiro(s):
    while True:
        r=(rotl((s[1]*5)&M,7)*9)&M
        t=(s[1]<<17)&M
        s[2]^=s[0]; s[3]^=s[1]; s[1]^=s[2]; s[0]^=s[3]; s[2]^=t; s[3]=rotl(s[3],45)
        yield r
s=splitmix(42); print([hex(x) for x in s])
g=xoshiro(s); print([next(g) for _ in range(4)])
s=splitmix(0); g=xoshiro(s); print([next(g) for _ in range(3)])
