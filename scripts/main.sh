#!/usr/bin/env bash
# The main job on embedded defaults: set up, then train the shipped tiny reasoner with GRPO on the
# synthetic suite and print held-out pass@1 / pass@k per domain before and after (runs/main).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
exec .venv/bin/rlvr train --output runs/main --overwrite "$@"
