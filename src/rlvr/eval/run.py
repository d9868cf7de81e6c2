"""An evaluation run: sample (or read) completions, score, cluster answers, write, measure.

RUN_DIR/samples.jsonl holds one line per completion. All lines of a problem are written in a
single write and flushed, each tagged with `of` (the problem's sample count), so a run killed
at any point leaves complete problems plus at most one torn tail, which the next run drops
(rewriting the file atomically) before it skips the problems already complete.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr.eval.aggregate import aggregate, problem_metrics
from rlvr.eval.report import write_report
from rlvr.problems import Problem, RecordError, completions_of, iter_records, to_problem
from rlvr.scoring import Scorer


class EvalError(ValueError):
    """A user error (bad k, empty data, ...) with a one-line message that says what to do."""


@dataclass
class Completion:
    """One completion to score, with what the sampler knew about it (if anything)."""

    text: str
    logprob_sum: float | None = None
    n_tokens: int | None = None
    finish_reason: str | None = None
    self_certainty: float | None = None


@dataclass
class RunState:
    run_dir: Path
    done: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # problem id -> rows

    @property
    def samples_path(self) -> Path:
        return self.run_dir / "samples.jsonl"


SETTINGS_FILE = "settings.json"


def check_run_settings(run_dir: Path, settings: dict[str, Any]) -> None:
    """A run directory holds samples of one set of sampling settings: record them while it has
    no samples; a rerun (resume) with other settings is an EvalError saying what differs, since
    mixing the old samples with new ones would report neither."""
    path = run_dir / SETTINGS_FILE
    settings = json.loads(json.dumps(settings, default=str))  # as stored: paths as strings, tuples as lists
    samples = run_dir / "samples.jsonl"
    if path.exists() and samples.exists() and samples.stat().st_size > 0:
        before = json.loads(path.read_text())
        differ = [k for k in sorted(before.keys() | settings.keys()) if before.get(k) != settings.get(k)]
        if differ:
            was = ", ".join(f"{k}={before.get(k)!r}" for k in differ)
            now = ", ".join(f"{k}={settings.get(k)!r}" for k in differ)
            raise EvalError(f"{run_dir} holds samples made with {was}; this command asks {now}: give another "
                            "-o, or the same settings to resume")
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1))


def load_run(run_dir: Path) -> RunState:
    """Read what a previous run completed; drop torn or incomplete problems (atomically)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    state = RunState(run_dir)
    if not state.samples_path.exists():
        return state
    groups: dict[str, list[dict]] = defaultdict(list)
    torn = False
    with open(state.samples_path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                torn = True  # only the tail can be torn: everything is written in whole problems
                break
            groups[row["problem_id"]].append(row)
    complete = {pid: rows for pid, rows in groups.items() if len(rows) == rows[0]["of"]}
    if torn or len(complete) != len(groups):
        tmp = state.samples_path.with_suffix(".jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for rows in complete.values():
                f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        os.replace(tmp, state.samples_path)
    state.done = complete
    return state


def check_ks(ks: list[int], n: int) -> None:
    if not ks:
        raise EvalError("no k given: pass e.g. --k 1,4,16")
    bad = [k for k in ks if k < 1 or k > n]
    if bad:
        raise EvalError(f"k={bad} must be between 1 and n={n}: lower --k or raise --n")


def score_group(scorer: Scorer, problem: Problem, completions: list[Completion]) -> list[dict[str, Any]]:
    """Score a problem's completions and cluster their answers -> samples.jsonl rows."""
    scores = scorer.score_many([(problem, c.text) for c in completions])
    clusters = scorer.cluster(problem, [s.extracted if not s.error else None for s in scores])
    rows = []
    for i, (c, s, cl) in enumerate(zip(completions, scores, clusters)):
        rows.append({
            "problem_id": problem.id, "domain": problem.domain, "task": problem.task or problem.domain,
            "sample": i, "of": len(completions), "text": c.text,
            "reward": s.reward, "correct": s.correct, "extracted": s.extracted, "reason": s.reason,
            "error": s.error, "cluster": cl, "logprob_sum": c.logprob_sum, "n_tokens": c.n_tokens,
            "finish_reason": c.finish_reason, "self_certainty": c.self_certainty,
        })
    return rows


class SampleWriter:
    """Appends whole problems to samples.jsonl from one background thread, so scoring and
    writing overlap with sampling of the next batch."""

    def __init__(self, state: RunState, scorer: Scorer, on_done: Callable[[list[dict]], None] | None = None):
        self.state, self.scorer, self.on_done = state, scorer, on_done
        self._file = open(state.samples_path, "a", encoding="utf-8")
        self._thread = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future] = []

    def submit(self, problem: Problem, completions: list[Completion]) -> None:
        self._pending.append(self._thread.submit(self._finish, problem, completions))

    def _finish(self, problem: Problem, completions: list[Completion]) -> None:
        rows = score_group(self.scorer, problem, completions)
        self._file.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        self._file.flush()
        self.state.done[problem.id] = rows
        if self.on_done:
            self.on_done(rows)

    def close(self) -> None:
        try:
            for future in self._pending:
                future.result()
        finally:
            self._thread.shutdown(wait=True)
            self._file.close()


def finish_run(state: RunState, ks: list[int], title: str, borda_power: float = 0.5) -> dict[str, Any]:
    """metrics.json and report.md from everything complete in the run directory."""
    per_problem = []
    ns = set()
    for rows in state.done.values():
        ns.add(len(rows))
        per_problem.append((rows[0]["domain"], rows[0]["task"], problem_metrics(rows, ks, borda_power)))
    if not per_problem:
        raise EvalError("nothing was evaluated: the data had no problems")
    metrics = aggregate(per_problem, ks, n=min(ns))
    if len(ns) > 1:
        metrics["n_range"] = [min(ns), max(ns)]
    tmp = state.run_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2))
    os.replace(tmp, state.run_dir / "metrics.json")
    write_report(metrics, state.run_dir, title)
    return metrics


