"""Does GRPO gain on held-out prompts when it trains on prompts the model has not memorised?

The main job trains on the training split, which SFT showed the tiny reasoner many times
(experiments/train_vs_heldout.py: it remembers answers there), and gains nothing held out. Here
the held-out prompts are split once more, by a second hash, into A (RL training problems: prompts
the model has never seen) and B (evaluation: the half of `synthetic-heldout` outside A). The main
job's config runs twice from the same start, side by side: on its usual training problems, and on
A; the start model and both results are evaluated on B (n samples at temperature 1).

    .venv/bin/python experiments/rl_on_unseen_prompts.py [--model tiny-reasoner] [--n 8] [--out runs/rl_unseen]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import time
from pathlib import Path

import yaml

from rlvr.config import MAIN_JOB, merge
from rlvr.problems import Problem, write_jsonl
from rlvr.suites import load_suite
from rlvr.suites.synthetic import synthetic_suite

ROOT = Path(__file__).resolve().parents[1]
RLVR = str(ROOT / ".venv" / "bin" / "rlvr")


def in_b(problem: Problem) -> bool:
    """The second split of held-out prompts, independent of the first (a different hash input)."""
    return hashlib.sha256(("rl/" + problem.prompt_text()).encode()).digest()[0] % 2 == 1


def unseen_training_problems(seeds: range, exclude: set[str]) -> list[Problem]:
    """Held-out-split problems outside B, one per distinct prompt."""
    seen, out = set(exclude), []
    for seed in seeds:
        for p in synthetic_suite(per_task=10, seed=seed, heldout=True):
            if not in_b(p) and p.prompt_text() not in seen:
                seen.add(p.prompt_text())
                out.append(p)
    return out


def evaluate(model: str, data: Path, out: Path, n: int) -> dict:
    subprocess.run([RLVR, "eval", "--model", model, "--data", str(data), "--n", str(n), "--k", f"1,{n}",
                    "--max-new-tokens", "128", "--temperature", "1.0", "-o", str(out)], check=True,
                   capture_output=True)
    return json.loads((out / "metrics.json").read_text())


def train(model: str, training: dict, out: Path) -> float:
    cfg = merge(yaml.safe_load(MAIN_JOB.read_text()), {"model": model, "evaluation": {"suite": None, "before": False},
                                                       "output": str(out), **training})
    (out.parent / f"{out.name}.yaml").write_text(yaml.safe_dump(cfg))
    start = time.perf_counter()
    subprocess.run([RLVR, "train", str(out.parent / f"{out.name}.yaml")], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny-reasoner")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "rl_unseen")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    b = [p for p in load_suite("synthetic-heldout") if in_b(p)]
    a = unseen_training_problems(range(5000, 5040), {p.prompt_text() for p in b})
    write_jsonl(args.out / "A.jsonl", [p.model_dump(mode="json") for p in a])
    write_jsonl(args.out / "B.jsonl", [p.model_dump(mode="json") for p in b])
    print(f"A (RL on unseen held-out prompts): {len(a)} problems; B (evaluation): {len(b)} problems")
    results = {"start": evaluate(args.model, args.out / "B.jsonl", args.out / "eval-start", args.n)}
    runs = {"training split (the main job)": {},
            "unseen prompts (A)": {"data": {"suite": None, "file": str(args.out / "A.jsonl")}}}
    for i, (name, training) in enumerate(runs.items()):
        seconds = train(args.model, training, args.out / f"run{i}")
        results[name] = evaluate(str(args.out / f"run{i}"), args.out / "B.jsonl", args.out / f"eval-run{i}", args.n)
        print(f"trained on {name}: {seconds:.0f} s")
    domains = sorted(results["start"]["by_domain"])
    print(f"\nB, pass@1 / pass@{args.n} in % (n = {args.n}):")
    print("| RL on | overall | " + " | ".join(domains) + " |")
    print("|---|---|" + "---|" * len(domains))
    for name, m in results.items():
        cells = [m["overall"]] + [m["by_domain"][d] for d in domains]
        print(f"| {name} | " + " | ".join(f"{100 * c['pass@1']:.1f} / {100 * c[f'pass@{args.n}']:.1f}"
                                         for c in cells) + " |")


if __name__ == "__main__":
    main()
