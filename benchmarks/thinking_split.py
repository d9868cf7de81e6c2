"""Per task, how often a hybrid model skips thinking and how often it is right when it thinks and
when it does not, from an evaluation's samples (`rlvr eval -o RUN_DIR`, or a training run's
`RUN_DIR/eval-before` / `eval-after`). What the stage-7 numbers of docs/main-job.md come from.

    python benchmarks/thinking_split.py runs/main/eval-before runs/main/eval-after
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from rlvr.sampling.thinking import skipped_thinking


def split(run_dir: Path) -> dict[str, dict[bool, list[float]]]:
    """task -> {skipped: [reward, ...]} over every sample of the run."""
    by_task: dict[str, dict[bool, list[float]]] = defaultdict(lambda: {True: [], False: []})
    for line in (run_dir / "samples.jsonl").read_text().splitlines():
        if line.strip():
            sample = json.loads(line)
            by_task[sample.get("task") or "-"][skipped_thinking(sample["text"])].append(sample["reward"])
    return by_task


def always_thinking(by_task: dict[str, dict[bool, list[float]]]) -> float:
    """pass@1 if every sample had thought, each task at the accuracy of its thinking samples
    (tasks with no thinking sample keep their rewards)."""
    total, count = 0.0, 0
    for rewards in by_task.values():
        n = len(rewards[True]) + len(rewards[False])
        thinking = rewards[False] or rewards[True]
        total += n * sum(thinking) / len(thinking)
        count += n
    return total / count


def percent(values: list[float]) -> str:
    return f"{100 * sum(values) / len(values):5.1f}" if values else "    -"


def main(run_dirs: list[str]) -> None:
    for run_dir in map(Path, run_dirs):
        by_task = split(run_dir)
        print(f"{run_dir}\n{'task':18s} {'right when thinking':>20s} {'right when skipping':>20s} {'skipped':>8s}")
        every: dict[bool, list[float]] = {True: [], False: []}
        for task, rewards in sorted(by_task.items()):
            for skipped in (True, False):
                every[skipped] += rewards[skipped]
            share = len(rewards[True]) / (len(rewards[True]) + len(rewards[False]))
            print(f"{task:18s} {percent(rewards[False]):>20s} {percent(rewards[True]):>20s} {share:8.2f}")
        share = len(every[True]) / (len(every[True]) + len(every[False]))
        print(f"{'all':18s} {percent(every[False]):>20s} {percent(every[True]):>20s} {share:8.2f}")
        print(f"pass@1 {percent(every[True] + every[False]).strip()}%; had every sample thought, at its task's "
              f"accuracy when thinking: {100 * always_thinking(by_task):.1f}%\n")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
