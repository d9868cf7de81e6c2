"""The loss of each batch row, found by where its tokens came from (`Rollout.source`).

Each source is registered with a per-token loss
`(logp [B, T], old_logp [B, T], advantages [B], mask [B, T], ctx) -> (loss [B, T], metrics)`
(0 where mask is 0) and two facts the learner needs:
- `term`: the loss term its tokens are aggregated in. "policy" holds every row trained by its
  advantage (one aggregation over all of them, as the papers write it); another name is a term of
  its own, aggregated over its own tokens (DPH-RL's rehearsal).
- `uses_advantage`: whether a row of advantage 0 has a zero gradient from it (then such rows can
  skip the model).

An exploration method whose rollouts need a new loss registers their source in its own file
(rlvr.explore); the learner sums what is registered and names no method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from rlvr.algo.losses import POLICY_LOSSES, LossConfig
from rlvr.algo.offpolicy import DIVERGENCES, OffPolicySpec, ratio_quantile, shaped_prob_loss, shaped_ratio_loss
from rlvr.algo.registry import Registry

ROW_LOSSES: Registry = Registry("rollout source")


@dataclass(frozen=True)
class RowContext:
    """What a row loss may read besides its tensors."""

    policy_loss: str = "ppo_clip"  # the configured policy loss (algo.loss)
    loss: LossConfig = field(default_factory=LossConfig)
    off: OffPolicySpec = field(default_factory=OffPolicySpec)  # the method's off-policy parameters


@dataclass(frozen=True)
class RowLoss:
    """A registered row loss: the function and the two facts about it (module docstring)."""

    fn: Callable[..., tuple[torch.Tensor, dict]]
    term: str = "policy"
    uses_advantage: bool = True

    def __call__(self, logp, old_logp, advantages, mask, ctx: RowContext) -> tuple[torch.Tensor, dict]:
        return self.fn(logp, old_logp, advantages, mask, ctx)


def register_row_loss(source: str, fn: Callable, term: str = "policy", uses_advantage: bool = True) -> None:
    """Rows whose `Rollout.source` is `source` are trained with `fn`."""
    ROW_LOSSES.register(source)(RowLoss(fn, term, uses_advantage))


def on_policy(logp, old_logp, advantages, mask, ctx: RowContext) -> tuple[torch.Tensor, dict]:
    """The policy's own samples: the configured policy loss (PPO-clip, GSPO, ...)."""
    return POLICY_LOSSES.get(ctx.policy_loss)(logp, old_logp, advantages, mask, ctx.loss)


register_row_loss("policy", on_policy)


def shaped_ratio_rows(logp, old_logp, advantages, mask, ctx: RowContext) -> tuple[torch.Tensor, dict]:
    """Tokens sampled with a hint or feedback in the context, trained without it (Guide, RGR-GRPO):
    the shaped ratio r / (r + gamma), gamma a quantile of these tokens' ratios; no clipping."""
    gamma = ratio_quantile(logp, old_logp, mask, ctx.off.gamma_quantile)
    return shaped_ratio_loss(logp, old_logp, advantages, mask, gamma), {"offpolicy_gamma": float(gamma)}


def shaped_prob_rows(logp, old_logp, advantages, mask, ctx: RowContext) -> tuple[torch.Tensor, dict]:
    """Teacher solutions (AMPO): the policy's own probability shaped, p / (p + beta); no clipping."""
    return shaped_prob_loss(logp, advantages, mask, ctx.off.beta), {}


def rehearsal_rows(logp, old_logp, advantages, mask, ctx: RowContext) -> tuple[torch.Tensor, dict]:
    """Stored samples of the initial policy (DPH-RL): coef * f(pi_theta / pi_0), no advantage;
    `old_logp` holds pi_0's log-probs."""
    divergence = DIVERGENCES.get(ctx.off.divergence)(logp, old_logp, mask)
    mean = float((divergence.detach() * mask).sum() / mask.sum().clamp(min=1))
    return ctx.off.divergence_coef * divergence, {"rehearsal_divergence": mean}
