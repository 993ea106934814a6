#!/usr/bin/env python3
"""T5 / SentencePiece Unigram parity fixtures for Tests/TokenizersTests (run once by hand; CI and the
Swift tests never run Python).

Run from the package root. Needs: pip install sentencepiece protobuf tokenizers transformers
(made with sentencepiece 0.2.x, protobuf 7.x, tokenizers 0.23, transformers 5.x; the versions used
are recorded in the output). Nothing is downloaded.

  python3 scripts/reference/t5_unigram_parity.py make [DATA_DIR]
      DATA_DIR defaults to ../shared/data (relative to the package root). Writes
        Tests/TokenizersTests/Fixtures/t5_unigram/tokenizer.json, tokenizer_config.json
        Tests/TokenizersTests/Fixtures/t5_unigram_byte_fallback/tokenizer.json, tokenizer_config.json
        Tests/TokenizersTests/Fixtures/t5_unigram/variants.json
        Tests/TokenizersTests/Fixtures/t5_unigram/cases.jsonl

  python3 scripts/reference/t5_unigram_parity.py check-saved DIR
      DIR is where UnigramTokenizer.save(to:) wrote one of the two tokenizers; the Swift test keeps
      them when asked:
        RLHF_UNIGRAM_SAVE_DIR=/tmp/saved swift test -c release --filter saveRoundTrip
      then check /tmp/saved/main and /tmp/saved/byte_fallback. Loads DIR/tokenizer.json with
      tokenizers.Tokenizer.from_file and DIR with transformers.AutoTokenizer, and compares their ids
      (with special tokens) and decodes with that tokenizer's rows of cases.jsonl.

The two tokenizers:

  t5_unigram: SentencePiece Unigram trained with T5's settings (model_type=unigram, pad_id=0,
      eos_id=1, unk_id=2, bos_id=-1, normalization_rule_name=nmt_nfkc, byte_fallback off) and a
      2000-piece vocabulary on shakespeare/complete_works.txt without its last three works, then
      converted by transformers' T5Converter (transformers.convert_slow_tokenizer): Unigram model
      plus 100 <extra_id_N> pieces, normalizer Sequence[Precompiled(nmt_nfkc charsmap),
      Strip(right), Replace(Regex " {2,}" -> "\u2581")], Metaspace pre-tokenizer and decoder
      (prepend_scheme "always"), TemplateProcessing "$A </s>" / "$A </s> $B </s>". It is saved by
      transformers.T5Tokenizer(tokenizer_object=...).save_pretrained, which adds <unk> and the
      extra ids as special added tokens, as the T5 checkpoints on the hub have them.
      (transformers 5 has no sentencepiece-backed T5Tokenizer any more, so T5Converter is given a
      small stand-in object holding vocab_file, _extra_ids and the </s> id: all it reads.)

  t5_unigram_byte_fallback: the same corpus, an 800-piece vocabulary, byte_fallback=True and
      normalization_rule_name=identity (so the edge cases reach the byte pieces), converted by
      transformers' generic SentencePiece converter SpmConverter.build_tokenizer_from_spm_proto (what
      transformers 5 uses for a SentencePiece model without a model-specific class; T5's converter
      drops byte_fallback): Unigram(byte_fallback=True), normalizer Replace(Regex "\\A +| +\\z" -> ""),
      Replace(Regex " {2,}" -> " "), Replace(" " -> "\u2581"), Replace(Regex "\\A\u2581" -> "\u2581\u2581"),
      Metaspace(split=false), decoder Sequence[Replace("\u2581" -> " "), ByteFallback, Fuse,
      Strip(" ", 1, 0)]. No post-processor.

variants.json holds pipelines tried on the main tokenizer's model: each replaces some of the top-level
"normalizer", "pre_tokenizer" and "decoder" members of t5_unigram/tokenizer.json (a charsmap written as
"=main" stands for the main file's precompiled_charsmap). They are the legacy layout of the T5
checkpoints on the hub (Precompiled only; WhitespaceSplit + Metaspace with "add_prefix_space": true),
the pipeline transformers 5's T5Tokenizer builds from spiece.model, and Metaspace with
prepend_scheme "first" and "never" and split false.

cases.jsonl has one JSON line per case:
  {"tokenizer": "main"|"byte_fallback", "variant": null|NAME, "kind": "text"|"pair"|"decode",
   "text", "pair" (pair cases), "ids" (encode(...).ids with special tokens, the input of the decodes
   for decode cases), "ids_plain" (add_special_tokens=False), "decoded" (decode(ids,
   skip_special_tokens=False)), "decoded_skip" (skip_special_tokens=True)}
all from tokenizers.Tokenizer.from_str on the saved tokenizer.json. Text cases are 150 held-out lines
and 10 passages of the last three works (8 lines for the variants), and hand-written edge cases (EDGE_CASES: accents composed and
decomposed, full-width forms, ligatures, CJK, emoji with ZWJ and skin tones, combining marks, runs of
spaces, tabs, newlines, leading/trailing spaces, the empty string, digits, punctuation, special tokens
written in text). Everything is deterministic (SentencePiece trains with one thread), so reruns give
the same files given the same library versions.
"""
import json, os, sys, types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures")
MAIN_DIR = os.path.join(FIXTURES, "t5_unigram")
FALLBACK_DIR = os.path.join(FIXTURES, "t5_unigram_byte_fallback")
HELD_OUT_WORKS = 3

