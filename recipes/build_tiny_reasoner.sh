#!/usr/bin/env bash
# Rebuild the embedded tiny reasoner from scratch, install it as the shipped model, and measure it on
# the held-out synthetic suite. Stages 1-4: about 2.5 hours on 2 CPU cores. Stage 5 (2.1 million
# problems): 4 minutes on an H200 (how the shipped model was made: recipes/stage5_on_gpu.sh), about
# 7.5 hours on 2 CPU cores (3.2 s per step of 256 in bf16 here, 8,157 steps). Stage 6: 30 minutes
# on 2 CPU cores; stage 7 (the hybrid thinking / non-thinking model): 10 minutes; stage 8 (simulation,
# tabular, the mended physics_mc): about 15 minutes. Each stage file pins the precision and the synthetic suite
# version it was trained with (stages 3, 4, 6, 7 in bf16: on an AVX2-only CPU add --set precision=fp32 to
# trade bit-for-bit for a 20x faster step).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
.venv/bin/rlvr sft recipes/tiny_reasoner.yaml            # stage 1 -> runs/tiny_reasoner
.venv/bin/rlvr sft recipes/tiny_reasoner_continue.yaml   # stage 2 -> runs/tiny_reasoner_stage2
.venv/bin/rlvr sft recipes/tiny_reasoner_stage3.yaml     # stage 3 -> runs/tiny_reasoner_stage3
.venv/bin/rlvr sft recipes/tiny_reasoner_stage4.yaml     # stage 4 -> runs/tiny_reasoner_stage4
.venv/bin/rlvr sft recipes/tiny_reasoner_stage5.yaml     # stage 5 -> runs/tiny_reasoner_stage5 (fp32, as on the H200)
.venv/bin/rlvr sft recipes/tiny_reasoner_stage6.yaml     # stage 6 -> runs/tiny_reasoner_stage6
.venv/bin/rlvr sft recipes/tiny_reasoner_stage7.yaml     # stage 7 -> runs/tiny_reasoner_stage7
.venv/bin/rlvr sft recipes/tiny_reasoner_stage8.yaml     # stage 8 -> runs/tiny_reasoner_stage8
rm -rf src/rlvr/assets/tiny-reasoner
cp -r runs/tiny_reasoner_stage8 src/rlvr/assets/tiny-reasoner
rm -f src/rlvr/assets/tiny-reasoner/sft_log.json
.venv/bin/rlvr eval --model tiny-reasoner --suite synthetic-heldout --n 16 --k 1,16 \
  --max-new-tokens 128 --temperature 1.0 -o runs/tiny_reasoner_eval
