#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian/Ubuntu machine: bubblewrap, a virtual environment, rlvr.
# Usage: scripts/setup.sh [EXTRAS]    e.g. scripts/setup.sh dev,reasoning-gym
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {  # quietly; refresh the package lists only when the first try fails
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

if ! command -v bwrap >/dev/null 2>&1; then
  if can_apt; then
    echo "installing bubblewrap (the code sandbox)"
    apt_install bubblewrap
  else
    echo "warning: bubblewrap is not installed and cannot be installed here (need root + apt-get);"
    echo "         code runs in the weaker fallback sandbox (docs/rewards.md, 'The sandbox')."
  fi
fi

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "rlvr needs Python >= 3.10")'
if [ ! -x .venv/bin/python ]; then
  # Debian's python3 comes without venv/ensurepip until python3-venv is installed
  if ! python3 -c 'import ensurepip' 2>/dev/null && can_apt; then
    echo "installing python3-venv"
    apt_install python3-venv
  fi
  python3 -m venv .venv
fi
# torch first and pinned: on CPU-only machines here 2.13.0 is the CPU build on local disk; on a
# machine with a GPU the same pin resolves to PyPI's CUDA build. A looser pin would fetch GBs.
.venv/bin/python -c 'import torch' 2>/dev/null || .venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q -e ".${extras:+[$extras]}"
