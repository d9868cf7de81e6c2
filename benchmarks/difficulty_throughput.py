"""Difficulty labelling throughput (`rlvr data difficulty`) with the torch and vLLM engines, side
by side: the same synthetic problems, n samples each, the shipped tiny reasoner, problems per
second end to end (sampling and scoring), one run per engine, alternating.

    .venv/bin/python benchmarks/difficulty_throughput.py [--problems 120] [--n 8] [--new-tokens 128]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rlvr.suites.synthetic import synthetic_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=120)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=128)
    args = parser.parse_args()
    problems = synthetic_suite(per_task=10, seed=21)[: args.problems]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "in.jsonl"
        data.write_text("".join(json.dumps(p.model_dump(exclude_none=True)) + "\n" for p in problems))
        for engine in ("torch", "vllm"):
            out = Path(tmp) / f"{engine}.jsonl"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "rlvr.cli", "data", "difficulty", str(data), "--model",
                            "tiny-reasoner", "--engine", engine, "--n", str(args.n), "--max-new-tokens",
                            str(args.new_tokens), "--batch-size", "128", "-o", str(out)], check=True,
                           capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            rates = [json.loads(line)["pass_rate"] for line in out.read_text().splitlines()]
            print(f"{engine:6s} {len(rates)} problems x {args.n} samples in {seconds:.1f} s: "
                  f"{len(rates) / seconds:.2f} problems/s (process start and model load included); "
                  f"mean pass rate {sum(rates) / len(rates):.3f}")


if __name__ == "__main__":
    main()
