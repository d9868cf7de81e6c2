#!/usr/bin/env bash
# Rebuild the embedded tiny reasoner from scratch, install it as the shipped model, and measure it on
# the held-out synthetic suite. Stages 1-4: about 2.5 hours on 2 CPU cores. Stage 5 (2.1 million
# problems): 4 minutes on an H200 (how the shipped model was made: recipes/stage5_on_gpu.sh), about
# 7.5 hours on 2 CPU cores (3.2 s per step of 256 in bf16 here, 8,157 steps). Stage 6: 30 minutes
# on 2 CPU cores; stage 7 (the hybrid thinking / non-thinking model): 10 minutes; stage 8 (simulation,
# tabular, the mended physics_mc): about 15 minutes in fp32 (CPUs without native bf16 use fp32: precision auto).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
.venv/bin/rlvr sft recipes/tiny_reasoner.yaml            # stage 1 -> runs/tiny_reasoner
.venv/bin/rlvr sft recipes/tiny_reasoner_continue.yaml   # stage 2 -> runs/tiny_reasoner_stage2
.venv/bin/rlvr sft recipes/tiny_reasoner_stage3.yaml     # stage 3 -> runs/tiny_reasoner_stage3
.venv/bin/rlvr sft recipes/tiny_reasoner_stage4.yaml     # stage 4 -> runs/tiny_reasoner_stage4
# stage 5 -> runs/tiny_reasoner_stage5: precision auto on CPU (bf16 where native), fp32 on a GPU (6x faster there for this model)
precision=$(.venv/bin/python -c "import torch; print('fp32' if torch.cuda.is_available() else 'auto')")
.venv/bin/rlvr sft recipes/tiny_reasoner_stage5.yaml --set precision="$precision"
.venv/bin/rlvr sft recipes/tiny_reasoner_stage6.yaml     # stage 6 -> runs/tiny_reasoner_stage6
.venv/bin/rlvr sft recipes/tiny_reasoner_stage7.yaml     # stage 7 -> runs/tiny_reasoner_stage7
.venv/bin/rlvr sft recipes/tiny_reasoner_stage8.yaml     # stage 8 -> runs/tiny_reasoner_stage8
rm -rf src/rlvr/assets/tiny-reasoner
cp -r runs/tiny_reasoner_stage8 src/rlvr/assets/tiny-reasoner
rm -f src/rlvr/assets/tiny-reasoner/sft_log.json
.venv/bin/rlvr eval --model tiny-reasoner --suite synthetic-heldout --n 16 --k 1,16 \
  --max-new-tokens 128 --temperature 1.0 -o runs/tiny_reasoner_eval
