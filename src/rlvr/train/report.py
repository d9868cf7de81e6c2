"""report.md and plots of a training run, from RUN_DIR/metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

from rlvr.plots import finish, plt
from rlvr.train.records import evals_of, read_metrics, steps_of

CURVES = {"reward_mean": "reward (batch)", "pass@1_batch": "pass@1 (batch)", "loss": "loss"}


def write_train_report(run_dir: Path, title: str = "rlvr train") -> Path:
    rows = read_metrics(run_dir)
    steps, evals = steps_of(rows), evals_of(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    # the batches' reward and pass@1 where the run has them (RL), else its loss (distillation)
    shown = [key for key in CURVES if key != "loss" and steps and key in steps[0]] or ["loss"]
    for key in shown if steps else []:
        axes[0].plot([r["step"] for r in steps if key in r], [r[key] for r in steps if key in r], label=CURVES[key])
    axes[0].set_xlabel("step")
    axes[0].set_title("training batches")
    axes[0].legend(fontsize=8)
    pass_keys = sorted({k for r in evals for k in r if k.startswith("pass@")}, key=lambda k: int(k[5:]))
    for key in pass_keys:
        axes[1].plot([r["step"] for r in evals], [r[key] for r in evals], marker="o", label=f"held-out {key}")
    axes[1].set_xlabel("step")
    axes[1].set_ylim(0, 1)
    axes[1].set_title("held-out evaluation" if evals else "held-out evaluation (none configured)")
    if pass_keys:
        axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run_dir / "training.png", dpi=110)
    plt.close(fig)
    lines = [f"# {title}", "", f"{len(steps)} steps logged; metrics in `metrics.jsonl`.", ""]
    table_rows, columns = before_after(run_dir)
    if table_rows:
        lines += ["## Held-out evaluation, before and after", "", "| domain | " + " | ".join(
            f"{c} before | {c} after" for c in columns) + " |", "|---|" + "---|---|" * len(columns)]
        lines += [f"| {domain} | " + " | ".join(f"{b:.3f} | {a:.3f}" for b, a in cells) + " |"
                  for domain, cells in table_rows]
        lines.append("")
    lines += ["![training](training.png)", ""]
    if plot_before_after(run_dir):
        lines += ["Held-out pass@k against k, per domain: dashed before training, solid after.", "",
                  "![before/after](before_after.png)", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def before_after(run_dir: Path) -> tuple[list[tuple[str, list[tuple[float, float]]]], list[str]]:
    """([(domain, [(before, after) per column])], columns) from the run's two held-out evaluations:
    pass@k for the first and last k, then the share of samples that skipped thinking (when the
    evaluations recorded it); empty when either is missing. The last row is "overall"."""
    paths = [run_dir / f"eval-{label}" / "metrics.json" for label in ("before", "after")]
    if not all(p.exists() for p in paths):
        return [], []
    before, after = (json.loads(p.read_text()) for p in paths)
    columns = [f"pass@{k}" for k in sorted({after["k"][0], after["k"][-1]})]
    columns += [key for key in ("thinking_skipped",) if key in after["overall"] and key in before["overall"]]
    rows = [(domain, [(before["by_domain"].get(domain, {}).get(key, float("nan")), m[key]) for key in columns])
            for domain, m in sorted(after["by_domain"].items())]
    rows.append(("overall", [(before["overall"][key], after["overall"][key]) for key in columns]))
    return rows, columns


def plot_before_after(run_dir: Path) -> bool:
    """pass@k vs k per domain from eval-before/ and eval-after/ (dashed = before)."""
    paths = [run_dir / f"eval-{label}" / "metrics.json" for label in ("before", "after")]
    if not all(p.exists() for p in paths):
        return False
    before, after = (json.loads(p.read_text()) for p in paths)
    ks = after["k"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for domain, m in after["by_domain"].items():
        line = ax.plot(ks, [m[f"pass@{k}"] for k in ks], marker="o", label=domain)[0]
        if domain in before["by_domain"]:
            ax.plot(ks, [before["by_domain"][domain][f"pass@{k}"] for k in ks], linestyle="--", marker="x",
                    color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_ylim(0, 1.02)
    finish(fig, ax, run_dir / "before_after.png", "k", "held-out pass@k")
    return True
