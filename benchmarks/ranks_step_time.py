"""Data parallel on one machine: 2 ranks x 1 thread vs 1 rank x 2 threads, side by side.

Runs `rlvr train` for a few steps of the main job's shape (16 prompts x 8 rollouts, 128 new
tokens, the shipped tiny reasoner, no dynamic sampling, no held-out evaluation) both ways,
alternating, and prints the medians of steps 2..N from rank 0's metrics.jsonl: sampling, scoring,
learning (communication included) and the collectives' share (waiting included), with the bytes
all-reduced per step. The bytes are the model's float32 gradients plus a few counters per
optimizer step, so they grow linearly with the parameter count (4 bytes each).

    .venv/bin/python benchmarks/ranks_step_time.py [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PARTS = ("sampling", "scoring", "learning", "communication", "total")


def run(ranks: int, threads: int, steps: int, out: Path) -> list[dict]:
    config = {"output": str(out), "steps": steps, "rollout": {"dynamic_sampling": False},
              "evaluation": {"every": 0, "before": False, "suite": None}, "checkpointing": {"every": steps}}
    path = out.with_suffix(".yaml")
    path.write_text(json.dumps(config))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-m", "rlvr.cli", "train", str(path), "--overwrite", "--nproc", str(ranks)],
                   check=True, capture_output=True, text=True, env=env)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["kind"] == "step"][1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    shapes = {"1 rank x 2 threads": (1, 2), "2 ranks x 1 thread": (2, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        rows = {name: run(r, t, args.steps, Path(tmp) / f"r{r}") for name, (r, t) in shapes.items()}
    print(f"rlvr train, main job's shape, steps 2-{args.steps}, medians (seconds; rank 0's view)")
    print(f"{'':20s} " + " ".join(f"{p:>14s}" for p in PARTS) + f" {'MB reduced':>11s}")
    for name, steps in rows.items():
        median = {p: statistics.median(r["time_s"].get(p, 0.0) for r in steps) for p in PARTS}
        reduced = statistics.median(r.get("comm_bytes", 0) for r in steps) / 1e6
        print(f"{name:20s} " + " ".join(f"{median[p]:14.3f}" for p in PARTS) + f" {reduced:11.1f}")
    one, two = (statistics.median(r["time_s"]["total"] for r in rows[n]) for n in shapes)
    print(f"2 ranks / 1 rank step time: {two / one:.2f}x")


if __name__ == "__main__":
    main()
