"""Losses for tokens the current policy did not sample itself (formulas: ../shared/ALGORITHMS.md).

All are `(... [B, T], mask [B, T]) -> per-token loss [B, T]` (0 where mask is 0), aggregated by
the same functions as the policy loss (rlvr.algo.losses.AGGREGATIONS).

- `shaped_ratio_loss` (Guide, RGR-GRPO refinements): tokens sampled with a hint or feedback in
  the context; the ratio pi_theta(o_t | q) / pi_old(o_t | q, hint) is shaped, not clipped.
- `shaped_prob_loss` (AMPO): teacher tokens; no teacher probability, the policy's own
  probability is shaped, not clipped.
- `DIVERGENCES` (DPH-RL): generator functions f(u) of u = pi_theta / pi_0 on stored samples of the
  initial policy; the loss is f(u) itself (rehearsal, no advantage).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlvr.algo.registry import Registry

DIVERGENCES: Registry = Registry("divergence")


@dataclass(frozen=True)
class OffPolicySpec:
    """Parameters of the off-policy terms; an exploration method gives its own (rlvr.explore)."""

    gamma_quantile: float = 0.9  # Guide / RGR: gamma = this quantile of the off-policy ratios
    beta: float = 0.1  # AMPO: f(p) = p / (p + beta)
    divergence: str = "forward_kl"  # DPH-RL: forward_kl | js
    divergence_coef: float = 0.0  # DPH-RL: weight of the rehearsal term; 0 = off


def ratio_quantile(logp: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor, q: float = 0.9,
                   floor: float = 1e-4) -> torch.Tensor:
    """gamma of Guide: the q-quantile of the off-policy ratios at the masked tokens, detached, >= floor.

    >>> lp = torch.log(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    >>> float(ratio_quantile(lp, torch.zeros(1, 4), torch.ones(1, 4), q=0.5))
    2.5
    """
    where = mask.bool()
    if not where.any():
        return torch.tensor(floor)
    ratios = torch.exp((logp - old_logp)[where].detach().float())
    return torch.quantile(ratios, q).clamp(min=floor)


def shaped_ratio_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                      gamma: torch.Tensor | float) -> torch.Tensor:
    """Guide: loss_t = -A * r_t / (r_t + gamma), r_t = exp(logp_t - old_logp_t), no clipping.

    The shaping r / (r + gamma) saturates for large ratios (so off-policy tokens the policy
    already likes cannot blow up the update) and keeps the gradient alive for small ones.
    """
    ratio = torch.exp(logp - old_logp)
    return -advantages[:, None].to(logp.dtype) * (ratio / (ratio + gamma)) * mask


def shaped_prob_loss(logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                     beta: float = 0.1) -> torch.Tensor:
    """AMPO: loss_t = -A * f(p_t), f(p) = p / (p + beta), p_t = pi_theta(o_t); no clipping and no
    teacher probability (teachers may be other models, or text from data)."""
    p = torch.exp(logp)
    return -advantages[:, None].to(logp.dtype) * (p / (p + beta)) * mask


def _log_u(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    return (logp - ref_logp).clamp(-10.0, 10.0)  # DPH-RL clamps log u to [-10, 10]


@DIVERGENCES.register("forward_kl")
def forward_kl(logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """f(u) = u - log u - 1 with u = pi_theta / pi_0 on samples of pi_0: an unbiased, non-negative
    estimate of KL(pi_0 || pi_theta), the mass-covering direction (keeps what pi_0 could solve)."""
    log_u = _log_u(logp, ref_logp)
    return (torch.exp(log_u) - log_u - 1) * mask


@DIVERGENCES.register("js")
def js(logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """f(u) = u log u - (u + 1) log((u + 1) / 2): the Jensen-Shannon generator (0 at u = 1)."""
    log_u = _log_u(logp, ref_logp)
    u = torch.exp(log_u)
    return (u * log_u - (u + 1) * torch.log((u + 1) / 2)) * mask
