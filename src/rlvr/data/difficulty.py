"""Difficulty: each problem's pass rate under a reference model, and the band worth training on.

`rlvr data difficulty` samples n completions per problem with any engine `rlvr eval` has (a local
model through torch or vLLM, or a server), scores them, and adds the pass rate (correct / scored,
verifier errors left out) and pass@k to each row; the samples live in OUT.run/ as an
`rlvr eval` run, so a rerun resumes. `rlvr data filter` keeps the rows with
min_pass <= pass_rate < max_pass: Guru kept 1e-5 <= p < 0.9 (dropping what the reference model
never solves, and what it solves 90% of the time or more).
"""

from __future__ import annotations

from pathlib import Path

from rlvr.eval.metrics import pass_at_k
from rlvr.eval.run import load_run

# Guru's buckets of pass rates, in the order its figures show them
BUCKETS = ("0", "(0, 0.2)", "[0.2, 0.4)", "[0.4, 0.6)", "[0.6, 0.8)", "[0.8, 1)", "1")


def bucket(rate: float) -> str:
    if rate <= 0:
        return BUCKETS[0]
    if rate >= 1:
        return BUCKETS[-1]
    return BUCKETS[1 + min(int(rate / 0.2), 4)]


def pass_rates(run_dir: Path, ks: list[int]) -> dict[str, dict[str, float]]:
    """Problem id -> {"pass_rate", "pass@k"..., "scored"} from an evaluation run's samples."""
    out = {}
    for problem_id, rows in load_run(run_dir).done.items():
        scored = [r for r in rows if not r.get("error")]
        if not scored:
            continue
        c = sum(bool(r["correct"]) for r in scored)
        out[problem_id] = {"pass_rate": c / len(scored), "scored": len(scored),
                           **{f"pass@{k}": pass_at_k(len(scored), c, k) for k in ks if k <= len(scored)}}
    return out


def plot_histogram(rates: list[tuple[str, float]], path: Path) -> None:
    """Bars of the pass-rate buckets, one group per domain (share of the domain's problems)."""
    from rlvr.plots import plt

    domains = sorted({d for d, _ in rates})
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(domains), 1)
    for i, domain in enumerate(domains):
        values = [r for d, r in rates if d == domain]
        shares = [sum(bucket(r) == b for r in values) / len(values) for b in BUCKETS]
        ax.bar([x + i * width for x in range(len(BUCKETS))], shares, width, label=f"{domain} ({len(values)})")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(BUCKETS))], BUCKETS)
    ax.set_xlabel("pass rate of the reference model")
    ax.set_ylabel("share of the domain's problems")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
