#!/usr/bin/env python3
"""Encoder (BERT / RoBERTa) parity fixtures for Tests/TokenizersTests and Tests/ModelsTests
(run by hand once; CI never runs Python).

Run from the package root. Needs: torch, transformers, tokenizers, and
pip install sentence-transformers. Nothing is downloaded: every model is loaded from a local folder.

  python3 scripts/reference/encoder_parity.py make [DATA_DIR]
      Runs the four steps below. DATA_DIR defaults to ../shared/data (relative to the package root).

  python3 scripts/reference/encoder_parity.py wordpiece|minilm|roberta|bert [DATA_DIR]
      Runs one step.

Steps and what they write:

  wordpiece -> Tests/TokenizersTests/Fixtures/wordpiece_cases.jsonl
      One JSON line per case: {"text", "ids", "ids_no_special"}. The tokenizer is
      tokenizers.Tokenizer.from_file(DATA_DIR/minilm/tokenizer.json). That file sets truncation
      (max_length 128) and fixed padding (128); both are switched off with no_truncation() and
      no_padding() before encoding, so "ids" is the full, unpadded encode(text).ids (with [CLS] and
      [SEP] from the post-processor) and "ids_no_special" is encode(text, add_special_tokens=False).ids.
      Cases: the first 300 texts of goemotions/test.tsv, every 500th non-empty line of
      tiny_shakespeare.txt (60 lines), the "chosen" dialogue of the first 40 lines of
      hh-rlhf/harmless-base-test.jsonl.gz, and hand-written edge cases (EDGE_CASES below).

  minilm -> Tests/ModelsTests/Fixtures/minilm_reference.json
      Five sentences through SentenceTransformer(DATA_DIR/minilm, device="cpu").encode (default
      arguments, normalize_embeddings=False) and through transformers BertModel loaded from the same
      folder (eager attention, float32, eval): batched input ids and mask, the sentence embeddings,
      raw mean-pooled embeddings, sentence 0's last_hidden_state and pooler_output, four cosines.

  roberta -> Tests/ModelsTests/Fixtures/roberta-tiny-classifier/
      A byte-level BPE tokenizer trained with tokenizers on the first 200,000 characters of
      tiny_shakespeare.txt and a tiny random RobertaForSequenceClassification (model.safetensors,
      config.json, tokenizer files) plus expected.json (batch inputs, position ids, logits).

  check-swift DIR PREDICTIONS -> Tests/ModelsTests/Fixtures/encoder_swift_checkpoint_check.json
      DIR is a classifier checkpoint written by Swift (`rlhf classifier train`); PREDICTIONS is the
      output of `rlhf classifier predict --model DIR --top 0 TEXT...` (JSON Lines). Loads DIR with
      AutoTokenizer / AutoModelForSequenceClassification and records the largest difference between
      its probabilities (sigmoid or softmax by problem_type) and Swift's, keyed by architecture.

  bert -> Tests/ModelsTests/Fixtures/bert-tiny-classifier/
      A tiny WordPiece vocab.txt built from the first 100,000 characters of tiny_shakespeare.txt and
      a tiny random multi-label BertForSequenceClassification plus expected.json (batch inputs,
      logits, sigmoid probabilities, one sentence-pair case).

Both tiny models start from the default init (torch.manual_seed(0)); then every bias and LayerNorm
parameter gets N(0, 0.1) noise and every weight matrix is multiplied by 10, so the logits really depend
on the input (see perturb). The script asserts that the saved tokenizer folders give the same ids through
AutoTokenizer and tokenizers.Tokenizer.from_file, that the reloaded models give the same logits, and that
each text run alone gives its row of the padded batch.
transformers 5 no longer writes vocab.txt / vocab.json / merges.txt / special_tokens_map.json from
save_pretrained, so the script writes them itself.

Floats in JSON are rounded to 7 significant digits. Everything is seeded, so reruns give the same files
(given the same library versions, which are recorded in each expected/reference file).
"""
import collections
import gzip
import json
import os
import string
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER_FIXTURES = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures")
MODEL_FIXTURES = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")

