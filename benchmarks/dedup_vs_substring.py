"""Deduplication on planted duplicates: MinHash LSH (rlvr data dedup) vs substring containment
(Guru's rule), side by side.

The distinct problems are synthetic-suite prompts (many seeds, every task; prompts of one task
share a template and differ in their numbers, as real datasets' do) with a sentence of context
that makes each about 40 words long. Into them we plant copies of some: exact, case and spacing
changed, one word edited, a sentence appended, and a cut (the first half). Printed per kind: the
share of planted copies each method drops (recall), the distinct problems it drops (false
positives), and the time, at two sizes (substring containment compares every pair).

    .venv/bin/python benchmarks/dedup_vs_substring.py [--sizes 1000,4000] [--throughput 100000]

`--throughput N` also times MinHash alone on N distinct problems (+ N/10 planted) with 1 process
and one per core (problems per second); substring containment cannot finish that size (it compares
every pair), so its rate is the one measured at the largest of --sizes.
"""

from __future__ import annotations

import argparse
import random
import time

from rlvr.data.dedup import deduplicate, substring_duplicates
from rlvr.data.records import Row
from rlvr.problems import Problem
from rlvr.suites.synthetic import synthetic_suite

CONTEXT = ["In a small town, the school holds a puzzle fair every spring and this is one of the tasks.",
           "A student copied this exercise from the blackboard before the lesson ended on Friday.",
           "The following question comes from a workbook used by a club that meets after school."]
KINDS = ("exact", "case and spacing", "one word edited", "sentence appended", "first half")


def plant(text: str, kind: str, rng: random.Random) -> str:
    if kind == "exact":
        return text
    if kind == "case and spacing":
        return text.upper().replace(" ", "  ")
    if kind == "one word edited":
        words = text.split()
        i = rng.randrange(len(words))
        return " ".join(words[:i] + ["really"] + words[i + 1 :])
    if kind == "sentence appended":
        return text + " Show your work."
    return text[: len(text) // 2]


def corpus(size: int, seed: int = 0) -> tuple[list[Row], dict[str, str]]:
    rng = random.Random(seed)
    texts, seen, s = [], set(), 0
    while len(texts) < size:
        for p in synthetic_suite(per_task=4, seed=1000 + s):
            text = f"{rng.choice(CONTEXT)} {p.prompt_text()}"
            if text not in seen:
                seen.add(text)
                texts.append(text)
        s += 1
    texts = texts[:size]
    rows = [Row({}, Problem(id=f"d{i}", domain="math", prompt=t), f"d{i}", "distinct") for i, t in enumerate(texts)]
    kinds = {}
    for j, i in enumerate(rng.sample(range(size), size // 10)):
        kind = KINDS[j % len(KINDS)]
        rows.append(Row({}, Problem(id=f"c{j}", domain="math", prompt=plant(texts[i], kind, rng)), f"c{j}", "planted"))
        kinds[f"c{j}"] = kind
    rng.shuffle(rows[size:])
    return rows, kinds


def report(name: str, dropped_ids: set[str], kinds: dict[str, str], seconds: float) -> str:
    cells = []
    for kind in KINDS:
        planted = [c for c, k in kinds.items() if k == kind]
        cells.append(f"{sum(c in dropped_ids for c in planted) / len(planted):.0%}")
    false = sum(1 for i in dropped_ids if i.startswith("d"))
    return f"| {name} | " + " | ".join(cells) + f" | {false} | {seconds:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,4000")
    parser.add_argument("--throughput", type=int, default=0)
    args = parser.parse_args()
    if args.throughput:
        import os

        rows, kinds = corpus(args.throughput)
        for workers in sorted({1, os.cpu_count() or 1}):
            t0 = time.perf_counter()
            dropped = {r.problem.id for r, *_ in deduplicate(rows, workers=workers).dropped}
            seconds = time.perf_counter() - t0
            print(f"MinHash LSH, {len(rows)} problems, {workers} process(es): {len(rows) / seconds:,.0f} problems/s "
                  f"({seconds:.1f} s); planted copies dropped {sum(c in dropped for c in kinds) / len(kinds):.0%}, "
                  f"distinct dropped {sum(i.startswith('d') for i in dropped)}")
    for size in map(int, args.sizes.split(",")):
        rows, kinds = corpus(size)
        print(f"\n{size} distinct problems + {len(kinds)} planted copies")
        print("| method | " + " | ".join(KINDS) + " | distinct dropped | seconds |")
        print("|---" * (len(KINDS) + 3) + "|")
        t0 = time.perf_counter()
        minhash = {r.problem.id for r, *_ in deduplicate(rows).dropped}
        print(report("MinHash LSH (5-word shingles, 0.8)", minhash, kinds, time.perf_counter() - t0))
        t0 = time.perf_counter()
        substring = {r.problem.id for r, _ in substring_duplicates(rows)}
        print(report("substring containment", substring, kinds, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
