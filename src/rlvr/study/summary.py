"""The summary of `rlvr study explore`: tables, plots and the checks of the papers' claims, all
computed from the held-out samples of each run (samples.jsonl) and their training metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from statistics import mean, pstdev

from rlvr.eval.metrics import pass_at_k
from rlvr.plots import finish, plt
from rlvr.train.records import read_metrics, steps_of

LEVEL = re.compile(r"-L(\d)-")


def per_problem(samples: Path) -> dict[str, tuple[str, int, int, int]]:
    """problem id -> (domain, level, n, correct) from an evaluation's samples.jsonl."""
    counts: dict[str, list] = {}
    for line in samples.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        level = LEVEL.search(row["problem_id"])
        entry = counts.setdefault(row["problem_id"], [row["domain"], int(level.group(1)) if level else 0, 0, 0])
        entry[2] += 1
        entry[3] += bool(row["correct"])
    return {pid: tuple(v) for pid, v in counts.items()}


def pass_curve(problems: dict, ks: list[int], keep=lambda domain, level: True) -> dict[int, float]:
    chosen = [(n, c) for domain, level, n, c in problems.values() if keep(domain, level)]
    return {k: mean(pass_at_k(n, c, k) for n, c in chosen) if chosen else float("nan") for k in ks}


def spread(values: list[float]) -> str:
    return f"{100 * mean(values):.1f} ± {100 * pstdev(values):.1f}" if len(values) > 1 else f"{100 * values[0]:.1f}"


def step_tokens(run_dir: Path) -> list[int]:
    """Tokens sampled by each training step of a run."""
    return [row["sampled_tokens"] for row in steps_of(read_metrics(run_dir))]


def entropy_curve(run_dir: Path) -> tuple[list[int], list[float]]:
    tokens, entropy, spent = [], [], 0
    for row in steps_of(read_metrics(run_dir)):
        spent += row["sampled_tokens"]
        if "entropy" in row:
            tokens.append(spent)
            entropy.append(row["entropy"])
    return tokens, entropy


def write_summary(study_dir: Path, methods: list[str], seeds: list[int]) -> Path:
    initial = per_problem(study_dir / "initial" / "samples.jsonl")
    n = min(v[2] for v in initial.values())
    ks = list(range(1, n + 1))
    big = [k for k in (1, 4, 8, n) if k <= n]
    runs = {m: {s: per_problem(study_dir / f"{m}-s{s}" / "eval-after" / "samples.jsonl") for s in seeds}
            for m in methods}
    unsolved = {pid for pid, (_, _, _, c) in initial.items() if c == 0}
    levels = sorted({v[1] for v in initial.values()})
    domains = sorted({v[0] for v in initial.values()})
    curves = {m: {s: pass_curve(runs[m][s], ks) for s in seeds} for m in methods}
    start = pass_curve(initial, ks)
    stats: dict = {"n": n, "problems": len(initial), "initial": {f"pass@{k}": start[k] for k in big}, "methods": {}}

    lines = ["# rlvr study explore", "", f"{len(initial)} held-out problems, {n} samples each; "
             f"{len(seeds)} seeds per method; mean ± std over seeds, in %.", "",
             "| method | " + " | ".join(f"pass@{k}" for k in big) + " | solved, of the "
             f"{len(unsolved)} unsolved at pass@{n} before | lost | final entropy | sampled tokens | steps |",
             "|---|" + "---|" * (len(big) + 5),
             "| start | " + " | ".join(f"{100 * start[k]:.1f}" for k in big) + " | - | - | - | - | - |"]
    for m in methods:
        gains = [sum(runs[m][s].get(pid, (0, 0, 0, 0))[3] > 0 for pid in unsolved) for s in seeds]
        lost = [sum(1 for pid, v in initial.items() if v[3] > 0 and runs[m][s].get(pid, (0, 0, 0, 0))[3] == 0)
                for s in seeds]
        final_entropy = [entropy_curve(study_dir / f"{m}-s{s}")[1][-1:] or [float("nan")] for s in seeds]
        spent = [step_tokens(study_dir / f"{m}-s{s}") for s in seeds]
        stats["methods"][m] = {f"pass@{k}": [curves[m][s][k] for s in seeds] for k in big}
        stats["methods"][m].update(gained=gains, lost=lost, sampled_tokens=[sum(t) for t in spent],
                                   steps=[len(t) for t in spent])
        lines.append(f"| {m} | " + " | ".join(spread([curves[m][s][k] for s in seeds]) for k in big)
                     + f" | {mean(gains):.1f} | {mean(lost):.1f} | {mean(e[0] for e in final_entropy):.3f}"
                     + f" | {mean(sum(t) for t in spent):,.0f} | {mean(len(t) for t in spent):.1f} |")
    for title, groups, key in (("difficulty level", levels, lambda g: lambda d, lv: lv == g),
                               ("domain", domains, lambda g: lambda d, lv: d == g)):
        lines += ["", f"## pass@1 / pass@{n} by {title}", "",
                  "| method | " + " | ".join(f"{g}" for g in groups) + " |", "|---|" + "---|" * len(groups)]
        rows = [("start", {g: [pass_curve(initial, [1, n], key(g))] for g in groups})]
        rows += [(m, {g: [pass_curve(runs[m][s], [1, n], key(g)) for s in seeds] for g in groups}) for m in methods]
        for name, cells in rows:
            lines.append(f"| {name} | " + " | ".join(
                f"{spread([c[1] for c in cells[g]])} / {spread([c[n] for c in cells[g]])}" for g in groups) + " |")
            stats.setdefault(f"by_{title.split()[-1]}", {})[name] = {
                str(g): {"pass@1": [c[1] for c in cells[g]], f"pass@{n}": [c[n] for c in cells[g]]} for g in groups}
    lines += ["", "## The papers' claims at this scale", "", *claims(stats, n, levels[-1] if levels else 0), "",
              "![pass@k](pass_at_k.png)", "", "![entropy](entropy.png)", ""]
    plot(study_dir, methods, seeds, ks, curves, start)
    (study_dir / "study.json").write_text(json.dumps(stats, indent=1))
    path = study_dir / "study.md"
    path.write_text("\n".join(lines))
    return path