EDGE_CASES = [
    "", " ", "Café", "naïve résumé", "Ångström", "ÉCOLE NORMALE SUPÉRIEURE", "HELLO World MiXeD CaSe",
    "漢字かな交じり文", "你好世界", "한국어 텍스트", "Привет, мир!", "Καλημέρα κόσμε", "مرحبا بالعالم",
    "emoji 😀 👨‍👩‍👧‍👦 family 🇯🇵 flag 👍🏽 skin", "nul\x00bell\x07end", "zero\u200bwidth",
    "\ufeffbom at start", "soft\u00adhyphen", "replacement \ufffd char", "tab\there\nnewline\r\nCRLF",
    "nbsp\u00a0and\u2003em space", "e\u0301", "\u0301", "!!!???", "...", "--", "Wait... what?!",
    "“quotes” «guillemets» ¿Qué? ¡Hola! 、。", "$5 ^caret `tick` ~tilde | pipe + plus = eq <lt> >gt",
    "3.14159 and 1,000,000 and 42", "https://example.com/path?query=1&x=y#frag",
    "contact me: john.doe+tag@example.org", "a" * 120, "Supercalifragilistic" * 5 + "x",
    "𐍈𐌰𐌹 Gothic", "ᚠᚢᚦ runes", "[NAME] is here", "[CLS] hi [SEP]", "[cls] lower [sep] [PAD] [MASK]",
    "don't can't won't it's", "  leading and trailing   ",
]


def data_dir(argv, index):
    return argv[index] if len(argv) > index else os.path.join(ROOT, "..", "shared", "data")


def r7(value):
    """Rounds floats (or nested lists of floats) to 7 significant digits."""
    if isinstance(value, list):
        return [r7(v) for v in value]
    return float(f"{value:.7g}")


