"""From scored samples to metrics.json: per problem, then per task, per domain and overall.

Averaging is labeled: `overall` is the *micro* average over problems; `overall_macro` is the
*macro* average over tasks (each task weighs the same). Keys use the requested values of k:
`pass@1`, `pass@4`, `maj@4`, `avg@n` (mean correctness over all n samples), `bon_verifier`
(best-of-n by reward), `bon_certainty` (best-of-n by self-certainty with Borda voting, when the
sampler recorded certainty), `thinking_skipped` (the share of samples whose thinking block is
empty: a hybrid model answering without reasoning), `no_answer` (the share of samples from which
the verifier could extract no answer: no box, no code block, no `[ANSWER]`; a model that never
answers in the expected form scores 0 for that reason, not for wrong answers), and `pass@K_ci` =
[low, high] bootstrap 95% intervals.

Verifier errors (the sandbox did not start, a scoring worker died, bad ground truth) are no
verdict on the model, so those samples are left out: a problem's metrics use its n' samples
that got a verdict, pass@k and maj@k only where k <= n' (a problem with fewer is left out of
that k's average). `verifier_errors` counts the samples left out and `problems_without_verdict`
the problems left with none, per task, per domain and overall (sums, not means).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from rlvr.eval.metrics import bootstrap_ci, borda_pick, maj_at_k, pass_at_k
from rlvr.sampling.thinking import skipped_thinking


def problem_metrics(samples: list[dict[str, Any]], ks: list[int], borda_power: float = 0.5) -> dict[str, float]:
    """Metrics of one problem from its samples (ordered by `sample`) that got a verdict."""
    ordered = sorted(samples, key=lambda s: s["sample"])
    samples = [s for s in ordered if not s.get("error")]
    errors = {"verifier_errors": len(ordered) - len(samples), "problems_without_verdict": int(not samples)}
    n = len(samples)
    if n == 0:
        return errors
    correct = [bool(s["correct"]) for s in samples]
    clusters = [int(s.get("cluster", -1)) for s in samples]
    c = sum(correct)
    out: dict[str, float] = {"n": n, "c": c, "avg@n": c / n,
                             "thinking_skipped": sum(skipped_thinking(s.get("text", "")) for s in samples) / n,
                             "no_answer": sum(s.get("extracted") is None for s in samples) / n,
                             **errors}
    for k in (k for k in ks if k <= n):
        out[f"pass@{k}"] = pass_at_k(n, c, k)
        out[f"maj@{k}"] = maj_at_k(clusters, correct, k)
    rewards = [float(s["reward"]) for s in samples]
    out["bon_verifier"] = float(correct[int(np.argmax(rewards))])
    certainty = [s.get("self_certainty") for s in samples]
    if all(x is not None for x in certainty):
        pick = borda_pick(certainty, clusters, borda_power)
        out["bon_certainty"] = float(pick >= 0 and correct[pick])
    return out


_SUMMED = ("verifier_errors", "problems_without_verdict")


def _mean_of(rows: list[dict[str, float]], ks: list[int], with_ci: bool) -> dict[str, Any]:
    keys = list(dict.fromkeys(k for r in rows for k in r if k not in ("n", "c", *_SUMMED)))
    out: dict[str, Any] = {"problems": len(rows)}
    for key in keys:
        values = [r[key] for r in rows if key in r]
        if values:
            out[key] = float(np.mean(values))
    if with_ci:
        for k in ks:
            values = [r[f"pass@{k}"] for r in rows if f"pass@{k}" in r]
            if values:
                out[f"pass@{k}_ci"] = list(bootstrap_ci(values))
    for key in _SUMMED:
        out[key] = int(sum(r.get(key, 0) for r in rows))
    return out


def aggregate(per_problem: Iterable[tuple[str, str, dict[str, float]]], ks: list[int], n: int) -> dict[str, Any]:
    """per_problem: (domain, task, metrics) triples -> the metrics.json object."""
    rows = list(per_problem)
    if not rows:
        raise ValueError("no complete problems to aggregate")
    by_domain: dict[str, list] = defaultdict(list)
    by_task: dict[str, list] = defaultdict(list)
    for domain, task, metrics in rows:
        by_domain[domain].append(metrics)
        by_task[task].append(metrics)
    tasks = {t: _mean_of(m, ks, with_ci=True) for t, m in sorted(by_task.items())}
    macro_keys = list(dict.fromkeys(k for t in tasks.values() for k in t
                                    if k not in ("problems", *_SUMMED) and not k.endswith("_ci")))
    overall_macro = {key: float(np.mean([t[key] for t in tasks.values() if key in t])) for key in macro_keys}
    overall_macro["tasks"] = len(tasks)
    return {
        "n": n,
        "k": ks,
        "overall": {"averaging": "micro over problems", **_mean_of([m for _, _, m in rows], ks, with_ci=True)},
        "overall_macro": {"averaging": "macro over tasks", **overall_macro},
        "by_domain": {d: _mean_of(m, ks, with_ci=True) for d, m in sorted(by_domain.items())},
        "by_task": tasks,
    }


NO_ANSWER_WARNING = 0.5  # warn for a task where more than this share of samples had no answer to extract


def answer_warnings(metrics: dict[str, Any], threshold: float = NO_ANSWER_WARNING) -> list[str]:
    """One line per task where most samples had no answer the verifier could extract."""
    return [f"task {task}: {m['no_answer']:.0%} of samples have no answer the verifier could extract (no box, "
            f"no code block, no [ANSWER]): its score reflects the format, not the reasoning"
            for task, m in metrics.get("by_task", {}).items() if m.get("no_answer", 0.0) > threshold]
