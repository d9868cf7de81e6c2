"""Step time: `rlvr train` vs TRL's GRPOTrainer, same model, batch, lengths and loss settings, CPU.

TRL is not a dependency of rlvr: this script makes its own virtual environment
(`.bench/trl-venv`, torch==2.13.0 installed first so TRL does not pull a CUDA build, then trl)
and runs TRL there. Both sides: P prompts x N generations per step, max_new_tokens new tokens,
temperature 1.0, no KL (beta 0), clip 0.2, token-mean loss (TRL loss_type "dapo"), one update
per generation batch (TRL runs it as one batch of P x N rows, `per_device_train_batch_size`; rlvr in
microbatches of `--microbatch` rows, default 16, each prompt run once; 64, TRL's size, gave
the same learning time here), the same reward
(1 if the response's last line contains a digit 3-9: about half the responses, so groups have
variance and both trainers do the update). Step times exclude the first (warm-up) step.
`--precision both` (default) measures float32 on both sides, then bf16
autocast on both sides (TRL `bf16=True`, rlvr `precision: bf16`), each pair side by side.

    .venv/bin/python benchmarks/trl_step_time.py [--model DIR] [--steps 6] [--precision fp32|bf16|both]
        [--microbatch 16]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench" / "trl-venv"

TRL_RUNNER = r'''
import json, re, sys, time
import torch
from datasets import Dataset
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer

model, prompts_file = sys.argv[1], sys.argv[2]
steps, p, n, new_tokens = (int(x) for x in sys.argv[3:7])
bf16 = sys.argv[8] == "bf16"
prompts = json.load(open(prompts_file))
data = Dataset.from_dict({"prompt": [[{"role": "user", "content": x}] for x in prompts]})

def digit_reward(completions, **kwargs):  # same rule as the rlvr side's rubric regex below
    texts = [c[0]["content"] if isinstance(c, list) else c for c in completions]
    return [1.0 if re.search(r"[3-9][^\n]*$", t) else 0.0 for t in texts]

class Timer(TrainerCallback):
    def __init__(self):
        self.times, self.t = [], None
    def on_step_begin(self, args, state, control, **kw):
        self.t = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        self.times.append(time.perf_counter() - self.t)

cfg = GRPOConfig(output_dir=sys.argv[7], per_device_train_batch_size=p * n, num_generations=n,
                 max_completion_length=new_tokens, temperature=1.0, beta=0.0, epsilon=0.2, loss_type="dapo",
                 learning_rate=1e-5, max_steps=steps, logging_steps=1, report_to="none", use_cpu=True,
                 bf16=bf16, save_strategy="no", num_iterations=1, seed=0, dataloader_num_workers=0)
timer = Timer()
trainer = GRPOTrainer(model=model, reward_funcs=digit_reward, args=cfg, train_dataset=data, callbacks=[timer])
trainer.train()
print("TIMES " + json.dumps(timer.times))
'''


def ensure_trl_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "trl"], check=True)
    return python


def run_trl(python: Path, model: str, prompts: list[str], args, tmp: Path, precision: str) -> list[float]:
    (tmp / "prompts.json").write_text(json.dumps(prompts))
    (tmp / "runner.py").write_text(TRL_RUNNER)
    out = subprocess.run([str(python), str(tmp / "runner.py"), model, str(tmp / "prompts.json"), str(args.steps),
                          str(args.prompts), str(args.n), str(args.new_tokens), str(tmp / "trl-out"), precision],
                         capture_output=True, text=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("TIMES ")]
    if not line:
        raise SystemExit(f"TRL run failed:\n{out.stderr[-3000:]}")
    return json.loads(line[-1][6:])


def run_rlvr(model: str, prompts: list[str], args, tmp: Path, precision: str, skip: bool) -> list[dict]:
    tmp.mkdir()
    rows = [{"id": f"b{i}", "domain": "math", "prompt": text, "answer": "0",
             "rubric": [{"kind": "regex", "value": "[3-9][^\\n]*$"}], "rubric_combine": {"mode": "rubric"}}
            for i, text in enumerate(prompts)]
    (tmp / "data.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    cfg = {"model": model, "output": str(tmp / "rlvr-out"), "steps": args.steps,
           "data": {"file": str(tmp / "data.jsonl")}, "evaluation": {"suite": None},
           "rollout": {"prompts_per_step": args.prompts, "rollouts_per_prompt": args.n,
                       "max_new_tokens": args.new_tokens, "temperature": 1.0, "dynamic_sampling": False},
           "learner": {"lr": 1e-5, "ppo_epochs": 1, "minibatch_size": args.prompts * args.n,
                       "microbatch_size": args.microbatch, "mask_truncated": False, "skip_zero_advantage": skip,
                       "precision": precision},
           "checkpointing": {"every": 10_000},
           "algo": {"eps_low": 0.2, "eps_high": 0.2, "aggregation": "token_mean"}}
    (tmp / "rlvr.yaml").write_text(json.dumps(cfg))
    subprocess.run([str(ROOT / ".venv" / "bin" / "rlvr"), "train", str(tmp / "rlvr.yaml")], check=True,
                   capture_output=True)
    return [json.loads(x) for x in (tmp / "rlvr-out" / "metrics.jsonl").read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "src" / "rlvr" / "assets" / "tiny-reasoner"))
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--precision", choices=["fp32", "bf16", "both"], default="both")
    parser.add_argument("--microbatch", type=int, default=16, help="rlvr's rows per forward/backward")
    args = parser.parse_args()
    from rlvr.suites import load_suite

    prompts = [p.prompt_text() for p in load_suite("synthetic-heldout")][: args.prompts * args.steps]
    python = ensure_trl_venv()
    print(f"machine: {os.cpu_count()} cores, CPU; model {args.model}; {args.prompts} prompts x {args.n} generations, "
          f"max {args.new_tokens} new tokens; rlvr microbatch {args.microbatch}; "
          f"median of {args.steps - 1} steps after the first")
    for precision in (["fp32", "bf16"] if args.precision == "both" else [args.precision]):
        with tempfile.TemporaryDirectory() as tmp:
            trl_s = statistics.median(run_trl(python, args.model, prompts, args, Path(tmp), precision)[1:])
            # rlvr twice: with its default of skipping rollouts whose advantage is 0 (all-same
            # groups: their gradient is exactly 0), and running every rollout as TRL does.
            runs = {skip: run_rlvr(args.model, prompts, args, Path(tmp) / f"skip{skip}", precision, skip)[1:]
                    for skip in (True, False)}
            for skip, rows in runs.items():
                report(precision, trl_s, rows, "skips zero-advantage rows" if skip else "runs every row")
            print(learning_throughput(runs[False], args.model))


def matmul_gflops(size: int = 1024, reps: int = 10, rounds: int = 5) -> float:
    """This machine's float32 matmul rate on a large square product, the best of a few rounds
    (the cores' speed moves between runs here): a ceiling for the learner."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 * reps / best / 1e9


def learning_throughput(rows: list[dict], model: str) -> str:
    """How close running every row comes to the machine's arithmetic: forward + backward is about
    6 x parameters FLOPs per completion token (prompts, run once per group, left out)."""
    from safetensors import safe_open

    with safe_open(str(Path(model) / "model.safetensors"), "pt") as f:
        params = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    tokens_per_s = statistics.median(r["train_tok_s"] for r in rows)
    rate = 6 * params * tokens_per_s / 1e9
    ceiling = matmul_gflops()
    return (f"  every row: the learner trains {tokens_per_s:,.0f} completion tokens/s = {rate:.1f} GFLOP/s "
            f"(6 x {params / 1e6:.2f}M parameters per token); a 1024^3 float32 matmul here: {ceiling:.1f} "
            f"GFLOP/s ({rate / ceiling:.0%} of it)")


def report(precision: str, trl_s: float, rows: list[dict], mode: str) -> None:
    rlvr_s = statistics.median(r["time_s"]["total"] for r in rows)
    split = {k: statistics.median(r["time_s"][k] for r in rows) for k in ("sampling", "scoring", "learning")}
    all_same = statistics.mean(r["zero_variance_frac"] for r in rows)
    print(f"{precision}: TRL GRPOTrainer step {trl_s:.2f} s   rlvr train step {rlvr_s:.2f} s ({mode})   "
          f"rlvr is {trl_s / rlvr_s:.2f}x faster;   rlvr split (median s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in split.items()) + f";   all-same groups {all_same:.0%}")


if __name__ == "__main__":
    main()
