#!/usr/bin/env python3
"""Reference GPT-2 token ids for Tests/TokenizersTests, made with tiktoken (run once; commit the output).

Run from the package root:  python3 scripts/reference/gpt2_token_checksums.py [DATA_DIR]
DATA_DIR defaults to ../shared/data (the shared-data collection). Needs: pip install tiktoken.

tiktoken's GPT-2 encoding is built from the local gpt2/gpt2.tiktoken rank file (no download):
tiktoken.Encoding(pat_str=<GPT-2 pattern>, mergeable_ranks=<file>, special_tokens={"<|endoftext|>": 50256}).
Every text is encoded with encode(text, allowed_special="all"), i.e. "<|endoftext|>" written in the
text becomes 50256, as HF's GPT2TokenizerFast does.

Printed, for each corpus: the number of ids and the SHA-256 of the ids written as little-endian
UInt32 (GPT2EncodingTests.swift asserts both):
  tiny_shakespeare  shakespeare/tiny_shakespeare.txt, the whole file as one string
  complete_works    shakespeare/complete_works.txt, the whole file as one string
  hh_harmless_test  hh-rlhf/harmless-base-test.jsonl.gz: for each line in file order, the ids of
                    "chosen" then the ids of "rejected" (each string encoded on its own), concatenated
  every_scalar      a synthetic text covering every Unicode scalar value (see every_scalar_text)

It also writes Tests/TokenizersTests/Fixtures/gpt2_random_cases.jsonl: seeded random texts (ASCII,
whitespace runs, contractions, emoji, CJK, combining marks, special tokens, random scalars from every
plane, and chunks long enough to take the heap-based merge path) with their tiktoken ids.
"""
import base64, gzip, hashlib, json, os, random, struct, sys

import tiktoken

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")


def load_encoding():
    ranks = {}
    with open(os.path.join(DATA, "gpt2", "gpt2.tiktoken"), "rb") as f:
        for line in f:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(name="gpt2_local", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256})


def checksum(ids):
    return len(ids), hashlib.sha256(struct.pack("<%dI" % len(ids), *ids)).hexdigest()


def every_scalar_text():
    """For every scalar c (0...0x10FFFF without surrogates), in order: c + "a" + c + "1 " + c + "!".

    Each scalar is seen after a letter/number/punctuation and before one, so its class in the
    pattern (\\p{L}, \\p{N}, \\s or other) decides how the text is split.
    """
    parts = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        parts.append(c + "a" + c + "1 " + c + "!")
    return "".join(parts)


def random_cases(count=160, seed=20240607):
    rng = random.Random(seed)
    pool = [
        "hello", "World", "THE", "naïve", "café", "Zürich", " the", " and", "a", "I",
        "0", "7", "42", "3.14", "1,000", "½", "²", "٣", "Ⅻ",
        " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u0085",
        "\u000b", "\u000c", "\u001c", "\u200b", "\u2028",
        "'s", "'S", "'t", "'re", "'ve", "'m", "'ll", "'d", "'LL", "''", "'", "’s", " '", "'x",
        ".", ",", "!?", "...", "—", "“", "”", "(", ")", "#", "@", "$", "%", "&amp;", "<b>", "</b>",
        "😀", "🎉", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🇺🇳", "1️⃣", "❤️", "🫠",
        "日本語", "中文", "한국어", "ไทย", "العربية", "עברית", "हिन्दी", "Ελληνικά", "Русский",
        "e\u0301", "\u0301", "\u0308\u0308", "a\u20dd", "ﬁ", "Å", "Å",
        "<|endoftext|>", "<|endoftext|>", "<|endoftext", "endoftext|>", "<|", "|>", "<||>",
    ]
    def random_scalar():
        plane = rng.choice([0, 0, 0, 1, 1, 2, 3, 14, 15, 16])
        while True:
            cp = plane * 0x10000 + rng.randrange(0x10000)
            if not 0xD800 <= cp <= 0xDFFF:
                return chr(cp)
    def long_run():
        kind = rng.randrange(5)
        n = rng.choice([70, 130, 300, 700])
        if kind == 0: return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
        if kind == 1: return "".join(rng.choice("0123456789") for _ in range(n))
        if kind == 2: return "".join(rng.choice("!#$%&*+-./:;<=>?@^_|~") for _ in range(n))
        if kind == 3: return "".join(rng.choice(" \t\n") for _ in range(n))
        return "".join(rng.choice("日本語中文字符한국어") for _ in range(n // 3))
    cases = []
    for i in range(count):
        pieces = []
        for _ in range(rng.randrange(1, 30)):
            r = rng.random()
            if r < 0.70: pieces.append(rng.choice(pool))
            elif r < 0.95: pieces.append(random_scalar())
            elif r < 0.97: pieces.append(long_run())
            else: pieces.append(rng.choice(pool) * rng.randrange(2, 6))
        cases.append("".join(pieces))
    return cases


def main():
    enc = load_encoding()
    def encode(text):
        return enc.encode(text, allowed_special="all")

    for name, rel in [("tiny_shakespeare", "shakespeare/tiny_shakespeare.txt"),
                      ("complete_works", "shakespeare/complete_works.txt")]:
        with open(os.path.join(DATA, rel), encoding="utf-8", newline="") as f:
            text = f.read()
        print(name, *checksum(encode(text)))

    ids = []
    with gzip.open(os.path.join(DATA, "hh-rlhf", "harmless-base-test.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                ids += encode(record["chosen"])
                ids += encode(record["rejected"])
    print("hh_harmless_test", *checksum(ids))

    text = every_scalar_text()
    print("every_scalar", *checksum(encode(text)), "utf8_bytes", len(text.encode("utf-8", "surrogatepass")))

    path = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures", "gpt2_random_cases.jsonl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for text in random_cases():
            ids = encode(text)
            assert enc.decode(ids) == text
            f.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=False) + "\n")
    print("wrote", os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