EDGE_CASES = [
    "", " ", "   ", "\t", "\n", "\r\n", " \t\n ",
    "Hello world", " Hello world", "Hello world ", "  leading two spaces", "trailing two spaces  ",
    "runs   of    spaces     here", "tab\tseparated\tvalues", "new\nlines\n\nand blank lines\n",
    "mixed \t \n whitespace", "carriage\r\nreturn", "a b", "a  b", "a   b",
    "caf\u00e9", "cafe\u0301", "\u00e9 \u00e8 \u00ea \u00eb \u00c9", "na\u00efve r\u00e9sum\u00e9",
    "e\u0308\u0301 a\u0301\u0302\u0303 stacked", "\uff21\u0301", "\u00c5ngstr\u00f6m \u212bngstr\u00f6m",
    "\uff21\uff22\uff23\uff11\uff12\uff13", "\uff28\uff45\uff4c\uff4c\uff4f\uff0c\u3000\uff37\uff4f\uff52\uff4c\uff44\uff01",
    "\ufb01nd the \ufb02ower", "\ufb00 \ufb03 \ufb04 \ufb06", "\u2460 \u2461 \u2177 \u00bd \u00b2 \u338f \u2122 \u210c",
    "\u216b", "\u2154", "km\u00b2 and x\u2081",
    "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059", "\u4e2d\u6587\u5b57\u7b26 \u548c English",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "\u1100\u1161\u11a8 jamo", "\u30ab\u30bf\u30ab\u30ca \uff76\uff80\uff76\uff85 \u304c \u304b\u3099",
    "\U0001f600 \U0001f603 \U0001f604", "\U0001f44d\U0001f3fd \U0001f44d\U0001f3ff thumbs",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family", "\U0001f3f3\ufe0f\u200d\U0001f308 flag",
    "\U0001f1eb\U0001f1f7\U0001f1ef\U0001f1f5", "\u2764\ufe0f love", "1\ufe0f\u20e3 keycap",
    "Z\u0351\u036b\u0343a\u0310\u0334l\u0365g\u0352o", "zero\u200bwidth\u200cnon\u200djoin", "soft\u00adhyphen",
    "no\u00a0break\u00a0space", "em\u2003space thin\u2009space", "ideographic\u3000space", "\u2028line\u2029para",
    "0123456789", "3.14159 2,718 1e10 -42 +7", "Price: $1,234.56 (approx.)",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~", "\u00abguillemets\u00bb \u201equotes\u201c \u2018single\u2019 \u201cdouble\u201d",
    "dashes \u2013 \u2014 \u2010 and ellipsis \u2026", "\u2026", "\u00bfQu\u00e9? \u00a1S\u00ed!",
    "<unk> in text", "</s> in the middle </s>", "<pad><pad>", "</s>", "ends with </s>", "</s>starts",
    "mask <extra_id_0> and <extra_id_99>.", "<extra_id_100> is not special", "<0x41> looks like a byte",
    "\u2581 the meta symbol itself", "\u2581\u2581double", "a\u2581b",
    "ALL CAPS SHOUTING", "\u00dcn\u00efc\u00f6d\u00e9 \u00c0\u00c9\u00ce\u00d5\u00dc",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u043a\u0430\u0438 \u041a\u0438\u0440\u0438\u043b\u043b\u0438\u0446\u0430",
    "\u05e2\u05d1\u05e8\u05d9\u05ea \u0648\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "\u0939\u093f\u0928\u094d\u0926\u0940 \u092a\u093e\u0920 \u0915\u094d\u0937",
    "\u0e44\u0e17\u0e22", "\u0000nul and \u0007bell and \u001bescape", "\ufeffBOM at start", "\ufffd replacement",
    "x" * 300, "supercalifragilisticexpialidocious", "Wherefore art thou Romeo?",
    "To be, or not to be: that is the question.", "  To be,\n\tor not   to be:  ",
]

