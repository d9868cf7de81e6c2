#!/usr/bin/env bash
# Stage 5 of the tiny reasoner on a GPU machine that has a CUDA torch but no rlvr venv (how the
# stage-5 model was made, on a lent H200): fine-tune the stage-4 model with
# recipes/tiny_reasoner_stage5.yaml, measure it on the held-out suite, then run the main job with it
# (MAIN_JOB=0: skip it). In fp32: on the H200 a step of this 3.6M model took 29 ms in fp32 and
# 186 ms under bf16 autocast (benchmarks/sft_step_time.py); on CPUs with AMX bf16 is the faster one.
# The shipped model: MAIN_JOB=0 bash recipes/stage5_on_gpu.sh OUT_DIR --set max_minutes=4.3
# (8,157 steps in 223 s; max_minutes, a guard for the 10-minute limit of the lent machine, was not reached).
#   bash recipes/stage5_on_gpu.sh [OUT_DIR] [--set KEY=VALUE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/stage5_gpu}
shift || true
mkdir -p "$out" runs
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
STEP_LOG_DIR=$out
source scripts/step.sh
# Stage 5 continues stage 4 (runs/tiny_reasoner_stage4, from recipes/build_tiny_reasoner.sh). The shipped
# model is stage 8 now, so it is no stand-in for stage 4: without stage 4 this script stops.
if [ ! -d runs/tiny_reasoner_stage4 ]; then
  echo "error: runs/tiny_reasoner_stage4 does not exist: build stages 1-4 first (recipes/build_tiny_reasoner.sh)" >&2
  exit 2
fi
step sft "$py" -m rlvr.cli sft recipes/tiny_reasoner_stage5.yaml --set precision=fp32 "$@"
tar czf "$out/tiny_reasoner_stage5.tgz" runs/tiny_reasoner_stage5
rm -rf runs/tiny_reasoner_stage5_eval
step eval "$py" -m rlvr.cli eval --model runs/tiny_reasoner_stage5 --suite synthetic-heldout --n 8 --k 1,8 \
    --max-new-tokens 128 --temperature 1.0 -o runs/tiny_reasoner_stage5_eval
cp runs/tiny_reasoner_stage5_eval/metrics.json "$out/eval_metrics.json"
[ "${MAIN_JOB:-1}" = 1 ] || exit 0
# the main job with the new model in place of the shipped one (put back however the job ends)
rm -rf src/rlvr/assets/tiny-reasoner.stage4 && mv src/rlvr/assets/tiny-reasoner src/rlvr/assets/tiny-reasoner.stage4
trap 'rm -rf src/rlvr/assets/tiny-reasoner && mv src/rlvr/assets/tiny-reasoner.stage4 src/rlvr/assets/tiny-reasoner' EXIT
cp -r runs/tiny_reasoner_stage5 src/rlvr/assets/tiny-reasoner
rm -f src/rlvr/assets/tiny-reasoner/sft_log.json
step main_job timeout "${MAIN_JOB_LIMIT:-300}" "$py" -m rlvr.cli train --output runs/gpu_main_stage5 --overwrite
cp runs/gpu_main_stage5/report.md "$out/main_job_report.md" 2>/dev/null || true
