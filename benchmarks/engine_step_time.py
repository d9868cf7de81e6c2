"""A step of `rlvr train` with each rollout engine, split into sampling, scoring, learning and
pushing weights, side by side.

Runs `rlvr train` for a few steps of the main job's shape (16 prompts x 8 rollouts, 128 new
tokens, the shipped tiny reasoner, no held-out evaluation) once per engine, alternating, and
prints the medians of the steps after the first (the first includes warm-up) from metrics.jsonl.

    .venv/bin/python benchmarks/engine_step_time.py [--engines torch,vllm] [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PARTS = ("sampling", "scoring", "recomputing_logprobs", "learning", "pushing_weights", "total")


def run(engine: str, steps: int, out: Path) -> list[dict]:
    config = {"output": str(out), "steps": steps, "rollout": {"engine": engine, "dynamic_sampling": False},
              "evaluation": {"every": 0, "before": False, "suite": None}, "checkpointing": {"every": steps}}
    path = out.with_suffix(".yaml")
    path.write_text(json.dumps(config))
    subprocess.run([sys.executable, "-m", "rlvr.cli", "train", str(path), "--overwrite"], check=True,
                   capture_output=True, text=True)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["kind"] == "step"][1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="torch,vllm")
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        rows = {engine: run(engine, args.steps, Path(tmp) / engine) for engine in engines}
    print(f"rlvr train, main job's shape, steps 2-{args.steps} (medians, seconds)")
    print(f"{'engine':8s} " + " ".join(f"{p:>20s}" for p in PARTS) + f" {'push/step':>10s} {'sample tok/s':>13s}")
    for engine, steps in rows.items():
        median = {p: statistics.median(r["time_s"].get(p, 0.0) for r in steps) for p in PARTS}
        speed = statistics.median(r["sample_tok_s"] for r in steps)
        share = median["pushing_weights"] / median["total"]
        print(f"{engine:8s} " + " ".join(f"{median[p]:20.3f}" for p in PARTS) + f" {share:10.1%} {speed:13.0f}")


if __name__ == "__main__":
    main()
