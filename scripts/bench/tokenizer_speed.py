#!/usr/bin/env python3
"""Single-threaded GPT-2 encoding speed of tiktoken and Hugging Face `tokenizers` on a corpus, for
comparison with `rlhf bench --only tokenizer` (pip install tiktoken tokenizers).

    RAYON_NUM_THREADS=1 python3 scripts/bench/tokenizer_speed.py [CORPUS] [GPT2_DIR]
Defaults: ../shared/data/shakespeare/complete_works.txt and ../shared/data/gpt2.
"""
import base64
import json
import os
import sys
import time

import tiktoken
from tokenizers import Tokenizer, models, pre_tokenizers, decoders

corpus_path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/shakespeare/complete_works.txt"
gpt2 = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/gpt2"
text = open(corpus_path, encoding="utf-8").read()
size = len(text.encode("utf-8"))

ranks = {}
with open(os.path.join(gpt2, "gpt2.tiktoken"), "rb") as f:
    for line in f:
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
encoding = tiktoken.Encoding(
    name="gpt2-local",
    pat_str=r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})

hf = Tokenizer(models.BPE.from_file(os.path.join(gpt2, "vocab.json"), os.path.join(gpt2, "merges.txt")))
hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
hf.decoder = decoders.ByteLevel()

for name, encode in [("tiktoken", lambda: encoding.encode_ordinary(text)),
                     ("hf_tokenizers", lambda: hf.encode(text).ids)]:
    start = time.perf_counter()
    ids = encode()
    seconds = time.perf_counter() - start
    print(json.dumps({"bench": name, "bytes": size, "tokens": len(ids), "seconds": round(seconds, 3),
                      "megabytes_per_second": round(size / seconds / 1e6, 2)}), flush=True)
