"""The summary of `rlvr study domains`: the transfer matrix (train set x held-out domain, the
gain in pass@1 and pass@n over the start model, mean ± std over seeds) and Guru's claims checked
on it, all computed from each run's held-out samples (eval-after/samples.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean, pstdev

from rlvr.plots import finish, plt
from rlvr.study.domains import COMMON, DOMAINS, RARE
from rlvr.study.summary import pass_curve, per_problem, step_tokens, verdict


def domain_scores(samples: Path, n: int) -> dict[str, dict[int, float]]:
    """held-out domain -> {1: pass@1, n: pass@n} of one evaluation."""
    problems = per_problem(samples)
    return {d: pass_curve(problems, [1, n], lambda domain, level, d=d: domain == d) for d in DOMAINS}


def gain_matrix(study_dir: Path, train_sets: dict[str, list[str]], seeds: list[int], n: int) -> dict:
    """{"start": {domain: {k: value}}, set: {domain: {k: [gain per seed]}}} for k in (1, n)."""
    start = domain_scores(study_dir / "initial" / "samples.jsonl", n)
    matrix: dict = {"start": start}
    for name in train_sets:
        runs = [domain_scores(study_dir / f"{name}-s{s}" / "eval-after" / "samples.jsonl", n) for s in seeds]
        matrix[name] = {d: {k: [run[d][k] - start[d][k] for run in runs] for k in (1, n)} for d in DOMAINS}
    return matrix


def cell(values: list[float]) -> str:
    """A gain in points: mean ± std over seeds."""
    text = f"{100 * mean(values):+.1f}"
    return text + (f" ± {100 * pstdev(values):.1f}" if len(values) > 1 else "")


def claims(matrix: dict, train_sets: dict[str, list[str]]) -> list[str]:
    """Guru's two findings as checks on pass@1 gains (a difference within the seeds' spread is inconclusive).
    Cross-domain gain of a domain: from the group set that leaves it out (math+code+science for the
    three rare domains, logic+simulation+tabular for the three common ones); in-domain gain: from
    its own single-domain run."""
    out = []
    sets = {tuple(sorted(v)): k for k, v in train_sets.items()}
    common, rare = sets.get(tuple(sorted(COMMON))), sets.get(tuple(sorted(RARE)))

    def gains(name: str, domains) -> list[float]:  # per seed, mean over the domains
        per_domain = [matrix[name][d][1] for d in domains]
        return [mean(seed) for seed in zip(*per_domain)]

    if common and rare:
        cross_common, cross_rare = gains(rare, COMMON), gains(common, RARE)
        sd = max(pstdev(cross_common), pstdev(cross_rare))
        out.append(f"- Math, code and science gain from training on other domains (logic+simulation+tabular): "
                   f"{verdict(mean(cross_common) > 0, mean(cross_common), pstdev(cross_common))} "
                   f"(mean pass@1 gain {100 * mean(cross_common):+.1f} points).")
        less = mean(cross_common) - mean(cross_rare)
        out.append(f"- Logic, simulation and tabular gain less from other domains (math+code+science) than "
                   f"math, code and science do: {verdict(less > 0, less, sd)} "
                   f"(cross-domain gain {100 * mean(cross_rare):+.1f} vs {100 * mean(cross_common):+.1f} points).")
    alone = [d for d in RARE if train_sets.get(d) == [d]]
    if common and alone:
        own = [mean(s) for s in zip(*[matrix[d][d][1] for d in alone])]
        cross = gains(common, alone)
        diff = [a - b for a, b in zip(own, cross)]
        out.append(f"- Logic, simulation and tabular need in-domain data (their own run beats math+code+science "
                   f"on them): {verdict(mean(diff) > 0, mean(diff), pstdev(diff))} (in-domain "
                   f"{100 * mean(own):+.1f} vs cross-domain {100 * mean(cross):+.1f} points).")
    if "all" in train_sets:
        singles = [d for d in DOMAINS if train_sets.get(d) == [d]]
        if singles:
            mixed = gains("all", singles)
            own = [mean(s) for s in zip(*[matrix[d][d][1] for d in singles])]
            diff = [a - b for a, b in zip(mixed, own)]
            out.append(f"- Training on all six matches in-domain training on each domain: "
                       f"{verdict(mean(diff) >= 0, mean(diff), pstdev(diff))} (all six {100 * mean(mixed):+.1f} vs "
                       f"each domain alone {100 * mean(own):+.1f} points on its own domain).")
    return out


def write_transfer_summary(study_dir: Path, train_sets: dict[str, list[str]], seeds: list[int]) -> Path:
    start_problems = per_problem(study_dir / "initial" / "samples.jsonl")
    n = min(v[2] for v in start_problems.values())
    matrix = gain_matrix(study_dir, train_sets, seeds, n)
    counts = {d: sum(1 for v in start_problems.values() if v[0] == d) for d in DOMAINS}
    tokens = {name: mean(sum(step_tokens(study_dir / f"{name}-s{s}")) for s in seeds) for name in train_sets}
    lines = ["# rlvr study domains", "",
             f"GRPO from the same start on each train set, {len(seeds)} seed(s) each, evaluated on all six held-out "
             f"domains ({', '.join(f'{d} {counts[d]}' for d in DOMAINS)} problems, {n} samples each). Cells: gain "
             "over the start model in points, mean ± std over seeds.", ""]
    for k in (1, n):
        lines += [f"## pass@{k} gain", "", "| train set | " + " | ".join(DOMAINS) + " | sampled tokens |",
                  "|---|" + "---|" * (len(DOMAINS) + 1),
                  f"| start (pass@{k}, %) | " + " | ".join(f"{100 * matrix['start'][d][k]:.1f}" for d in DOMAINS)
                  + " | - |"]
        lines += [f"| {name} | " + " | ".join(cell(matrix[name][d][k]) for d in DOMAINS) + f" | {tokens[name]:,.0f} |"
                  for name in train_sets]
        lines.append("")
    lines += ["## Guru's claims at this scale", "", *claims(matrix, train_sets), "", "![transfer](transfer.png)", ""]
    plot(study_dir / "transfer.png", matrix, list(train_sets))
    stats = {"n": n, "problems": counts, "seeds": seeds, "train_sets": train_sets, "sampled_tokens": tokens,
             "start": {d: {f"pass@{k}": v for k, v in matrix["start"][d].items()} for d in DOMAINS},
             "gain": {name: {d: {f"pass@{k}": v for k, v in matrix[name][d].items()} for d in DOMAINS}
                      for name in train_sets}}
    (study_dir / "study.json").write_text(json.dumps(stats, indent=1))
    path = study_dir / "study.md"
    path.write_text("\n".join(lines))
    return path


def plot(path: Path, matrix: dict, names: list[str]) -> None:
    values = [[100 * mean(matrix[name][d][1]) for d in DOMAINS] for name in names]
    bound = max(1.0, max(abs(v) for row in values for v in row))
    fig, ax = plt.subplots(figsize=(7.2, 0.45 * len(names) + 1.6))
    image = ax.imshow(values, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(DOMAINS)), DOMAINS)
    ax.set_yticks(range(len(names)), names)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="pass@1 gain (points)")
    finish(fig, ax, path, "held-out domain", "train set", legend_size=0)