PAIRS = [
    ("Who's there?", "Nay, answer me: stand, and unfold yourself."),
    ("", "only the second"), ("only the first", ""), ("", ""),
    ("  spaced  ", "\ttabbed\n"), ("caf\u00e9 \uff21\uff22\uff23", "\ufb01 \U0001f44d\U0001f3fd"),
    ("question: what is <extra_id_0>?", "answer </s> here"),
]

VARIANTS = {
    "hub_legacy": {
        "normalizer": {"type": "Precompiled", "precompiled_charsmap": "=main"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "\u2581", "str_rep": "\u2581", "add_prefix_space": True}]},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "str_rep": "\u2581", "add_prefix_space": True},
    },
    "prepend_first": {
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
    },
    "prepend_never": {
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": True},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": True},
    },
    "no_split": {
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False},
    },
    "whitespace_split_first": {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}]},
    },
}


def data_dir(argv, index):
    return argv[index] if len(argv) > index else os.path.join(ROOT, "..", "shared", "data")


def corpus_parts(data):
    """(training text, held-out works' text): the last HELD_OUT_WORKS works are held out."""
    with open(os.path.join(data, "shakespeare", "complete_works.txt"), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(data, "shakespeare", "complete_works_index.jsonl"), encoding="utf-8") as f:
        works = [json.loads(line) for line in f if line.strip()]
    split = works[-HELD_OUT_WORKS]["start"]
    return text[:split], text[split:]


