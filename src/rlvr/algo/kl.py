"""KL estimators to a frozen reference, per token: `(logp [B, T], ref_logp [B, T]) -> [B, T]`.

With samples from the policy p and r = log(q/p) = ref_logp - logp (Schulman's notation):
k1 = -r = log(p/q); k2 = r^2 / 2; k3 = exp(r) - r - 1 (low variance, always >= 0).
"""

from __future__ import annotations

import torch

from rlvr.algo.registry import Registry

KL_ESTIMATORS: Registry = Registry("KL estimator")


@KL_ESTIMATORS.register("k1")
def k1(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """log(p/q)."""
    return logp - ref_logp


@KL_ESTIMATORS.register("k2")
def k2(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """(log(p/q))^2 / 2."""
    return 0.5 * (logp - ref_logp) ** 2


@KL_ESTIMATORS.register("k3")
def k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """q/p - log(q/p) - 1, with log(q/p) clamped to [-20, 20] against overflow."""
    log_ratio = (ref_logp - logp).clamp(-20, 20)
    return torch.exp(log_ratio) - log_ratio - 1
