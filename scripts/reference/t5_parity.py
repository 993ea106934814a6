#!/usr/bin/env python3
"""T5 parity fixtures for Tests/ModelsTests (run by hand once; CI never runs Python).

  python3 scripts/reference/t5_parity.py make
      Builds two tiny random T5ForConditionalGeneration models with transformers and saves each to
      Tests/ModelsTests/Fixtures/<name>/ (config.json, model.safetensors) with expected.safetensors:
        t5-tiny      T5 v1.0: feed_forward_proj "relu", lm_head tied to `shared`, decoder output
                     scaled by d_model^-0.5 before the head.
        flan-t5-tiny T5 v1.1 / Flan-T5: "gated-gelu", an untied lm_head (its own lm_head.weight and
                     "tie_word_embeddings": false in config.json, as the published Flan-T5
                     checkpoints have), no scaling.
      Both: d_model 32, d_kv 6 (so heads × d_kv = 24 ≠ d_model), 4 heads, d_ff 48, 2 encoder and 3
      decoder layers, 8 relative-attention buckets with max distance 12 (so the 13-token sources
      reach the logarithmic buckets and the clamp), vocabulary 120.
      expected.safetensors holds: input_ids (2, 13) right-padded (row 1 has 9 real tokens),
      attention_mask, labels (2, 9) with row 1's last 3 set to -100, decoder_input_ids (the labels
      shifted right from the pad id, as transformers' _shift_right), encoder_states (eval mode),
      logits, loss, the gradients of the loss for a few parameters (grad.<name>), and greedy
      generation of at most 10 and at least 4 (min_new_tokens) new tokens per row (generated: (2, 11) starting with the pad id, padded with
      the pad id after </s>) from model.generate(do_sample=False, num_beams=1, use_cache=False).

  python3 scripts/reference/t5_parity.py make-classifier
      Builds a tiny random T5ForSequenceClassification (the flan-t5-tiny shape, 2 labels) into
      Tests/ModelsTests/Fixtures/t5-classifier-tiny/ with expected.safetensors: input_ids (2, 13)
      right-padded, each row ending with one </s> (transformers reads the decoder state there),
      attention_mask, labels (2), logits (2, 2), the cross-entropy loss and the gradients of a few
      parameters (grad.<name>), in eval mode.

  python3 scripts/reference/t5_parity.py check-swift DIR
      DIR holds t5-tiny/ and flan-t5-tiny/ as saved by Swift after one AdamW step, each with
      swift_logits.safetensors (written by the Swift test `savedCheckpointsForPython` when
      RLHF_WRITE_PARITY_DIR=DIR). Loads each with T5ForConditionalGeneration.from_pretrained,
      recomputes the logits, and records the comparison in
      Tests/ModelsTests/Fixtures/t5_swift_checkpoint_check.json.

The default init (torch.manual_seed(0)) is perturbed so every parameter matters: layer-norm
weights get N(0, 0.1) noise added. Floats are float32; library versions are in the metadata.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import T5Config, T5ForConditionalGeneration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")
GRADIENTS = [
    "shared.weight",
    "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
    "encoder.block.1.layer.0.SelfAttention.q.weight",
    "encoder.block.1.layer.1.layer_norm.weight",
    "encoder.final_layer_norm.weight",
    "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
    "decoder.block.1.layer.1.EncDecAttention.k.weight",
    "decoder.block.2.layer.1.EncDecAttention.o.weight",
    "decoder.block.2.layer.0.SelfAttention.v.weight",
    "decoder.final_layer_norm.weight",
]


def inputs():
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(2, 120, (2, 13), generator=generator)
    ids[:, -1] = 1                      # sources end with </s>
    mask = torch.ones(2, 13, dtype=torch.long)
    mask[1, 9:] = 0                     # right padding in row 1
    ids[1, 8] = 1
    ids[1, 9:] = 0
    labels = torch.randint(2, 120, (2, 9), generator=generator)
    labels[0, -1] = 1
    labels[1, 5] = 1
    labels[1, 6:] = -100
    return ids, mask, labels


def make_one(name, feed_forward, tied):
    torch.manual_seed(0)
    config = T5Config(vocab_size=120, d_model=32, d_kv=6, d_ff=48, num_layers=2, num_decoder_layers=3,
                      num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=12,
                      dropout_rate=0.1, layer_norm_epsilon=1e-6, feed_forward_proj=feed_forward,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
                      tie_word_embeddings=tied)
    config._attn_implementation = "eager"
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():
        for parameter_name, parameter in model.named_parameters():
            if "layer_norm" in parameter_name:
                parameter.add_(0.1 * torch.randn_like(parameter))
        if not tied:
            model.lm_head.weight = torch.nn.Parameter(torch.randn(120, 32) * 32 ** -0.5)
    folder = os.path.join(FIXTURES, name)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    # As the published checkpoints spell it: v1.0 ties (and scales), Flan-T5 does not.
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        saved = json.load(f)
    saved.pop("scale_decoder_outputs", None)
    saved["tie_word_embeddings"] = tied
    with open(path, "w") as f:
        json.dump(saved, f, indent=2, sort_keys=True)
    reloaded = T5ForConditionalGeneration.from_pretrained(folder, attn_implementation="eager")
    assert reloaded.config.scale_decoder_outputs == tied, "scaling must follow tie_word_embeddings"
    assert (reloaded.lm_head.weight.data_ptr() == reloaded.shared.weight.data_ptr()) == tied
    model = reloaded
    model.eval()
    ids, mask, labels = inputs()
    out = model(input_ids=ids, attention_mask=mask, labels=labels)
    out.loss.backward()
    parameters = dict(model.named_parameters())
    names = GRADIENTS + ([] if tied else ["lm_head.weight"])
    decoder_inputs = model._shift_right(labels)
    with torch.no_grad():
        encoder_states = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        generated = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=10, min_new_tokens=4,
                                   do_sample=False, num_beams=1, use_cache=False)
    tensors = {
        "input_ids": ids, "attention_mask": mask, "labels": labels, "decoder_input_ids": decoder_inputs,
        "encoder_states": encoder_states.contiguous(), "logits": out.logits.detach().contiguous(),
        "loss": out.loss.detach().reshape(1), "generated": generated.contiguous(),
        "min_new_tokens": torch.tensor([4]),
    }
    for parameter_name in names:
        gradient = parameters[parameter_name].grad
        assert gradient is not None, parameter_name
        tensors["grad." + parameter_name] = gradient.detach().contiguous()
    save_file(tensors, os.path.join(folder, "expected.safetensors"),
              metadata={"transformers": transformers.__version__, "torch": torch.__version__})
    print("wrote", folder, "loss", out.loss.item(), "generated", generated.tolist())


def make():
    make_one("t5-tiny", "relu", tied=True)
    make_one("flan-t5-tiny", "gated-gelu", tied=False)


CLASSIFIER_GRADIENTS = [
    "transformer.shared.weight",
    "transformer.encoder.block.1.layer.0.SelfAttention.q.weight",
    "transformer.decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
    "transformer.decoder.block.2.layer.1.EncDecAttention.v.weight",
    "transformer.decoder.final_layer_norm.weight",
    "classification_head.dense.weight",
    "classification_head.dense.bias",
    "classification_head.out_proj.weight",
    "classification_head.out_proj.bias",
]


def make_classifier():
    from transformers import T5ForSequenceClassification
    torch.manual_seed(0)
    config = T5Config(vocab_size=120, d_model=32, d_kv=6, d_ff=48, num_layers=2, num_decoder_layers=3,
                      num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=12,
                      dropout_rate=0.1, classifier_dropout=0.0, layer_norm_epsilon=1e-6, feed_forward_proj="gated-gelu",
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, num_labels=2)
    config._attn_implementation = "eager"
    model = T5ForSequenceClassification(config)
    with torch.no_grad():
        for parameter_name, parameter in model.named_parameters():
            if "layer_norm" in parameter_name or "bias" in parameter_name and "relative" not in parameter_name:
                parameter.add_(0.1 * torch.randn_like(parameter))
    folder = os.path.join(FIXTURES, "t5-classifier-tiny")
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    model = T5ForSequenceClassification.from_pretrained(folder, attn_implementation="eager")
    model.eval()
    ids, mask, _ = inputs()
    labels = torch.tensor([1, 0])
    out = model(input_ids=ids, attention_mask=mask, labels=labels)
    out.loss.backward()
    parameters = dict(model.named_parameters())
    tensors = {"input_ids": ids, "attention_mask": mask, "labels": labels,
               "logits": out.logits.detach().contiguous(), "loss": out.loss.detach().reshape(1)}
    for parameter_name in CLASSIFIER_GRADIENTS:
        gradient = parameters[parameter_name].grad
        assert gradient is not None, parameter_name
        tensors["grad." + parameter_name] = gradient.detach().contiguous()
    save_file(tensors, os.path.join(folder, "expected.safetensors"),
              metadata={"transformers": transformers.__version__, "torch": torch.__version__})
    print("wrote", folder, "logits", out.logits.tolist(), "loss", out.loss.item())


def check_swift(directory):
    from safetensors.torch import load_file
    results = {}
    for name in ["t5-tiny", "flan-t5-tiny"]:
        folder = os.path.join(directory, name)
        model = T5ForConditionalGeneration.from_pretrained(folder, attn_implementation="eager")
        model.eval()
        swift = load_file(os.path.join(folder, "swift_logits.safetensors"))
        with torch.no_grad():
            logits = model(input_ids=swift["input_ids"].long(), attention_mask=swift["attention_mask"].long(),
                           labels=swift["labels"].long()).logits
        difference = (logits - swift["logits"]).abs().max().item()
        scale = logits.abs().max().item()
        results[name] = {
            "loaded_with": "transformers.T5ForConditionalGeneration.from_pretrained",
            "transformers": transformers.__version__, "torch": torch.__version__,
            "untied_head": model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr(),
            "scale_decoder_outputs": bool(model.config.scale_decoder_outputs),
            "max_abs_logit_difference": difference, "max_abs_logit": scale,
            "passed": difference <= 1e-4 * max(1.0, scale),
        }
    with open(os.path.join(FIXTURES, "t5_swift_checkpoint_check.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(results))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "make":
        make()
    elif len(sys.argv) == 2 and sys.argv[1] == "make-classifier":
        make_classifier()
    elif len(sys.argv) == 3 and sys.argv[1] == "check-swift":
        check_swift(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
