"""Distillation step time and peak memory: the teacher live vs its logits stored once, side by side.

A random 100M-parameter teacher (Qwen2, hidden 1024, 8 layers, on the tiny reasoner's tokenizer:
large enough that holding it shows in memory) and a 0.95M student (hidden 128, 4 layers);
`rlvr distill` with forward KL on the reference solutions, 16 sequences per step, for a few steps,
each setting in its own process (so its peak resident memory is its own). Prints the medians of
steps 2..N split into teacher forward, student forward/backward and sampling, the peak resident
memory, and the stored logits' size; then one on-policy distillation run (the student samples).

    .venv/bin/python benchmarks/distill_step_time.py [--steps 8]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def child(config: str) -> None:
    from rlvr.distill.config import DistillConfig
    from rlvr.distill.run import distill

    distill(DistillConfig.model_validate(json.loads(config)), log=lambda line: None)
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run(config: dict) -> tuple[list[dict], float]:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(config)], check=True, capture_output=True,
                         text=True)
    peak = json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]
    rows = [json.loads(line) for line in (Path(config["output"]) / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["kind"] == "step"][1:], peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    from transformers import AutoTokenizer

    from rlvr.models import model_path
    from rlvr.models.tiny import build_model, save

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = AutoTokenizer.from_pretrained(model_path("tiny-reasoner"))
        teacher = build_model(tokenizer, hidden=1024, layers=8, heads=16)
        params = sum(p.numel() for p in teacher.parameters())
        teacher_dir = save(teacher, tokenizer, Path(tmp) / "teacher")
        del teacher
        base = {"teacher": str(teacher_dir), "new_student": {"hidden": 128, "layers": 4, "heads": 4},
                "per_task": 2, "steps": args.steps, "batch_size": 16, "microbatch_size": 16, "max_new_tokens": 96,
                "evaluation": {"suite": None}, "checkpointing": {"every": 1000}, "verifier_workers": 1}
        settings = {"teacher live": {}, "logits stored": {"precompute_teacher": True},
                    "stored, top 32": {"precompute_teacher": True, "teacher_top_k": 32},
                    "on-policy": {"loss": "on_policy", "batch_size": 4, "rollouts_per_prompt": 4}}
        results = {}
        for name, change in settings.items():
            out = Path(tmp) / name.replace(" ", "_").replace(",", "")
            results[name] = (*run({**base, **change, "output": str(out)}), out)
        print(f"rlvr distill, forward KL, teacher {params / 1e6:.0f}M -> student 0.95M, 16 sequences/step, "
              f"steps 2-{args.steps}, medians (seconds)")
        print(f"{'':16s} {'teacher':>9s} {'student':>9s} {'sampling':>9s} {'total':>9s} {'peak RSS':>10s} "
              f"{'stored logits':>14s}")
        for name, (rows, peak, out) in results.items():
            part = {k: statistics.median(r["time_s"].get(k, 0.0) for r in rows) for k in
                    ("teacher", "student", "sampling", "total")}
            stored = (out / "teacher-logits.pt").stat().st_size / 1e6 if (out / "teacher-logits.pt").exists() else 0
            print(f"{name:16s} {part['teacher']:9.3f} {part['student']:9.3f} {part['sampling']:9.3f} "
                  f"{part['total']:9.3f} {peak:8.0f}MB {stored:12.1f}MB")


if __name__ == "__main__":
    main()
