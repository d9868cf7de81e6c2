#!/usr/bin/env bash
# Rebuild the embedded tiny reasoner from scratch on CPU (about 7 minutes on 2 cores), then
# measure it on the held-out synthetic suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
.venv/bin/rlvr sft recipes/tiny_reasoner.yaml
.venv/bin/rlvr eval --model runs/tiny_reasoner --suite synthetic-heldout --n 16 --k 1,4,16 \
  --max-new-tokens 256 --temperature 1.0 -o runs/tiny_reasoner_eval
