"""pass@k-first metrics: pure functions over per-problem sample results.

Every function takes plain lists/arrays and returns numbers; the formulas are in
../shared/ALGORITHMS.md ("Scoring and evaluation").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021), stable form.

    pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1..n} (1 - k/i); 1.0 if n - c < k.

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 4), round(pass_at_k(10, 2, 3), 4)
    (0.25, 1.0, 0.5333)
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def majority_pick(clusters: Sequence[int]) -> int:
    """Index of the sample whose answer cluster is largest; ties go to the cluster that
    appears first (deterministic). `clusters[i]` is sample i's answer cluster (-1: no answer,
    never picked unless every sample has none, then -1 is returned)."""
    counts: dict[int, int] = {}
    first: dict[int, int] = {}
    for i, cluster in enumerate(clusters):
        if cluster < 0:
            continue
        counts[cluster] = counts.get(cluster, 0) + 1
        first.setdefault(cluster, i)
    if not counts:
        return -1
    best = max(counts, key=lambda cl: (counts[cl], -first[cl]))
    return first[best]


def maj_at_k(clusters: Sequence[int], correct: Sequence[bool], k: int) -> float:
    """maj@k: the most frequent answer among k samples is correct.

    With n >= k samples, averaged over the floor(n/k) disjoint consecutive blocks of k
    (block j = samples j*k .. j*k+k-1), which uses all samples when k divides n.

    >>> maj_at_k([0, 1, 1, 2], [True, False, False, False], 4)
    0.0
    >>> maj_at_k([0, 0, 1, 0], [True, True, False, True], 2)  # block 2 ties 1-1: first answer wins
    0.5
    """
    n = len(clusters)
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    blocks = n // k
    wins = 0
    for b in range(blocks):
        pick = majority_pick(clusters[b * k : (b + 1) * k])
        wins += pick >= 0 and bool(correct[b * k + pick])
    return wins / blocks


def self_certainty(logsumexp: float, mean_logit: float, vocab_size: int) -> float:
    """Per-token self-certainty KL(U || p) = -(1/V) sum_j log p_j - log V (Kang et al. 2025),
    from the token's logits: log p_j = z_j - logsumexp(z), so it is
    logsumexp(z) - mean(z) - log V. Higher means more confident; 0 for a uniform p.

    >>> self_certainty(math.log(4), 0.0, 4)  # uniform over 4 tokens
    0.0
    """
    return logsumexp - mean_logit - math.log(vocab_size)


def borda_pick(certainty: Sequence[float], clusters: Sequence[int], power: float = 0.5) -> int:
    """Best-of-N by self-certainty with Borda voting: rank outputs by certainty (descending);
    rank r (0-based) gives (N - r)^power votes to its answer; return the index of the first
    (most certain) sample of the answer with most votes. power = 0 is plain majority.

    >>> borda_pick([0.9, 0.1, 0.2], [0, 1, 1], power=0.5)  # 3^.5=1.73 vs 2^.5+1=2.41
    2
    >>> borda_pick([0.9, 0.1, 0.2], [0, 1, 1], power=2.0)  # 9 vs 4+1
    0
    """
    order = sorted(range(len(certainty)), key=lambda i: (-certainty[i], i))
    votes: dict[int, float] = {}
    best_member: dict[int, int] = {}
    n = len(order)
    for rank, i in enumerate(order):
        if clusters[i] < 0:
            continue
        votes[clusters[i]] = votes.get(clusters[i], 0.0) + (n - rank) ** power
        best_member.setdefault(clusters[i], i)
    if not votes:
        return -1
    top = max(votes, key=lambda cl: (votes[cl], -order.index(best_member[cl])))
    return best_member[top]


def bootstrap_ci(
    values: Sequence[float], n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-problem values (resampling problems).

    >>> bootstrap_ci([1.0, 1.0, 1.0])
    (1.0, 1.0)
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_boot, data.size))].mean(axis=1)
    return float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))
