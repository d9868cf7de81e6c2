"""report.md and the pass@k plot of an evaluation run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlvr.eval.aggregate import answer_warnings
from rlvr.plots import plt


def plot_pass_at_k(metrics: dict[str, Any], path: Path) -> None:
    """pass@k against k (log2 axis), one line per domain and overall, with 95% CI bands."""
    ks = metrics["k"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    series = {**metrics["by_domain"], "overall": metrics["overall"]}
    for name, m in series.items():
        nan = [float("nan")] * 2  # a k no problem of this series had enough verdicts for
        ys = [m.get(f"pass@{k}", nan[0]) for k in ks]
        lo = [m.get(f"pass@{k}_ci", nan)[0] for k in ks]
        hi = [m.get(f"pass@{k}_ci", nan)[1] for k in ks]
        style = {"color": "black", "linewidth": 2.2} if name == "overall" else {}
        line = ax.plot(ks, ys, marker="o", label=f"{name} ({m['problems']})", **style)[0]
        ax.fill_between(ks, lo, hi, alpha=0.15, color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("pass@k")
    ax.set_title(f"pass@k, n = {metrics['n']} samples per problem (95% bootstrap CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _row(name: str, m: dict[str, Any], ks: list[int]) -> str:
    def number(key: str) -> str:
        return f"{m[key]:.3f}" if key in m else "-"

    cells = [name, str(m.get("problems", m.get("tasks", "")))]
    for k in ks:
        ci = m.get(f"pass@{k}_ci")
        cells.append(number(f"pass@{k}") + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""))
    cells += [number(f"maj@{k}") for k in ks]
    cells += [number("avg@n"), number("bon_verifier"), number("bon_certainty"), number("no_answer")]
    cells.append(str(m.get("verifier_errors", "-")))
    return "| " + " | ".join(cells) + " |"


def write_report(metrics: dict[str, Any], run_dir: Path, title: str = "rlvr eval") -> Path:
    """Write report.md and pass_at_k.png into run_dir; returns the report path."""
    ks = metrics["k"]
    plot_pass_at_k(metrics, run_dir / "pass_at_k.png")
    header = ["", "problems", *[f"pass@{k} [95% CI]" for k in ks], *[f"maj@{k}" for k in ks],
              "avg@n", "best-of-n (verifier)", "best-of-n (certainty)", "no answer extracted",
              "verifier errors (left out)"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    warnings = answer_warnings(metrics)
    lines = [f"# {title}", "", f"n = {metrics['n']} samples per problem; k = {ks}.", "",
             *([f"**Warning:** {w}." for w in warnings] + [""] if warnings else []),
             "## Overall", "", *table,
             _row("overall (micro over problems)", metrics["overall"], ks),
             _row("overall (macro over tasks)", metrics["overall_macro"], ks),
             "", "## By domain", "", *table]
    lines += [_row(d, m, ks) for d, m in metrics["by_domain"].items()]
    lines += ["", "## By task", "", *table]
    lines += [_row(t, m, ks) for t, m in metrics["by_task"].items()]
    lines += ["", "![pass@k](pass_at_k.png)", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
