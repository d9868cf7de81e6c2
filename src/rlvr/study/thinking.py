"""`rlvr study thinking`: NoThinking's claim on the shipped hybrid tiny reasoner. Each thinking
mode (on, the NoThinking prefill `off`, the trained non-thinking `empty`, budget:N) samples n
answers per held-out problem (`rlvr eval`'s sampler and scoring); pass@k for k = 1..n is set
against the tokens spent per problem (k x the mode's mean completion length), per domain, and
the claim is checked at equal token budgets: many non-thinking answers, one picked by the
verifier (pass@k) or, without one, by self-certainty with Borda voting, against fewer thinking ones.

Layout (resumable: each mode's evaluation is `rlvr eval`'s, which skips finished problems):
    MODE/               samples.jsonl and metrics.json of one mode (budget:N in budget-N/)
    study.md, study.json, pass_at_k_tokens.png
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import mean

from pydantic import Field

from rlvr.config import Strict
from rlvr.eval.metrics import borda_pick, pass_at_k
from rlvr.plots import finish, plt
from rlvr.study.domains import DOMAINS


class ThinkingStudyConfig(Strict):
    model: str = "tiny-reasoner"
    modes: list[str] = Field(default_factory=lambda: ["on", "empty", "off", "budget:16", "budget:48"])
    problems: int = 48  # held-out problems, spread over tasks and levels
    n: int = 64  # samples per problem and mode: pass@k for k up to n
    max_new_tokens: int = 160  # the answer budget of every mode
    temperature: float = 1.0
    seed: int = 0
    workers: int | None = None  # verifier processes
    output: Path = Path("runs/study-thinking")


def mode_dir(study: ThinkingStudyConfig, mode: str) -> Path:
    return study.output / mode.replace(":", "-")


def run_thinking_study(study: ThinkingStudyConfig, log=print) -> Path:
    """Every mode's evaluation, then the summary; returns the summary's path."""
    from rlvr.eval.run import evaluate_sampler, sample_with
    from rlvr.sampling.base import SamplingParams
    from rlvr.sampling.thinking import Thinking
    from rlvr.sampling.torch_backend import TorchSampler
    from rlvr.suites import load_suite, spread

    modes = [Thinking.parse(m) for m in study.modes]  # a bad mode fails before any sampling
    problems = spread(load_suite("synthetic-heldout"), study.problems)
    params = SamplingParams(n=study.n, temperature=study.temperature, max_new_tokens=study.max_new_tokens,
                            seed=study.seed)
    for name, mode in zip(study.modes, modes):
        if (mode_dir(study, name) / "metrics.json").exists():
            log(f"{name}: done")
            continue
        log(f"{name}: sampling {study.n} answers for each of {len(problems)} problems")
        sampler = TorchSampler.from_pretrained(study.model, device="cpu", batch_size=128, thinking=mode)
        evaluate_sampler(problems, sample_with(sampler, params), mode_dir(study, name), [1, study.n], study.n,
                         study.workers or 2, batch_problems=max(1, 128 // study.n))
    return write_thinking_summary(study)


def load_samples(path: Path) -> dict[str, dict]:
    """problem id -> its domain and per-sample correctness, tokens, certainty and answer cluster."""
    out: dict[str, dict] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("error"):
            continue
        p = out.setdefault(row["problem_id"], {"domain": row["domain"], "rows": []})
        p["rows"].append(row)
    for p in out.values():
        p["rows"].sort(key=lambda r: r["sample"])
    return out


def curves(problems: dict[str, dict], ks: list[int], domain: str | None = None) -> dict:
    """{"tokens": mean completion tokens per sample, "pass": {k: pass@k}, "borda": {k: accuracy of
    the answer picked by self-certainty with Borda voting among k samples (disjoint chunks)}}."""
    chosen = [p["rows"] for p in problems.values() if domain in (None, p["domain"])]
    if not chosen:
        return {"tokens": float("nan"), "pass": {}, "borda": {}}
    tokens = mean(r["n_tokens"] or 0 for rows in chosen for r in rows)
    passes, borda = {}, {}
    for k in ks:
        usable = [rows for rows in chosen if len(rows) >= k]
        passes[k] = mean(pass_at_k(len(rows), sum(r["correct"] for r in rows), k) for rows in usable)
        picks = []
        for rows in usable:
            for start in range(0, len(rows) - k + 1, k):
                part = rows[start : start + k]
                if any(r.get("self_certainty") is None for r in part):
                    continue
                pick = borda_pick([r["self_certainty"] for r in part], [int(r.get("cluster", -1)) for r in part])
                picks.append(pick >= 0 and bool(part[pick]["correct"]))
        if picks:
            borda[k] = mean(picks)
    return {"tokens": tokens, "pass": passes, "borda": borda}


def matched(base: dict, other: dict, k: int, n: int) -> tuple[int, float, float] | None:
    """At the token budget of `base`'s k samples: how many samples `other` affords (at most n)
    and both pass@k values -> (k_other, pass_base, pass_other); None without numbers."""
    if not base["pass"] or not other["pass"] or not other["tokens"]:
        return None
    k_other = max(1, min(n, math.floor(k * base["tokens"] / other["tokens"])))
    if k_other not in other["pass"]:
        return None
    return k_other, base["pass"][k], other["pass"][k_other]


def write_thinking_summary(study: ThinkingStudyConfig) -> Path:
    runs = {m: load_samples(mode_dir(study, m) / "samples.jsonl") for m in study.modes}
    n = min(len(p["rows"]) for r in runs.values() for p in r.values())
    ks = list(range(1, n + 1))
    domains = [d for d in DOMAINS if any(p["domain"] == d for r in runs.values() for p in r.values())]
    table = {m: {d: curves(runs[m], ks, d) for d in [None, *domains]} for m in study.modes}
    show = [k for k in (1, 4, 16, n) if k <= n]
    lines = ["# rlvr study thinking", "",
             f"{len(next(iter(runs.values())))} held-out problems, {n} samples each per mode, temperature "
             f"{study.temperature}, {study.max_new_tokens} answer tokens. pass@k in %; tokens = mean completion "
             "tokens per sample (thinking included).", "",
             "| mode | tokens/sample | " + " | ".join(f"pass@{k}" for k in show) + " | "
             + " | ".join(f"Borda@{k}" for k in show[1:]) + " |",
             "|---|---|" + "---|" * (2 * len(show) - 1)]
    for m in study.modes:
        c = table[m][None]
        lines.append(f"| {m} | {c['tokens']:.1f} | " + " | ".join(f"{100 * c['pass'][k]:.1f}" for k in show) + " | "
                     + " | ".join(f"{100 * c['borda'][k]:.1f}" if k in c["borda"] else "-" for k in show[1:]) + " |")
    lines += ["", "## At equal token budgets", "",
              "Thinking (`on`) with k samples against each other mode with as many samples as the same tokens buy "
              f"(at most {n}).", "", "| domain | on: k, pass@k | " + " | ".join(m for m in study.modes if m != "on")
              + " |", "|---|---|" + "---|" * (len(study.modes) - 1)]
    checks = {}
    if "on" in study.modes:
        for d in [None, *domains]:
            for k in (k for k in (1, 4, 16) if k <= n):
                cells = []
                for m in (m for m in study.modes if m != "on"):
                    got = matched(table["on"][d], table[m][d], k, n)
                    cells.append(f"k={got[0]}: {100 * got[2]:.1f}" if got else "-")
                    if got and m in ("off", "empty"):
                        checks.setdefault((d, k), []).append((m, *got))
                lines.append(f"| {d or 'overall'} | k={k}: {100 * table['on'][d]['pass'][k]:.1f} | "
                             + " | ".join(cells) + " |")
    lines += ["", "## NoThinking's claim at this scale", "", *claims(checks, n), "",
              "![pass@k against tokens](pass_at_k_tokens.png)", ""]
    plot(study.output / "pass_at_k_tokens.png", table, study.modes, domains, ks)
    stats = {"n": n, "modes": {m: {d or "overall": {"tokens": c["tokens"], "pass": c["pass"], "borda": c["borda"]}
                                   for d, c in table[m].items()} for m in study.modes}}
    (study.output / "study.json").write_text(json.dumps(stats, indent=1))
    path = study.output / "study.md"
    path.write_text("\n".join(lines))
    return path


def claims(checks: dict, n: int) -> list[str]:
    """At the largest k checked, does a non-thinking mode with the same tokens match or beat thinking?"""
    out = []
    for (domain, k), rows in sorted(checks.items(), key=lambda x: (x[0][0] or "", x[0][1])):
        if k != max(kk for d, kk in checks if d == domain):
            continue
        best = max(rows, key=lambda r: r[3])
        holds = best[3] >= best[2]
        out.append(f"- {domain or 'overall'}: at the tokens of {k} thinking samples (pass@{k} {100 * best[2]:.1f}), "
                   f"`{best[0]}` with {best[1]} samples reaches pass@{best[1]} {100 * best[3]:.1f}: "
                   f"{'**reproduced**' if holds else '**not reproduced**'}"
                   + (f" (capped at n = {n} samples: fewer tokens than thinking spent)" if best[1] == n else "") + ".")
    return out


def plot(path: Path, table: dict, modes: list[str], domains: list[str], ks: list[int]) -> None:
    panels = [None, *domains]
    cols = 4
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax, d in zip(axes.flat, panels):
        for m in modes:
            c = table[m][d]
            if c["pass"]:
                ax.plot([k * c["tokens"] for k in ks], [c["pass"][k] for k in ks], label=m)
        ax.set_xscale("log", base=2)
        ax.set_ylim(0, 1.02)
        ax.set_title(d or "overall", fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    finish(fig, axes.flat[len(panels) - 1], path, "tokens per problem (k x tokens/sample)", "pass@k", legend_size=0)