def evaluate_completions(
    groups: Iterable[tuple[Problem, list[Completion]]], run_dir: Path, ks: list[int], workers: int,
    progress: Callable[[list[dict]], None] | None = None,
) -> dict[str, Any]:
    """Score completions produced elsewhere (grouped by problem) and measure them."""
    state = load_run(run_dir)
    groups = list(groups)
    if not groups:
        raise EvalError("the completions file has no records: nothing to evaluate")
    check_ks(ks, min(len(c) for _, c in groups))
    with Scorer(workers=workers) as scorer:
        writer = SampleWriter(state, scorer, progress)
        try:
            for problem, completions in groups:
                if problem.id not in state.done:
                    writer.submit(problem, completions)
        finally:
            writer.close()
    return finish_run(state, ks, "rlvr eval (completions)")


def sample_with(sampler, params) -> Callable[[list[Problem]], list[list[Completion]]]:
    """The `sample_fn` of evaluate_sampler for any Sampler and SamplingParams."""

    def sample_fn(batch: list[Problem]) -> list[list[Completion]]:
        groups = sampler.sample([p.sampler_prompt() for p in batch], params)
        # n_tokens: a server's samples may carry log-probs but no token ids (one log-prob per token)
        return [[Completion(s.text, s.logprob_sum, len(s.token_ids) or len(s.logprobs) or None, s.finish_reason,
                            s.self_certainty) for s in group] for group in groups]

    return sample_fn


def evaluate_sampler(
    problems: list[Problem], sample_fn: Callable[[list[Problem]], list[list[Completion]]], run_dir: Path,
    ks: list[int], n: int, workers: int, batch_problems: int = 8,
    progress: Callable[[list[dict]], None] | None = None, shard: tuple[int, int] = (0, 1),
) -> dict[str, Any]:
    """Sample n completions per problem with `sample_fn` (a batch of problems at a time),
    scoring each batch in the background while the next one is sampled. `shard=(i, count)`:
    only batches i, i + count, ... (whole batches, so each is sampled as one process would
    sample it); the shards' samples are merged by `merge_shards`, and a shard returns {}."""
    check_ks(ks, n)
    if not problems:
        raise EvalError("the data has no problems: nothing to evaluate")
    state = load_run(run_dir)
    todo = [p for p in problems if p.id not in state.done]
    with Scorer(workers=workers) as scorer:
        writer = SampleWriter(state, scorer, progress)
        try:
            for start in range(shard[0] * batch_problems, len(todo), shard[1] * batch_problems):
                batch = todo[start : start + batch_problems]
                outputs = sample_fn(batch)
                if len(outputs) != len(batch):
                    raise RuntimeError(f"sampler returned {len(outputs)} groups for {len(batch)} problems")
                for problem, completions in zip(batch, outputs):
                    writer.submit(problem, completions)
        finally:
            writer.close()
    return finish_run(state, ks, "rlvr eval") if shard[1] == 1 else {}


def merge_shards(run_dir: Path, shard_dirs: list[Path], ks: list[int], title: str) -> dict[str, Any]:
    """One run from the shards' samples (rlvr train's held-out evaluation over several ranks)."""
    rows = [line for d in shard_dirs for line in (d / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    (run_dir / "samples.jsonl").write_text("".join(line + "\n" for line in rows), encoding="utf-8")
    return finish_run(load_run(run_dir), ks, title)


def load_completion_groups(path: Path) -> list[tuple[Problem, list[Completion]]]:
    """Lines as in `rlvr score` (a Problem plus `completion` or `completions`), grouped by
    problem id in first-seen order; optional per-completion lists `logprob_sums`,
    `self_certainty` are kept. A bad line raises EvalError naming file and line."""
    problems: dict[str, Problem] = {}
    groups: dict[str, list[Completion]] = defaultdict(list)
    for record in iter_records(path):
        if record.error:
            raise EvalError(f"{record.where}: {record.error}")
        try:
            problem = to_problem(record.data, record.where)
            texts = completions_of(record.data, record.where)
        except RecordError as e:
            raise EvalError(str(e)) from None
        logprobs = record.data.get("logprob_sums") or [None] * len(texts)
        certainty = record.data.get("self_certainty") or [None] * len(texts)
        problems.setdefault(problem.id, problem)
        groups[problem.id] += [Completion(t, logprob_sum=lp, self_certainty=sc)
                               for t, lp, sc in zip(texts, logprobs, certainty)]
    return [(problems[pid], groups[pid]) for pid in problems]