def goemotions_texts(data, split="test"):
    with open(os.path.join(data, "goemotions", f"{split}.tsv"), encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t")[0] for line in f]


def versions():
    import tokenizers, torch, transformers
    out = {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}
    try:
        import sentence_transformers
        out["sentence_transformers"] = sentence_transformers.__version__
    except ImportError:
        pass
    return out


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


# ---------------------------------------------------------------------------------------------
# 1. WordPiece cases


def make_wordpiece(data):
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(os.path.join(data, "minilm", "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    texts = goemotions_texts(data)[:300]
    with open(os.path.join(data, "shakespeare", "tiny_shakespeare.txt"), encoding="utf-8") as f:
        lines = [line for line in f.read().split("\n") if line.strip()]
    texts += lines[::500][:60]
    with gzip.open(os.path.join(data, "hh-rlhf", "harmless-base-test.jsonl.gz"), "rt", encoding="utf-8") as f:
        texts += [json.loads(next(f))["chosen"] for _ in range(40)]
    texts += EDGE_CASES
    path = os.path.join(TOKENIZER_FIXTURES, "wordpiece_cases.jsonl")
    unk = tokenizer.token_to_id("[UNK]")
    with_unk, total_ids = [], 0
    with open(path, "w", encoding="utf-8") as f:
        for text in texts:
            ids = tokenizer.encode(text).ids
            plain = tokenizer.encode(text, add_special_tokens=False).ids
            total_ids += len(ids)
            if unk in ids:
                with_unk.append(text)
            f.write(json.dumps({"text": text, "ids": ids, "ids_no_special": plain},
                               ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wordpiece: wrote {len(texts)} cases ({total_ids} ids, {os.path.getsize(path)} bytes) to {path}")
    print(f"  [UNK] (id {unk}) occurs in {len(with_unk)} cases:")
    for text in with_unk:
        print("   ", repr(text[:70]), "->", tokenizer.encode(text, add_special_tokens=False).tokens[:12])
    for text in ["[NAME] is here", "[CLS] hi [SEP]", "[cls] lower [sep] [PAD] [MASK]", "e\u0301", "\u0301",
                 "a" * 120, "Supercalifragilistic" * 5 + "x", "nul\x00bell\x07end", "", " "]:
        encoding = tokenizer.encode(text)
        print("   ", repr(text[:40]), "->", encoding.tokens, encoding.ids)


# ---------------------------------------------------------------------------------------------
# 2. all-MiniLM-L6-v2 reference


def minilm_sentences(data):
    texts = goemotions_texts(data)
    # No test text has both [NAME] and an accented letter; take the first with [NAME] and a curly apostrophe.
    fifth = next(t for t in texts if "[NAME]" in t and "\u2019" in t and len(t) < 120)
    return ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome.",
            "The new movie is so great.", fifth]


def make_minilm(data):
    import torch
    from safetensors import safe_open
    from sentence_transformers import SentenceTransformer
    from transformers import BertModel
    torch.manual_seed(0)
    folder = os.path.join(data, "minilm")
    sentences = minilm_sentences(data)
    st = SentenceTransformer(folder, device="cpu")
    st.eval()
    modules = [type(m).__name__ for m in st]
    embeddings = st.encode(sentences, normalize_embeddings=False, convert_to_tensor=True).float().cpu()
    norms = embeddings.norm(dim=-1)
    normalized = bool(torch.allclose(norms, torch.ones_like(norms), atol=1e-5))
    features = st.tokenize(sentences)
    ids, mask = features["input_ids"], features["attention_mask"]
    from tokenizers import Tokenizer
    wordpiece = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    wordpiece.no_padding()
    wordpiece.no_truncation()
    for sentence, row, k in zip(sentences, ids.tolist(), mask):
        assert row[: int(k.sum())] == wordpiece.encode(sentence).ids, sentence

    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
        names = list(f.keys())
    has_pooler = any(n.startswith("pooler.") for n in names)
    model = BertModel.from_pretrained(folder, attn_implementation="eager", torch_dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask,
                    token_type_ids=features.get("token_type_ids", torch.zeros_like(ids)))
    hidden = out.last_hidden_state
    m = mask.unsqueeze(-1).to(hidden.dtype)
    mean_pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    check = torch.nn.functional.normalize(mean_pooled, dim=-1) if normalized else mean_pooled
    difference = (check - embeddings).abs().max().item()
    pairs = [(0, 1), (2, 3), (0, 2), (1, 3)]
    e64 = embeddings.double()
    cosine = [torch.nn.functional.cosine_similarity(e64[i], e64[j], dim=0).item() for i, j in pairs]
    n0 = int(mask[0].sum())
    reference = {
        "model_dir": "../shared/data/minilm (sentence-transformers all-MiniLM-L6-v2)",
        "sentences": sentences,
        "sentence_transformer_modules": modules,
        "max_seq_length": st.max_seq_length,
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "token_type_ids": features["token_type_ids"].tolist() if "token_type_ids" in features else None,
        "tokens": [st.tokenizer.convert_ids_to_tokens(row[: int(k.sum())]) for row, k in zip(ids.tolist(), mask)],
        "normalized": normalized,
        "embedding_norms": r7(norms.tolist()),
        "embeddings": r7(embeddings.tolist()),
        "mean_pooled": r7(mean_pooled.tolist()),
        "max_abs_difference_mean_pooled_vs_embeddings": r7(difference),
        "last_hidden_state_0": r7(hidden[0, :n0].tolist()),
        "pooler_output_0": r7(out.pooler_output[0].tolist()) if has_pooler else None,
        "checkpoint_has_pooler": has_pooler,
        "cosine_pairs": [list(p) for p in pairs],
        "cosine": r7(cosine),
        "versions": versions(),
    }
    path = os.path.join(MODEL_FIXTURES, "minilm_reference.json")
    write_json(path, reference)
    print(f"minilm: wrote {path} ({os.path.getsize(path)} bytes)")
    print("  modules", modules, "normalized", normalized, "norms", [round(x, 4) for x in norms.tolist()])
    print("  mean_pooled vs embeddings max |diff|", difference, "pooler weights:", has_pooler)
    print("  cosine", dict(zip(map(str, pairs), [round(c, 6) for c in cosine])))
    print("  tensor names (", len(names), "):", names[:5], "...")
    print("  sentence 4:", repr(sentences[4]), reference["tokens"][4])


# ---------------------------------------------------------------------------------------------
# 3 and 4. Tiny random classifiers


def perturb(model, scale=0.1, weight_gain=10.0):
    """Adds noise to LayerNorm weights/biases and all biases so they are not 1 / 0, and multiplies every
    weight matrix (std 0.02 at init) by weight_gain: with the default init the logits of a model this small
    hardly depend on the input (they differ in the 4th decimal), which would make a weak parity test.
    Rows that init sets to zero (the padding embedding) stay zero."""
    import torch
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name:
                parameter.add_(scale * torch.randn_like(parameter))
            elif parameter.dim() == 2:
                parameter.mul_(weight_gain)


def tensor_names(folder):
    from safetensors import safe_open
    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
        return {name: list(f.get_slice(name).get_shape()) for name in f.keys()}


def make_roberta(data):
    import torch
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizerFast
    torch.manual_seed(0)
    out = os.path.join(MODEL_FIXTURES, "roberta-tiny-classifier")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(data, "shakespeare", "tiny_shakespeare.txt"), encoding="utf-8") as f:
        corpus = f.read()[:200_000]
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator([corpus], vocab_size=400, min_frequency=2, special_tokens=specials, show_progress=False)
    assert [bpe.token_to_id(t) for t in specials] == [0, 1, 2, 3, 4]
    bpe.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False)
    bpe.save_model(out)                                   # vocab.json, merges.txt
    tokenizer = RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>",
                                     sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>",
                                     mask_token="<mask>", add_prefix_space=False, model_max_length=64)
    tokenizer.save_pretrained(out)                        # tokenizer.json, tokenizer_config.json
    write_special_tokens_map(out, tokenizer)
    vocab_size = len(tokenizer)

    config = RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, max_position_embeddings=66, type_vocab_size=1,
                           pad_token_id=1, bos_token_id=0, eos_token_id=2, num_labels=3, layer_norm_eps=1e-5,
                           hidden_act="gelu", id2label={0: "sad", 1: "neutral", 2: "happy"},
                           label2id={"sad": 0, "neutral": 1, "happy": 2})
    config._attn_implementation = "eager"
    model = RobertaForSequenceClassification(config)
    perturb(model)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)

    texts = ["Hi!", "First Citizen: Before we proceed any further, hear me speak.",
             "O Romeo, Romeo! wherefore art thou Romeo? Deny thy father and refuse thy name.",
             "The café is closed, my lord."]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    assert batch["input_ids"].shape[1] <= 64
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    reloaded = RobertaForSequenceClassification.from_pretrained(out, attn_implementation="eager").eval()
    with torch.no_grad():
        assert torch.equal(reloaded(**batch).logits, logits)
    check_tokenizer_files(out, tokenizer, texts)
    single = check_padding_invariance(model, tokenizer, texts, logits)
    mask = batch["attention_mask"]
    position_ids = (torch.cumsum(mask, dim=1) * mask) + config.pad_token_id   # padding_idx + 1 offset
    from transformers.models.roberta.modeling_roberta import RobertaEmbeddings
    hf_positions = RobertaEmbeddings.create_position_ids_from_input_ids(batch["input_ids"], config.pad_token_id)
    assert torch.equal(hf_positions, position_ids)
    expected = {
        "texts": texts,
        "tokens": [tokenizer.convert_ids_to_tokens(row) for row in batch["input_ids"].tolist()],
        "input_ids": batch["input_ids"].tolist(),
        "attention_mask": mask.tolist(),
        "position_ids": position_ids.tolist(),
        "position_ids_note": "what RoBERTa computes from input_ids: cumsum(mask) * mask + padding_idx (1); pads get 1",
        "logits": r7(logits.tolist()),
        "versions": versions(),
    }
    write_json(os.path.join(out, "expected.json"), expected)
    print(f"roberta: wrote {out}; vocab {vocab_size}; batch shape {list(batch['input_ids'].shape)}; "
          f"max |batched - one-by-one logits| {single:.2e}")
    for text, tokens in zip(texts, expected["tokens"]):
        print("  ", repr(text), tokens)
    print("  logits", [[round(x, 5) for x in row] for row in logits.tolist()])
    print("  tensors", tensor_names(out))


