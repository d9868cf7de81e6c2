"""Can a tiny model learn to compute rather than remember? Two-number arithmetic (the `arith` task,
level 2: a ± b with a, b in 1..60) taught from scratch with two worked-solution formats, side by
side: the suite's own (`45 + 38 = 83`, the answer in one go) and digit by digit with carries and
borrows (`units 5 + 8 = 13, write 3 carry 1` ...), where every step is a one-digit fact seen many
times. Same model size, examples, steps and seed for both; scored greedily on the training split
and on the held-out split (prompts no training seed draws). A format that teaches the operation
scores alike on both.

    .venv/bin/python experiments/worked_solution_formats.py [--seeds 0-399] [--minutes 8] [--hidden 128]
    .venv/bin/python experiments/worked_solution_formats.py --model tiny-reasoner --epochs 1 --lr 3e-4  # continue it
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from train_vs_heldout import accuracy  # benchmarks/ is on sys.path when this runs as a script

from rlvr.config import SFTConfig
from rlvr.problems import write_jsonl
from rlvr.sampling.torch_backend import TorchSampler
from rlvr.suites.synthetic import synthetic_suite, think
from rlvr.train.sft import run_sft


def digit_steps(a: int, b: int, op: str) -> list[str]:
    """a op b for 0 <= a, b < 100, one digit at a time (subtraction of a larger number is negated)."""
    if op == "-" and a < b:
        return [f"{a} < {b}, so {a} - {b} = -({b} - {a})", *digit_steps(b, a, "-"), f"{a} - {b} = {a - b}"]
    (a1, a0), (b1, b0) = divmod(a, 10), divmod(b, 10)
    steps = [f"{a} = {a1} tens {a0} units, {b} = {b1} tens {b0} units"]
    if op == "+":
        units, carry = (a0 + b0) % 10, (a0 + b0) // 10
        steps.append(f"units {a0} + {b0} = {a0 + b0}, write {units} carry {carry}")
        tens = a1 + b1 + carry
        steps.append(f"tens {a1} + {b1} + {carry} = {tens}")
    else:
        borrow = int(a0 < b0)
        units = a0 + 10 * borrow - b0
        steps.append(f"units {a0 + 10 * borrow} - {b0} = {units}, borrow {borrow}")
        tens = a1 - b1 - borrow
        steps.append(f"tens {a1} - {b1} - {borrow} = {tens}")
    steps.append(f"{a} {op} {b} = {int(f'{tens}{units}')}")
    return steps


def write_data(path: Path, seeds: range, digits: bool) -> int:
    rows = []
    for seed in seeds:
        for p in synthetic_suite(per_task=10, levels=(2,), seed=seed, tasks=["arith"]):
            row = p.model_dump(mode="json")
            if digits:
                # level-2 arith prompts are "Compute A op B. ..." (rlvr.suites.synthetic.Arithmetic)
                match = re.match(r"Compute (\d+) ([+-]) (\d+)\.", p.prompt_text())
                if match is None:
                    raise ValueError(f"{p.id}: not a two-term arith prompt: {p.prompt_text()[:60]!r}")
                a, op, b = match.groups()
                row["meta"]["solution"] = think("\n".join(digit_steps(int(a), int(b), op)),
                                                f"The result is \\boxed{{{p.answer}}}.")
            rows.append(row)
    write_jsonl(path, rows)
    return len(rows)


def arith_accuracy(model_dir: Path | str, heldout: bool) -> float:
    sampler = TorchSampler.from_pretrained(model_dir, device="cpu")
    return accuracy(sampler, "arith", 2, 100, 9000, heldout, max_new_tokens=160)  # digit steps are longer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0-399", help="training seeds (10 problems each)")
    parser.add_argument("--minutes", type=float, default=8.0, help="training time per format")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--model", help="fine-tune this model with each format instead of training fresh ones")
    args = parser.parse_args()
    first, last = (int(x) for x in args.seeds.split("-"))
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for name, digits in (("one step (the suite's)", False), ("digit by digit", True)):
            data = Path(tmp) / f"{digits}.jsonl"
            count = write_data(data, range(first, last + 1), digits)
            source = ({"model": args.model} if args.model else
                      {"new_model": {"hidden": args.hidden, "layers": args.layers, "heads": 4, "vocab_size": 256}})
            cfg = SFTConfig(**source, suite=None, data=data, output=Path(tmp) / f"model{digits}", epochs=args.epochs,
                            lr=args.lr, warmup_steps=50, batch_size=32, precision="bf16", max_minutes=args.minutes,
                            log_every=200)
            start = time.perf_counter()
            run_sft(cfg, log=lambda *a: None)
            log = json.loads((cfg.output / "sft_log.json").read_text())
            results[name] = (count, log["steps"], log["total_steps"], time.perf_counter() - start,
                             arith_accuracy(cfg.output, False), arith_accuracy(cfg.output, True))
    start_from = (f"fine-tuning {args.model}" if args.model else
                  f"from scratch: hidden {args.hidden}, {args.layers} layers")
    print(f"arith level 2, {start_from}, lr {args.lr}, bf16, at most {args.minutes} min each; greedy on 100 problems "
          f"per split (seed 9000)")
    if args.model:
        print(f"{'the model before':<24} {'':>8} {'':>11} {'':>7} {arith_accuracy(args.model, False):>15.0%} "
              f"{arith_accuracy(args.model, True):>9.0%}")
    print(f"{'format':<24} {'examples':>8} {'steps':>11} {'time':>7} {'training split':>15} {'held-out':>9}")
    for name, (count, steps, total, seconds, seen, unseen) in results.items():
        print(f"{name:<24} {count:>8} {steps:>5}/{total:<5} {seconds:>6.0f}s {seen:>15.0%} {unseen:>9.0%}")


if __name__ == "__main__":
    main()
