"""Training on two ranks on one machine, side by side with one process, and what the ranks send.

Part 1: `rlvr train` for a few steps of the main job's shape (16 prompts x 8 rollouts, 128 new
tokens, the shipped tiny reasoner, no dynamic sampling, no held-out evaluation) as 1 rank x 2
threads, 2 ranks x 1 thread replicated (gradients all-reduced) and 2 ranks x 1 thread with FSDP2
(weights, gradients and AdamW state sharded), alternating; the medians of steps 2..N from rank 0's
metrics.jsonl: sampling, scoring, learning, the collectives' waiting outside FSDP2, and the bytes
of every collective per step (an all-reduce counts its buffer, a gather the gathered weights, a
reduce-scatter the gradients before scattering).

Part 2: the bytes of one optimizer step (2 ranks, the same 32 rows of 64 tokens, microbatches of
8) for random Qwen2 models of growing width, replicated and sharded: how the traffic grows with
the model.

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
WIDTHS = (128, 256, 512)  # hidden sizes of part 2's models (4 layers)


def run(ranks: int, threads: int, sharding: str, steps: int, out: Path) -> list[dict]:
    config = {"output": str(out), "steps": steps, "rollout": {"dynamic_sampling": False},
              "learner": {"sharding": sharding},
              "evaluation": {"every": 0, "before": False, "suite": None}, "checkpointing": {"every": steps}}
    path = out.with_suffix(".yaml")
    path.write_text(json.dumps(config))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-m", "rlvr.cli", "train", str(path), "--overwrite", "--nproc", str(ranks)],
                   check=True, capture_output=True, text=True, env=env)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["kind"] == "step"][1:]


def step_times(steps: int) -> None:
    shapes = {"1 rank x 2 threads": (1, 2, "replicate"), "2 ranks, replicate": (2, 1, "replicate"),
              "2 ranks, fsdp2": (2, 1, "fsdp2")}
    with tempfile.TemporaryDirectory() as tmp:
        rows = {name: run(r, t, s, steps, Path(tmp) / name.replace(" ", "_").replace(",", ""))
                for name, (r, t, s) in shapes.items()}
    print(f"rlvr train, main job's shape, steps 2-{steps}, medians (seconds; rank 0's view)")
    print(f"{'':20s} " + " ".join(f"{p:>14s}" for p in PARTS) + f" {'MB sent':>9s} {'vs 1 rank':>9s}")
    one = statistics.median(r["time_s"]["total"] for r in rows["1 rank x 2 threads"])
    for name, steps_ in rows.items():
        median = {p: statistics.median(r["time_s"].get(p, 0.0) for r in steps_) for p in PARTS}
        sent = statistics.median(r.get("comm_bytes", 0) for r in steps_) / 1e6
        print(f"{name:20s} " + " ".join(f"{median[p]:14.3f}" for p in PARTS) +
              f" {sent:9.1f} {median['total'] / one:8.2f}x")


def _bytes_worker(rank: int, world: int, init_file: str, out: str) -> None:
    import torch
    import torch.distributed as dist
    from transformers import AutoTokenizer

    from rlvr.config import AlgoConfig
    from rlvr.models import model_path
    from rlvr.models.tiny import build_model
    from rlvr.problems import Problem, Rollout, Score
    from rlvr.rollouts import Group
    from rlvr.train.distributed import Ranks
    from rlvr.train.learner import UpdatePlan, build_batch, update_policy
    from rlvr.train.sharding import make_policy

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    tokenizer = AutoTokenizer.from_pretrained(model_path("tiny-reasoner"))
    problem = Problem(id="p", domain="math", prompt="q", answer="1")
    groups = [Group(problem, [Rollout(problem_id="p", prompt_ids=[1, 2 + g, 3], completion_ids=[(7 * g + j) % 500
                              for j in range(61)], text="", logprobs=[-1.0] * 61,
                              score=Score(reward=float(i % 2), correct=bool(i % 2))) for i in range(4)], [False] * 4)
              for g in range(4)]  # this rank's 16 rows (32 over both)
    algo = AlgoConfig()
    results = []
    for width in WIDTHS:
        for sharding, reshard in (("replicate", True), ("fsdp2", True), ("fsdp2", False)):
            ranks = Ranks(rank, world)
            policy = make_policy(build_model(tokenizer, hidden=width, layers=4, heads=4), ranks, sharding, reshard)
            params = sum(p.numel() for p in policy.full.parameters())
            optimizer = torch.optim.AdamW(policy.trainer.parameters(), lr=1e-4)
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
            batch = build_batch(groups, algo, False, 0)
            plan = UpdatePlan(microbatch=8, max_new_tokens=64)
            learn = update_policy(policy.trainer, optimizer, scheduler, batch, algo, plan, ranks=ranks)
            name = sharding if sharding == "replicate" or reshard else "fsdp2, keep"
            results.append((width, params, name, learn["comm_bytes"]))
    if rank == 0:
        Path(out).write_text(json.dumps(results))
    dist.destroy_process_group()


def bytes_by_size() -> None:
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bytes.json"
        mp.start_processes(_bytes_worker, args=(2, str(Path(tmp) / "init"), str(out)), nprocs=2, start_method="spawn")
        results = json.loads(out.read_text())
    print("\none optimizer step, 2 ranks, 32 rows x 64 tokens, microbatches of 8 (2 per rank):")
    print(f"{'hidden':>6s} {'parameters':>11s} {'sharding':>12s} {'MB sent':>9s} {'bytes/param':>11s}")
    for width, params, sharding, sent in results:
        print(f"{width:6d} {params:11,d} {sharding:>12s} {sent / 1e6:9.2f} {sent / params:11.1f}")
    print("(fsdp2, keep: learner.reshard_after_forward false)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--skip-train", action="store_true", help="part 2 only")
    args = parser.parse_args()
    if not args.skip_train:
        step_times(args.steps)
    bytes_by_size()


if __name__ == "__main__":
    main()