def check_tokenizer_files(out, tokenizer, texts):
    """The saved folder must give the same ids through AutoTokenizer and through tokenizers' own reader."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    reloaded = AutoTokenizer.from_pretrained(out)
    raw = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    raw.no_padding()
    raw.no_truncation()
    for text in texts:
        pair = text if isinstance(text, tuple) else (text,)
        ids = tokenizer(*pair)["input_ids"]
        assert reloaded(*pair)["input_ids"] == ids, text
        assert raw.encode(*pair).ids == ids, text


def check_padding_invariance(model, tokenizer, texts, logits):
    """Each text run alone must give its row of the padded batch (checks mask and position ids)."""
    import torch
    worst = 0.0
    with torch.no_grad():
        for i, text in enumerate(texts):
            alone = model(**tokenizer(text, return_tensors="pt")).logits[0]
            worst = max(worst, (alone - logits[i]).abs().max().item())
    assert worst < 1e-5, worst
    return worst


def write_special_tokens_map(out, tokenizer):
    names = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]
    value = {n: str(getattr(tokenizer, n)) for n in names if getattr(tokenizer, n, None) is not None}
    with open(os.path.join(out, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def bert_vocab(data):
    from tokenizers import normalizers, pre_tokenizers
    with open(os.path.join(data, "shakespeare", "tiny_shakespeare.txt"), encoding="utf-8") as f:
        corpus = f.read()[:100_000]
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                            lowercase=True)
    words = [w for w, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(normalizer.normalize_str(corpus))]
    counts = collections.Counter(w for w in words if len(w) > 1)     # single characters are added below
    # most_common breaks ties by first occurrence, so this is deterministic
    top = [w for w, _ in counts.most_common(300)]
    singles = list(string.ascii_lowercase) + list(string.digits) + list(string.punctuation)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + top + singles + ["##" + c for c in string.ascii_lowercase]
    assert len(vocab) == len(set(vocab))
    return vocab


def make_bert(data):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
    torch.manual_seed(0)
    out = os.path.join(MODEL_FIXTURES, "bert-tiny-classifier")
    os.makedirs(out, exist_ok=True)
    vocab = bert_vocab(data)
    vocab_file = os.path.join(out, "vocab.txt")
    with open(vocab_file, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    # transformers 5 silently ignores vocab_file= (it builds a 5-token vocab), so pass the vocab itself.
    tokenizer = BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True, model_max_length=64)
    tokenizer.save_pretrained(out)              # tokenizer.json, tokenizer_config.json (vocab.txt written above)
    write_special_tokens_map(out, tokenizer)
    assert [tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id,
            tokenizer.mask_token_id] == [0, 1, 2, 3, 4]
    assert len(tokenizer) == len(vocab)

    labels = {0: "joy", 1: "anger", 2: "fear", 3: "neutral"}
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu",
                        layer_norm_eps=1e-12, num_labels=4, problem_type="multi_label_classification",
                        id2label=labels, label2id={v: k for k, v in labels.items()}, pad_token_id=0)
    config._attn_implementation = "eager"
    model = BertForSequenceClassification(config)
    perturb(model)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)

    texts = ["the people are noble", "The CITIZENS shall Speak to you, my Lord!",
             "Café naïve Rome", "o, the citizen is thankful, sir"]     # thankful -> thank ##f ##u ##l
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    probabilities = torch.sigmoid(logits)
    pair = ("What say you, my lord?", "I will not speak.")
    pair_batch = tokenizer(pair[0], pair[1], return_tensors="pt")
    with torch.no_grad():
        pair_logits = model(**pair_batch).logits
    reloaded = BertForSequenceClassification.from_pretrained(out, attn_implementation="eager").eval()
    with torch.no_grad():
        assert torch.equal(reloaded(**batch).logits, logits)
    check_tokenizer_files(out, tokenizer, texts + [pair])
    single = check_padding_invariance(model, tokenizer, texts, logits)
    expected = {
        "texts": texts,
        "tokens": [tokenizer.convert_ids_to_tokens(row) for row in batch["input_ids"].tolist()],
        "input_ids": batch["input_ids"].tolist(),
        "token_type_ids": batch["token_type_ids"].tolist(),
        "attention_mask": batch["attention_mask"].tolist(),
        "logits": r7(logits.tolist()),
        "probabilities": r7(probabilities.tolist()),
        "pair": {
            "text": pair[0], "text_pair": pair[1],
            "tokens": tokenizer.convert_ids_to_tokens(pair_batch["input_ids"][0].tolist()),
            "input_ids": pair_batch["input_ids"][0].tolist(),
            "token_type_ids": pair_batch["token_type_ids"][0].tolist(),
            "attention_mask": pair_batch["attention_mask"][0].tolist(),
            "logits": r7(pair_logits[0].tolist()),
            "probabilities": r7(torch.sigmoid(pair_logits[0]).tolist()),
        },
        "versions": versions(),
    }
    write_json(os.path.join(out, "expected.json"), expected)
    print(f"bert: wrote {out}; vocab {len(vocab)}; batch shape {list(batch['input_ids'].shape)}; "
          f"max |batched - one-by-one logits| {single:.2e}")
    for text, tokens in zip(texts, expected["tokens"]):
        print("  ", repr(text), tokens)
    print("   pair", expected["pair"]["tokens"], expected["pair"]["token_type_ids"])
    print("  logits", [[round(x, 5) for x in row] for row in logits.tolist()])
    print("  tensors", tensor_names(out))


def check_swift(directory, predictions):
    """Loads a Swift-written classifier with transformers and compares probabilities with Swift's."""
    import torch
    import transformers
    rows = [json.loads(line) for line in open(predictions, encoding="utf-8") if line.strip()]
    texts = [row["text"] for row in rows]
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(directory).eval()
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    multi = model.config.problem_type == "multi_label_classification"
    probabilities = torch.sigmoid(logits) if multi else torch.softmax(logits, dim=-1)
    worst = 0.0
    for index, row in enumerate(rows):
        for entry in row["labels"]:
            worst = max(worst, abs(probabilities[index, model.config.label2id[entry["label"]]].item() - entry["probability"]))
    result = {"checkpoint": os.path.basename(os.path.normpath(directory)), "architecture": type(model).__name__,
              "tokenizer": type(tokenizer).__name__, "problem_type": model.config.problem_type, "texts": texts,
              "labels_compared": sum(len(row["labels"]) for row in rows),
              "max_abs_probability_difference": worst, "versions": versions()}
    path = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "encoder_swift_checkpoint_check.json")
    recorded = json.load(open(path, encoding="utf-8")) if os.path.exists(path) else {}
    if "architecture" in recorded:  # the first version held one result
        recorded = {recorded["architecture"]: recorded}
    recorded[result["architecture"]] = result
    write_json(path, recorded)
    print(f"check-swift: {type(model).__name__}, max |p_swift - p_transformers| = {worst:.2e}")


STEPS = {"wordpiece": make_wordpiece, "minilm": make_minilm, "roberta": make_roberta, "bert": make_bert}

if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "make":
        for step in STEPS.values():
            step(data_dir(sys.argv, 2))
    elif command == "check-swift" and len(sys.argv) == 4:
        check_swift(sys.argv[2], sys.argv[3])
    elif command in STEPS:
        STEPS[command](data_dir(sys.argv, 2))
    else:
        sys.exit(__doc__)
