"""metrics.jsonl of a training run: one row per line, one shape per kind.

    {"kind": "step", "step": N, "reward_mean": ..., ...}          a training step's metrics
    {"kind": "eval", "step": N, "eval": LABEL, "pass@K": ..., "by_domain": {...}}
                                                                  a held-out evaluation: LABEL is
                                                                  "before", "step-N" or "after"

`read_metrics` is the one reader (report, study summary, resume, tests); `rows_until` reads
rollouts.jsonl for a resume. Rows written before
`kind` existed are read too: a row with a string `eval` is an evaluation, any other a step,
whose dict `eval` (a periodic evaluation) becomes an evaluation row of its own.
"""

from __future__ import annotations

import json
from pathlib import Path


def read_metrics(path: Path) -> list[dict]:
    """The rows of a metrics.jsonl (a run directory or the file), each with its `kind`."""
    path = path / "metrics.jsonl" if path.is_dir() else path
    if not path.exists():
        return []
    rows: list[dict] = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "kind" in row:
            rows.append(row)
        elif isinstance(row.get("eval"), str):
            rows.append({"kind": "eval", **row})
        else:
            periodic = row.pop("eval", None)
            rows.append({"kind": "step", **row})
            if isinstance(periodic, dict):
                rows.append({"kind": "eval", "step": row["step"], **periodic})
    return rows


def rows_until(path: Path, step: int) -> list[dict]:
    """The rows of a run's JSONL file (rollouts.jsonl) up to `step`; a line torn by a kill is dropped."""
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row["step"] <= step:
            rows.append(row)
    return rows


def steps_of(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["kind"] == "step"]


def evals_of(rows: list[dict]) -> list[dict]:
    return sorted((r for r in rows if r["kind"] == "eval"), key=lambda r: r["step"])
