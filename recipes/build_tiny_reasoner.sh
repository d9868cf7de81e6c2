#!/usr/bin/env bash
# Rebuild the embedded tiny reasoner from scratch on CPU (about 2.5 hours on 2 cores), install it as
# the shipped model, and measure it on the held-out synthetic suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
.venv/bin/rlvr sft recipes/tiny_reasoner.yaml            # stage 1 -> runs/tiny_reasoner
.venv/bin/rlvr sft recipes/tiny_reasoner_continue.yaml   # stage 2 -> runs/tiny_reasoner_stage2
.venv/bin/rlvr sft recipes/tiny_reasoner_stage3.yaml     # stage 3 -> runs/tiny_reasoner_stage3 (bf16)
.venv/bin/rlvr sft recipes/tiny_reasoner_stage4.yaml     # stage 4 -> runs/tiny_reasoner_stage4 (bf16)
rm -rf src/rlvr/assets/tiny-reasoner
cp -r runs/tiny_reasoner_stage4 src/rlvr/assets/tiny-reasoner
rm -f src/rlvr/assets/tiny-reasoner/sft_log.json
.venv/bin/rlvr eval --model tiny-reasoner --suite synthetic-heldout --n 8 --k 1,8 \
  --max-new-tokens 128 --temperature 1.0 -o runs/tiny_reasoner_eval
