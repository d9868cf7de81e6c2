"""Policy losses and loss aggregation.

Policy losses: `(logp [B, T], old_logp [B, T], advantages [B], mask [B, T], cfg) -> (loss [B, T], metrics)`,
a per-token loss (0 where mask is 0); ppo_clip also takes per-token advantages [B, T] (on-policy
distillation's dense reward, rlvr.distill). Aggregations: `(loss [B, T], mask [B, T], cfg) -> scalar`, each
registered with its `weight(mask) -> float`: what it divides by, so that a minibatch's loss is the
sum of its microbatches' losses scaled by weight(micro) / weight(minibatch) (gradient accumulation).
Kept apart so any loss combines with any aggregation.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from rlvr.algo.registry import Registry


@dataclass(frozen=True)
class LossConfig:
    eps_low: float = 0.2  # PPO clip below: ratio >= 1 - eps_low
    eps_high: float = 0.2  # PPO clip above: ratio <= 1 + eps_high (DAPO clip-higher: 0.28)
    dual_clip: float | None = None  # c in Ye et al. 2020 (3..10): loss for A < 0 bounded by c * |A|
    max_len: int = 1024  # token_sum_norm (Dr. GRPO): the constant length divided by, the generation budget


POLICY_LOSSES: Registry = Registry("policy loss")
AGGREGATIONS: Registry = Registry("loss aggregation")


def _fraction(flags: torch.Tensor, mask: torch.Tensor) -> float:
    return float((flags & mask.bool()).sum() / mask.sum().clamp(min=1))


def loss_defaults(name: str) -> LossConfig:
    """The LossConfig a registered policy loss declares as its own default (its `cfg`
    argument's default): GSPO's sequence-ratio clip is ~1e-3 of PPO's token-ratio clip."""
    return inspect.signature(POLICY_LOSSES.get(name)).parameters["cfg"].default


@POLICY_LOSSES.register("ppo_clip")
def ppo_clip(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
             cfg: LossConfig = LossConfig()) -> tuple[torch.Tensor, dict[str, float]]:
    """PPO-clip with separate bounds (DAPO clip-higher) and optional dual-clip.

    ratio_t = exp(logp_t - old_logp_t); loss_t = max(-A ratio_t, -A clip(ratio_t, 1-eps_low, 1+eps_high));
    dual-clip: for A < 0, loss_t = min(loss_t, c |A|).
    """
    adv = (advantages if advantages.dim() == 2 else advantages[:, None]).to(logp.dtype)  # [B, T] or [B, 1]
    ratio = torch.exp(logp - old_logp)  # [B, T]
    unclipped = -adv * ratio
    clipped = -adv * ratio.clamp(1 - cfg.eps_low, 1 + cfg.eps_high)
    loss = torch.maximum(unclipped, clipped)
    metrics = {
        "clip_frac_low": _fraction((ratio < 1 - cfg.eps_low) & (adv < 0), mask),
        "clip_frac_high": _fraction((ratio > 1 + cfg.eps_high) & (adv > 0), mask),
    }
    if cfg.dual_clip is not None:
        bound = -adv * cfg.dual_clip  # c |A| where A < 0
        dual = (adv < 0) & (loss > bound)
        loss = torch.where(adv < 0, torch.minimum(loss, bound), loss)
        metrics["dual_clip_frac"] = _fraction(dual, mask)
    return loss * mask, metrics


@POLICY_LOSSES.register("gspo")
def gspo(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
         cfg: LossConfig = LossConfig(eps_low=3e-4, eps_high=4e-4)) -> tuple[torch.Tensor, dict[str, float]]:
    """GSPO (Zheng et al. 2025): one ratio per sequence, s_i = exp(mean_t (logp - old_logp)),
    loss_i = max(-A_i s_i, -A_i clip(s_i, 1-eps_low, 1+eps_high)), put on each of the sequence's
    tokens. Use with `seq_mean_token_mean` aggregation to weigh sequences equally."""
    lengths = mask.sum(dim=1).clamp(min=1)
    seq_ratio = torch.exp(((logp - old_logp) * mask).sum(dim=1) / lengths)  # [B]
    adv = advantages.to(logp.dtype)
    seq_loss = torch.maximum(-adv * seq_ratio, -adv * seq_ratio.clamp(1 - cfg.eps_low, 1 + cfg.eps_high))
    metrics = {"clip_frac_low": float(((seq_ratio < 1 - cfg.eps_low) & (adv < 0)).float().mean()),
               "clip_frac_high": float(((seq_ratio > 1 + cfg.eps_high) & (adv > 0)).float().mean())}
    return seq_loss[:, None] * mask, metrics


def _divides_by(weight):
    """Attach an aggregation's normalizer `weight(mask [B, T]) -> float` to it."""
    def attach(fn):
        fn.weight = weight
        return fn
    return attach


@AGGREGATIONS.register("token_mean")
@_divides_by(lambda mask: float(mask.sum()))  # tokens
def token_mean(loss: torch.Tensor, mask: torch.Tensor, cfg: LossConfig = LossConfig()) -> torch.Tensor:
    """DAPO: sum over all valid tokens of the batch / number of valid tokens."""
    return (loss * mask).sum() / mask.sum().clamp(min=1)


@AGGREGATIONS.register("seq_mean_token_mean")
@_divides_by(lambda mask: float((mask.sum(dim=1) > 0).sum()))  # sequences with any token
def seq_mean_token_mean(loss: torch.Tensor, mask: torch.Tensor, cfg: LossConfig = LossConfig()) -> torch.Tensor:
    """GRPO: mean over each sequence's valid tokens, then mean over sequences that have any."""
    lengths = mask.sum(dim=1)
    per_seq = (loss * mask).sum(dim=1) / lengths.clamp(min=1)
    has = lengths > 0
    return per_seq[has].sum() / has.sum().clamp(min=1)


@AGGREGATIONS.register("token_sum_norm")
@_divides_by(lambda mask: float(mask.shape[0]))  # rows (times the constant length)
def token_sum_norm(loss: torch.Tensor, mask: torch.Tensor, cfg: LossConfig = LossConfig()) -> torch.Tensor:
    """Dr. GRPO: sum over valid tokens / (B * max_len), a constant that does not depend on lengths."""
    return (loss * mask).sum() / (loss.shape[0] * cfg.max_len)
