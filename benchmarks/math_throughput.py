"""Math verifications per second: rlvr's isolated workers vs math-verify called in-process.

rlvr adds per item: a worker-process round trip (hard timeout), the answer extraction, and
the numeric cross-check. Direct math-verify has none of these (and no protection against
hangs). Measured side by side in one run; the ratio is what the isolation costs or gains.

    .venv/bin/python benchmarks/math_throughput.py [--items 400]
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from math_verify import parse, verify

from rlvr.problems import Problem
from rlvr.scoring import Scorer

PAIRS = [
    (r"\frac{1}{2}", "0.5"), (r"1-\frac{1}{e}", r"1+\frac{1}{e}"), (r"\{1,2,3\}", r"\{3,2,1\}"),
    (r"y=2x+1", r"2x-y+1=0"), (r"4\sqrt{2}", r"\sqrt{32}"), ("x^2+2x+1", "(x+1)^2"), (r"(1,2]", r"(1,2]"),
    (r"\frac{\pi}{3}", "60"), ("12", "12.0"),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}"),
]


def direct(items: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for gold, pred in items:
        verify(parse(f"${gold}$"), parse(f"${pred}$"))
    return time.perf_counter() - start


def isolated(items: list[tuple[str, str]], workers: int) -> float:
    problems = [(Problem(id=str(i), domain="math", prompt="q", answer=g), f"\\boxed{{{p}}}")
                for i, (g, p) in enumerate(items)]
    with Scorer(workers=workers) as scorer:
        scorer.score_many(problems[:workers * 2])  # warm the workers (imports) before timing
        start = time.perf_counter()
        scorer.score_many(problems)
        return time.perf_counter() - start


def main() -> None:
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=400)
    args = parser.parse_args()
    items = [PAIRS[i % len(PAIRS)] for i in range(args.items)]
    direct(items[:20])  # warm sympy caches in this process too
    base = direct(items)
    print(f"machine: {os.cpu_count()} cores; {len(items)} verifications")
    print(f"{'mode':<28} {'items/s':>9} {'vs direct':>10}")
    print(f"{'math-verify in-process':<28} {len(items) / base:>9.1f} {1.0:>9.2f}x")
    for workers in sorted({1, os.cpu_count() or 1}):
        t = isolated(items, workers)
        print(f"{f'rlvr, {workers} worker(s)':<28} {len(items) / t:>9.1f} {base / t:>9.2f}x")


if __name__ == "__main__":
    main()
