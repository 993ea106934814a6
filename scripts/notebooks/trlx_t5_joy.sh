#!/bin/sh
# trlX's T5 sentiment notebook (ppo_sentiments_t5), reproduced on GoEmotions with a T5 trained here:
# PPO makes a seq2seq policy's comments raise a MiniLM emotion classifier's P(joy).
#
#   scripts/notebooks/trlx_t5_joy.sh [DATA_DIR] [WORK_DIR]
#
# DATA_DIR holds goemotions/{train,dev,test}.tsv, minilm/ and shakespeare/tiny_shakespeare.txt
# (default ../shared/data); WORK_DIR receives the runs (default runs/trlx-t5-joy). Each stage is
# skipped when its final checkpoint exists, so a rerun resumes where it stopped. With POLICY=DIR
# set, a local Flan-T5 (or any T5ForConditionalGeneration checkpoint with its tokenizer.json)
# replaces stages 2–4 and is the PPO starting point. RLHF=path picks the rlhf binary.
#
# Stages: 1 the joy classifier (MiniLM fine-tuned on GoEmotions, multi-label); 2 a T5 tokenizer
# (byte-level BPE with T5's special tokens) and span-corruption pretraining on GoEmotions + Shakespeare;
# 3 seq2seq SFT mapping a comment's first 4 words to the comment; 4 PPO with classifier:…:joy on
# 4-word GoEmotions prompts (trlX's settings: init_kl_coef 0.05, target 6, gamma 0.99, lam 0.95,
# vf_coef 1, top_k 0; a separate value model and lr 3e-4 for this small policy — see docs/t5-joy.md).
set -eu
DATA=${1:-../shared/data}
WORK=${2:-runs/trlx-t5-joy}
RLHF=${RLHF:-.build/release/rlhf}
mkdir -p "$WORK"
log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if [ ! -d "$WORK/runs/joy-classifier/final" ]; then
    log "[1/4] joy classifier: MiniLM on GoEmotions (multi-label)"
    "$RLHF" classifier train --data "$DATA/goemotions/train.tsv" --valid_data "$DATA/goemotions/dev.tsv" \
        --test_data "$DATA/goemotions/test.tsv" --model "$DATA/minilm" --name joy-classifier --runs_dir "$WORK/runs" \
        --max_length 64 --batch_size 32 --epochs 1 --learning_rate 5e-5 --resume
fi
"$RLHF" data prefixes --input "$DATA/goemotions/train.tsv" --words 4 --limit 20000 --output "$WORK/sft.jsonl"
"$RLHF" data prefixes --input "$DATA/goemotions/test.tsv" --words 4 --limit 2000 --output "$WORK/ppo-prompts.jsonl"
"$RLHF" data prefixes --input "$DATA/goemotions/test.tsv" --words 4 --skip 2000 --limit 64 --output "$WORK/eval-prompts.jsonl"

if [ -n "${POLICY:-}" ]; then
    START=$POLICY
else
    if [ ! -d "$WORK/runs/t5-pretrain/final" ]; then
        log "[2/4] T5 pretraining by span corruption on GoEmotions + Shakespeare"
        { cut -f1 "$DATA/goemotions/train.tsv"; cat "$DATA/shakespeare/tiny_shakespeare.txt"; } > "$WORK/pretrain-corpus.txt"
        "$RLHF" pretrain --corpus "$WORK/pretrain-corpus.txt" --tokenizer bpe --bpe_merges 3000 --model_type t5 \
            --n_layer 3 --n_head 4 --n_embd 192 --dropout 0.1 --block_size 64 --batch_size 16 --max_steps 2500 \
            --learning_rate 1e-3 --warmup_steps 100 --eval_interval 250 --eval_batches 10 --log_interval 25 \
            --checkpoint_interval 250 --name t5-pretrain --runs_dir "$WORK/runs" --resume
    fi
    if [ ! -d "$WORK/runs/t5-sft/final" ]; then
        log "[3/4] seq2seq SFT: first 4 words → the comment"
        "$RLHF" sft --model "$WORK/runs/t5-pretrain/final" --data "$WORK/sft.jsonl" --name t5-sft --runs_dir "$WORK/runs" \
            --max_length 64 --long_responses truncate --batch_size 16 --max_steps 1000 --learning_rate 5e-4 --warmup_steps 50 \
            --eval_interval 250 --log_interval 25 --checkpoint_interval 250 --valid_fraction 0.02 --resume
    fi
    START=$WORK/runs/t5-sft/final
fi

if [ ! -d "$WORK/runs/t5-ppo/final" ]; then
    log "[4/4] PPO: P(joy) from the classifier as the reward"
    "$RLHF" ppo --model "$START" --prompts "$WORK/ppo-prompts.jsonl" --eval_prompts "$WORK/eval-prompts.jsonl" \
        --num_eval_prompts 64 --reward "classifier:$WORK/runs/joy-classifier/final:joy" --name t5-ppo --runs_dir "$WORK/runs" \
        --iterations 150 --num_rollouts 64 --chunk_size 16 --ppo_epochs 4 --num_mini_batches 4 --init_kl_coef 0.05 --target 6 \
        --horizon 10000 --gamma 0.99 --lam 0.95 --vf_coef 1.0 --value_model separate --top_k 0 --max_new_tokens 30 --learning_rate 3e-4 \
        --eval_interval 5 --checkpoint_interval 10 --resume
fi
log "done: $WORK/runs/t5-ppo (metrics.jsonl, samples.jsonl)"
