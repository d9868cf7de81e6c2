"""Advantage estimators: `(rewards [B], group_ids [B], cfg) -> advantages [B]`.

B rollouts; rollouts of the same prompt share a group id. Formulas: ../shared/ALGORITHMS.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import torch

from rlvr.algo.registry import Registry


@dataclass(frozen=True)
class AdvantageConfig:
    eps: float = 1e-6  # GRPO: added to the group std
    k: int = 4  # pass@k advantage: the k being optimized
    correct_threshold: float = 0.5  # pass@k advantage: reward > threshold counts as correct


ADVANTAGES: Registry = Registry("advantage estimator")


def _group_stats(rewards: torch.Tensor, group_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per-rollout group mean, unbiased-free (population) std and size. Shapes [B]."""
    _, inverse, counts = torch.unique(group_ids, return_inverse=True, return_counts=True)
    sums = torch.zeros(len(counts), dtype=rewards.dtype, device=rewards.device).index_add_(0, inverse, rewards)
    means = sums / counts
    sq = torch.zeros_like(sums).index_add_(0, inverse, (rewards - means[inverse]) ** 2)
    std = (sq / counts).sqrt()
    return means[inverse], std[inverse], counts[inverse].to(rewards.dtype)


@ADVANTAGES.register("grpo")
def grpo(rewards: torch.Tensor, group_ids: torch.Tensor, cfg: AdvantageConfig = AdvantageConfig()) -> torch.Tensor:
    """GRPO (Shao et al. 2024): A_i = (r_i - mean(r_group)) / (std(r_group) + eps), population std."""
    mean, std, _ = _group_stats(rewards, group_ids)
    return (rewards - mean) / (std + cfg.eps)


@ADVANTAGES.register("dr_grpo")
def dr_grpo(rewards: torch.Tensor, group_ids: torch.Tensor, cfg: AdvantageConfig = AdvantageConfig()) -> torch.Tensor:
    """Dr. GRPO (Liu et al. 2025): A_i = r_i - mean(r_group), no std normalization."""
    mean, _, _ = _group_stats(rewards, group_ids)
    return rewards - mean


@ADVANTAGES.register("rloo")
def rloo(rewards: torch.Tensor, group_ids: torch.Tensor, cfg: AdvantageConfig = AdvantageConfig()) -> torch.Tensor:
    """RLOO (Ahmadian et al. 2024): A_i = r_i - mean of the other N-1 rewards
    = N/(N-1) * (r_i - mean(r_group)); 0 for a group of one."""
    mean, _, n = _group_stats(rewards, group_ids)
    return torch.where(n > 1, (rewards - mean) * n / (n - 1).clamp(min=1), torch.zeros_like(rewards))


@ADVANTAGES.register("pass_at_k")
def pass_at_k(rewards: torch.Tensor, group_ids: torch.Tensor, cfg: AdvantageConfig = AdvantageConfig()) -> torch.Tensor:
    """Pass@k training advantage, analytic form (Chen et al. 2025, RUCAIBox).

    Per group of n rollouts with n_neg wrong: R = 1 - C(n_neg, k)/C(n, k), s = sqrt(R(1-R)) + 1e-6,
    A_pos = (1 - R)/s, A_neg = (1 - R - C(n_neg-1, k-1)/C(n-1, k-1))/s. All-equal groups get 0.
    """
    out = torch.zeros_like(rewards)
    correct = rewards > cfg.correct_threshold
    for gid in torch.unique(group_ids):
        idx = (group_ids == gid).nonzero()[:, 0]
        n, n_neg = len(idx), int((~correct[idx]).sum())
        k = min(cfg.k, n)
        if n_neg in (0, n):
            continue
        big_r = 1 - comb(n_neg, k) / comb(n, k)
        s = (big_r * (1 - big_r)) ** 0.5 + 1e-6
        a_pos = (1 - big_r) / s
        a_neg = (1 - big_r - (comb(n_neg - 1, k - 1) / comb(n - 1, k - 1) if n > 1 else 0)) / s
        out[idx] = torch.where(correct[idx], torch.tensor(a_pos, dtype=out.dtype), torch.tensor(a_neg, dtype=out.dtype))
    return out
