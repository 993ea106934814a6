#!/usr/bin/env python3
"""Cross-checks of the Swift Tokenizers module against Hugging Face `tokenizers` (run once by hand).

Run from the package root. Needs: pip install tokenizers tiktoken (transformers optional).

  python3 scripts/reference/hf_tokenizers_crosscheck.py fixtures [DATA_DIR]
      Trains tokenizers' BpeTrainer on the first 100,000 characters of tiny_shakespeare.txt the way
      BytePairTrainer trains (ByteLevel pre-tokenizer without prefix space, the 256-byte initial
      alphabet, <|endoftext|> as special token, 300 merges) and writes
        Tests/TokenizersTests/Fixtures/hf_trained_bpe/tokenizer.json   (as tokenizers saves it)
        Tests/TokenizersTests/Fixtures/hf_trained_bpe/cases.jsonl      (texts and the ids tokenizers gives)
      BytePairTrainerTests asserts that BytePairTrainer learns the same merges, and that the Swift
      reader gives the same ids.

  python3 scripts/reference/hf_tokenizers_crosscheck.py check-gpt2 SAVED_DIR [DATA_DIR]
      SAVED_DIR is where ByteLevelBPETokenizer.save(to:) wrote GPT-2. Loads SAVED_DIR/tokenizer.json
      with tokenizers.Tokenizer.from_file (and the directory with transformers.AutoTokenizer when
      transformers is installed) and compares ids with gpt2/encode_cases.jsonl and
      Tests/TokenizersTests/Fixtures/gpt2_random_cases.jsonl, and decode with the texts.

  python3 scripts/reference/hf_tokenizers_crosscheck.py check-char SAVED_DIR TEXT_FILE
      SAVED_DIR is where CharacterTokenizer.save(to:) wrote tokenizer.json; TEXT_FILE holds lines of
      text followed by a line of ids each (written by the Swift side). Compares ids and decode.
"""
import json, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures")


def data_dir(argv, index):
    return argv[index] if len(argv) > index else os.path.join(ROOT, "..", "shared", "data")


def make_fixtures(data):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    with open(os.path.join(data, "shakespeare", "tiny_shakespeare.txt"), encoding="utf-8") as f:
        corpus = f.read()[:100_000]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1 + 256 + 300, min_frequency=0, show_progress=False,
                                  special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator([corpus], trainer)
    out = os.path.join(FIXTURES, "hf_trained_bpe")
    os.makedirs(out, exist_ok=True)
    tokenizer.save(os.path.join(out, "tokenizer.json"))
    texts = [corpus[:2000], "First Citizen:\nBefore we proceed any further, hear me speak.",
             "Unseen wörds, 数字 123 and emoji 🎉<|endoftext|>next document", "  \n\n  trailing   "]
    with open(os.path.join(out, "cases.jsonl"), "w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text, "ids": tokenizer.encode(text).ids}, ensure_ascii=False) + "\n")
    merges = json.load(open(os.path.join(out, "tokenizer.json")))["model"]["merges"]
    print("tokenizers", __import__("tokenizers").__version__, "learned", len(merges), "merges; vocab",
          tokenizer.get_vocab_size(), "; first merges", merges[:5])


def load_cases(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check_gpt2(saved, data):
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(os.path.join(saved, "tokenizer.json"))
    cases = load_cases(os.path.join(data, "gpt2", "encode_cases.jsonl"))
    cases += load_cases(os.path.join(FIXTURES, "gpt2_random_cases.jsonl"))
    bad_ids = [c["text"] for c in cases if tokenizer.encode(c["text"]).ids != c["ids"]]
    bad_decode = [c["text"] for c in cases if tokenizer.decode(c["ids"], skip_special_tokens=False) != c["text"]]
    print("tokenizers", __import__("tokenizers").__version__, "Tokenizer.from_file:", len(cases), "cases,",
          len(bad_ids), "id mismatches,", len(bad_decode), "decode mismatches")
    for text in bad_ids[:5]: print("  ids differ:", repr(text[:80]))
    for text in bad_decode[:5]: print("  decode differs:", repr(text[:80]))
    try:
        import transformers
        from transformers import AutoTokenizer
    except ImportError:
        print("transformers not installed: AutoTokenizer not checked")
        return
    auto = AutoTokenizer.from_pretrained(saved)
    bad = [c["text"] for c in cases if auto(c["text"])["input_ids"] != c["ids"]]
    bad_decode = [c["text"] for c in cases if auto.decode(c["ids"]) != c["text"]]
    print("transformers", transformers.__version__, "AutoTokenizer:", type(auto).__name__, "eos", auto.eos_token,
          auto.eos_token_id, ";", len(cases), "cases,", len(bad), "id mismatches,", len(bad_decode), "decode mismatches")


def check_char(saved, text_file):
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(os.path.join(saved, "tokenizer.json"))
    with open(text_file, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    bad = [r["text"] for r in records if tokenizer.encode(r["text"]).ids != r["ids"]]
    bad_decode = [r["text"] for r in records if tokenizer.decode(r["ids"]) != r["text"]]
    print("tokenizers", __import__("tokenizers").__version__, "character tokenizer.json:", len(records), "texts,",
          len(bad), "id mismatches,", len(bad_decode), "decode mismatches; vocab", tokenizer.get_vocab_size())
    for text in bad[:5]: print("  ids differ:", repr(text[:80]))
    try:
        tokenizer.encode("\u2603")
        print("unknown character: no error (unexpected)")
    except Exception as error:
        print("unknown character:", error)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "fixtures":
        make_fixtures(data_dir(sys.argv, 2))
    elif command == "check-gpt2":
        check_gpt2(sys.argv[2], data_dir(sys.argv, 3))
    elif command == "check-char":
        check_char(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
