#!/usr/bin/env bash
# The main job on embedded defaults: set up, then score the bundled examples of all six domains.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
exec .venv/bin/rlvr demo "$@"