def verdict(holds: bool, difference: float, spread: float) -> str:
    """Reproduced / not reproduced; inconclusive when the difference is within the spread over seeds."""
    if abs(difference) <= spread:
        return "**inconclusive** (difference within the spread over seeds)"
    return "**reproduced**" if holds else "**not reproduced**"


def claims(stats: dict, n: int, hardest: int) -> list[str]:
    """Each claim: reproduced or not, with the numbers it rests on (means over seeds; a
    difference no larger than the seeds' standard deviation is reported as inconclusive)."""
    out, methods, start = [], stats["methods"], stats["initial"]
    avg = lambda m, key: mean(methods[m][key])  # noqa: E731
    sd = lambda m, key: pstdev(methods[m][key])  # noqa: E731
    pk = f"pass@{n}"
    if "grpo" in methods:
        p1, pn = avg("grpo", "pass@1"), avg("grpo", pk)
        narrows = p1 > start["pass@1"] and pn - p1 < start[pk] - start["pass@1"]
        out.append(f"- RLVR raises pass@1 and narrows the gap to {pk}: "
                   f"{verdict(narrows, p1 - start['pass@1'], sd('grpo', 'pass@1'))} (GRPO pass@1 "
                   f"{100 * start['pass@1']:.1f} -> {100 * p1:.1f}, gap {100 * (start[pk] - start['pass@1']):.1f} -> "
                   f"{100 * (pn - p1):.1f}).")
        out.append(f"- Plain GRPO lowers {pk}: {verdict(pn < start[pk], pn - start[pk], sd('grpo', pk))} "
                   f"({100 * start[pk]:.1f} -> {100 * pn:.1f}).")
    if "dph" in methods and "grpo" in methods:
        d, g = avg("dph", pk), avg("grpo", pk)
        out.append(f"- DPH-RL (forward KL) keeps {pk} at or above the start where GRPO does not: "
                   f"{verdict(d >= start[pk] > g, d - g, max(sd('dph', pk), sd('grpo', pk)))} (start "
                   f"{100 * start[pk]:.1f}, DPH-RL {100 * d:.1f}, GRPO {100 * g:.1f}).")
    level = stats.get("by_level", {})
    if "dars" in level and "grpo" in level:
        dars, grpo = level["dars"][str(hardest)][pk], level["grpo"][str(hardest)][pk]
        d, g = mean(dars), mean(grpo)
        out.append(f"- DARS raises {pk} on the hardest level (L{hardest}) more than GRPO at equal budget: "
                   f"{verdict(d > g, d - g, max(pstdev(dars), pstdev(grpo)))} "
                   f"(DARS {100 * d:.1f}, GRPO {100 * g:.1f}).")
    for m in ("guide", "ampo"):
        if m in methods and "grpo" in methods:
            ours, base = avg(m, "gained"), avg("grpo", "gained")
            out.append(f"- {m} solves more problems that had 0/{n} at the start than GRPO: "
                       f"{verdict(ours > base, ours - base, max(sd(m, 'gained'), sd('grpo', 'gained')))} "
                       f"({ours:.1f} vs {base:.1f} problems).")
    return out


def plot(study_dir: Path, methods: list[str], seeds: list[int], ks: list[int], curves: dict, start: dict) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.plot(ks, [start[k] for k in ks], color="black", linestyle="--", label="start")
    for m in methods:
        values = [mean(curves[m][s][k] for s in seeds) for k in ks]
        low = [min(curves[m][s][k] for s in seeds) for k in ks]
        high = [max(curves[m][s][k] for s in seeds) for k in ks]
        line = ax.plot(ks, values, label=m)[0]
        ax.fill_between(ks, low, high, color=line.get_color(), alpha=0.12)
    ax.set_xscale("log", base=2)
    finish(fig, ax, study_dir / "pass_at_k.png", "k", "held-out pass@k", legend_size=7)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for m in methods:
        for i, s in enumerate(seeds):
            tokens, entropy = entropy_curve(study_dir / f"{m}-s{s}")
            ax.plot(tokens, entropy, color=f"C{methods.index(m)}", alpha=0.7, label=m if i == 0 else None)
    finish(fig, ax, study_dir / "entropy.png", "sampled tokens", "policy entropy (nats/token)", legend_size=7)
