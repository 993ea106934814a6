"""Score texts with a swift-rlhf reward-model checkpoint through Hugging Face transformers.

Loads DIR as `GPT2ForSequenceClassification` (num_labels 1, or K with label rewards) and its
tokenizer.json, applies reward_model.json (keep the last max_length tokens; gain * raw + bias; for
K labels the raw reward is sum(softmax(logits) * label_rewards)), batches with right padding
(pad_token_id from config.json, so transformers reads each row at its last non-pad token), and
prints {"texts": [...], "scores": [...]} as JSON.

    python3 scripts/reference/reward_model_check.py DIR texts.json > scores.json

Run once to make Tests/ModelsTests/Fixtures/reward-tiny/transformers_scores.json.
"""
import json
import sys

import torch
from tokenizers import Tokenizer
from transformers import GPT2ForSequenceClassification


def main():
    directory, texts_file = sys.argv[1], sys.argv[2]
    texts = json.load(open(texts_file))
    model = GPT2ForSequenceClassification.from_pretrained(directory).eval()
    tokenizer = Tokenizer.from_file(f"{directory}/tokenizer.json")
    head = json.load(open(f"{directory}/reward_model.json"))
    pad = model.config.pad_token_id
    rows = [tokenizer.encode(t, add_special_tokens=False).ids[-head["max_length"]:] for t in texts]
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    if logits.shape[1] == 1:
        raw = logits[:, 0]
    else:
        raw = (logits.softmax(-1) * torch.tensor(head["label_rewards"])).sum(-1)
    scores = (head["gain"] * raw + head["bias"]).tolist()
    print(json.dumps({"texts": texts, "scores": scores}, indent=1))


if __name__ == "__main__":
    main()
