#!/usr/bin/env bash
# The GPU checks, in one go (they ran on a lent H200; docs/benchmarks.md, "GPU"): the CUDA tests, the Triton
# log-prob benchmark, the sampler vs generate() on CUDA, and the main job on the GPU.
# Uses the machine's python3 (with a CUDA torch and triton) and rlvr from src/.
#   bash benchmarks/gpu_checks.sh [LOG_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
log=${1:-runs/gpu_checks}
mkdir -p "$log"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
STEP_LOG_DIR=$log
source scripts/step.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$py" -c "import torch, triton, transformers; print('torch', torch.__version__, 'triton', triton.__version__, \
'transformers', transformers.__version__)"
step tests timeout 150 "$py" -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_logprobs.py tests/test_sampling.py
step logprobs timeout 120 "$py" benchmarks/chunked_logprobs.py --device cuda --hidden 896
step sampler timeout 180 "$py" benchmarks/sampler_vs_generate.py --device cuda --models qwen2-100m,qwen2-100m-vocab152k \
    --batch 64 --model-dir src/rlvr/assets/tiny-reasoner
step main_job timeout 250 "$py" -m rlvr.cli train --output runs/gpu_main --overwrite
step sampler256 timeout 120 "$py" benchmarks/sampler_vs_generate.py --device cuda --models qwen2-100m-vocab152k --batch 256