def held_out_cases(held_out):
    lines = [line for line in held_out.split("\n") if line.strip()]
    step = len(lines) // 150
    cases = lines[::step][:150]
    paragraphs = [p for p in held_out.split("\n\n") if p.count("\n") >= 2]
    cases += paragraphs[::len(paragraphs) // 10][:10]
    return cases


def train(training_text, prefix, **options):
    import sentencepiece as spm
    path = prefix + ".txt"
    with open(path, "w", encoding="utf-8") as f:
        f.write(training_text)
    spm.SentencePieceTrainer.train(input=path, model_prefix=prefix, model_type="unigram", pad_id=0, eos_id=1,
                                   unk_id=2, bos_id=-1, num_threads=1, minloglevel=2, **options)
    return prefix + ".model"


def compact(path):
    """Rewrites a saved tokenizer.json without indentation (Tokenizer.save(pretty=False)), a third of
    the size; the members and their order stay as transformers saved them."""
    from tokenizers import Tokenizer
    Tokenizer.from_file(path).save(path, pretty=False)


def make(data):
    import tempfile
    import sentencepiece, tokenizers, transformers, google.protobuf
    from tokenizers import Tokenizer
    from transformers import T5Tokenizer, TokenizersBackend
    from transformers.convert_slow_tokenizer import SpmConverter, T5Converter, import_protobuf

    training_text, held_out = corpus_parts(data)
    scratch = tempfile.mkdtemp()

    # 1. T5's settings, converted by T5Converter and saved by transformers.
    main_model = train(training_text, os.path.join(scratch, "main"), vocab_size=2000,
                       normalization_rule_name="nmt_nfkc", byte_fallback=False)
    stand_in = types.SimpleNamespace(vocab_file=main_model, _extra_ids=100, legacy=True,
                                     convert_tokens_to_ids=lambda token: {"</s>": 1}[token])
    converted = T5Converter(stand_in).converted()
    T5Tokenizer(tokenizer_object=converted, extra_ids=100).save_pretrained(MAIN_DIR)
    compact(os.path.join(MAIN_DIR, "tokenizer.json"))

    # 2. byte_fallback=True through the generic SentencePiece converter.
    fallback_model = train(training_text, os.path.join(scratch, "fallback"), vocab_size=800,
                           normalization_rule_name="identity", byte_fallback=True)
    proto = import_protobuf().ModelProto()
    with open(fallback_model, "rb") as f:
        proto.ParseFromString(f.read())
    vocab = [(piece.piece, piece.score) for piece in proto.pieces]
    fallback = SpmConverter.build_tokenizer_from_spm_proto(proto=proto, vocab=vocab, legacy=True)
    TokenizersBackend(tokenizer_object=fallback, unk_token="<unk>", eos_token="</s>", pad_token="<pad>") \
        .save_pretrained(FALLBACK_DIR)
    compact(os.path.join(FALLBACK_DIR, "tokenizer.json"))

    with open(os.path.join(MAIN_DIR, "tokenizer.json"), encoding="utf-8") as f:
        main_text = f.read()
    with open(os.path.join(FALLBACK_DIR, "tokenizer.json"), encoding="utf-8") as f:
        fallback_text = f.read()
    main_json = json.loads(main_text)
    charsmap = main_json["normalizer"]["normalizers"][0]["precompiled_charsmap"]

    # The pipeline transformers 5's T5Tokenizer builds from spiece.model, checked against the variant.
    os.makedirs(os.path.join(scratch, "spiece"))
    os.replace(main_model, os.path.join(scratch, "spiece", "spiece.model"))
    from_spiece = json.loads(T5Tokenizer.from_pretrained(os.path.join(scratch, "spiece")).backend_tokenizer.to_str())
    VARIANTS["transformers5_spiece"] = {key: from_spiece[key] for key in ("normalizer", "pre_tokenizer", "decoder")}
    VARIANTS["transformers5_spiece"]["normalizer"]["precompiled_charsmap"] = "=main"

    def variant_tokenizer(name):
        document = json.loads(main_text)
        for key, value in VARIANTS[name].items():
            document[key] = json.loads(json.dumps(value).replace('"=main"', json.dumps(charsmap)))
        return Tokenizer.from_str(json.dumps(document))

    texts = held_out_cases(held_out) + EDGE_CASES
    tokenizers_by_name = [("main", None, Tokenizer.from_str(main_text)), ("byte_fallback", None, Tokenizer.from_str(fallback_text))]
    tokenizers_by_name += [("main", name, variant_tokenizer(name)) for name in VARIANTS]
    variant_texts = held_out_cases(held_out)[:8] + EDGE_CASES

    rows = []
    def record(tk, tokenizer, variant, kind, ids, **fields):
        rows.append({"tokenizer": tokenizer, "variant": variant, "kind": kind, **fields, "ids": ids,
                     "decoded": tk.decode(ids, skip_special_tokens=False),
                     "decoded_skip": tk.decode(ids, skip_special_tokens=True)})

    for name, variant, tk in tokenizers_by_name:
        for text in (texts if variant is None else variant_texts):
            record(tk, name, variant, "text", tk.encode(text).ids, text=text,
                   ids_plain=tk.encode(text, add_special_tokens=False).ids)
        if variant is None:
            for first, second in PAIRS:
                record(tk, name, variant, "pair", tk.encode(first, second).ids, text=first, pair=second,
                       ids_plain=tk.encode(first, second, add_special_tokens=False).ids)
    # Decodes of id lists that encode does not produce: specials in odd places, stray byte pieces, ids
    # past the vocabulary (skipped), a lone "▁".
    for name, tk in [("main", tokenizers_by_name[0][2]), ("byte_fallback", tokenizers_by_name[1][2])]:
        def id_of(token):
            return tk.token_to_id(token)
        size = tk.get_vocab_size()
        lists = [[1, 1, 0], [0, id_of("\u2581"), 1], [id_of("\u2581")], [id_of("\u2581"), id_of("\u2581")],
                 [2, 5, 2], [size, 7, size + 5, 8], [], [1]]
        if name == "byte_fallback":
            byte = lambda value: id_of("<0x%02X>" % value)
            lists += [[byte(0xE2), byte(0x82), byte(0xAC)], [byte(0xE2), byte(0x82)], [byte(0xFF), 10, byte(0x41)],
                      [10, byte(0xC3), byte(0xA9), byte(0xC3)], [byte(0x41), byte(0x42)], [byte(0xF0), byte(0x9F), byte(0x98), byte(0x80)]]
        for ids in lists:
            record(tk, name, None, "decode", ids)

    with open(os.path.join(MAIN_DIR, "variants.json"), "w", encoding="utf-8") as f:
        json.dump({"versions": {"sentencepiece": sentencepiece.__version__, "protobuf": google.protobuf.__version__,
                                "tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
                   "variants": VARIANTS}, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(os.path.join(MAIN_DIR, "cases.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    sizes = {path: os.path.getsize(os.path.join(FIXTURES, path)) for path in
             ["t5_unigram/tokenizer.json", "t5_unigram/cases.jsonl", "t5_unigram_byte_fallback/tokenizer.json"]}
    print("sentencepiece", sentencepiece.__version__, "tokenizers", tokenizers.__version__, "transformers",
          transformers.__version__, ";", len(rows), "cases;", sizes)


def check_saved(directory):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    with open(os.path.join(MAIN_DIR, "cases.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
        name = "byte_fallback" if json.load(f)["model"]["byte_fallback"] else "main"
    rows = [r for r in rows if r["tokenizer"] == name and r["variant"] is None and r["kind"] == "text"]
    fast = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(directory)
    bad_fast = [r["text"] for r in rows if fast.encode(r["text"]).ids != r["ids"]]
    bad_auto = [r["text"] for r in rows if auto(r["text"])["input_ids"] != r["ids"]]
    bad_decode = [r["text"] for r in rows if fast.decode(r["ids"], skip_special_tokens=True) != r["decoded_skip"]]
    print(name, type(auto).__name__, "eos", auto.eos_token, auto.eos_token_id, ";", len(rows), "cases;",
          len(bad_fast), "tokenizers id mismatches,", len(bad_auto), "AutoTokenizer id mismatches,",
          len(bad_decode), "decode mismatches")
    for text in (bad_fast + bad_auto)[:5]:
        print("  differs:", repr(text[:80]))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "make":
        make(data_dir(sys.argv, 2))
    elif command == "check-saved" and len(sys.argv) > 2:
        check_saved(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
