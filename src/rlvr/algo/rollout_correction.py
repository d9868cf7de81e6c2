"""Corrections for the engine-trainer mismatch.

A rollout engine other than the trainer's own module (vLLM) samples from a distribution pi_e
that differs from the trainer's pi_t even at the same weights (other kernels, precision,
batch-dependent reductions). The update's behaviour policy is then pi_e, while the PPO ratio is
taken against the trainer's log-probs recomputed before the update (pi_t,old). The importance
ratio per token is r_t = pi_t,old(o_t) / pi_e(o_t), and the policy loss of token t is multiplied
by a weight w_t built from it:

- `tis`, truncated importance sampling: w_t = min(r_t, c_max) (token level), or one weight per
  sequence, w = min(prod_t r_t, c_max) (sequence level);
- `mis`, masked importance sampling: w_t = r_t where c_min <= r_t <= c_max and 0 (the token is
  dropped from the loss) elsewhere; at sequence level the sequence's ratio prod_t r_t decides for
  all its tokens.

Each is `(trainer_logp [B, T], engine_logp [B, T], mask [B, T], level, c_min, c_max) -> (weight
[B, T], kept [B, T])`: `kept` is the mask less what was dropped. `mismatch_metrics` gives what is
logged every step whatever the correction.
"""

from __future__ import annotations

import torch

from rlvr.algo.registry import Registry

ROLLOUT_CORRECTIONS: Registry = Registry("rollout correction")
MAX_LOG_RATIO = 20.0  # exp() of a sequence's summed log-ratio stays finite


def log_ratios(trainer_logp: torch.Tensor, engine_logp: torch.Tensor, mask: torch.Tensor, level: str) -> torch.Tensor:
    """log r per token, or each sequence's summed log r broadcast to its tokens (0 off the mask)."""
    per_token = (trainer_logp - engine_logp) * mask
    if level == "token":
        return per_token
    if level == "sequence":
        return per_token.sum(dim=1, keepdim=True).clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO).expand_as(mask) * mask
    raise ValueError(f"level must be 'token' or 'sequence', got {level!r}")


@ROLLOUT_CORRECTIONS.register("tis")
def truncated_importance_sampling(trainer_logp, engine_logp, mask, level="token", c_min=0.0, c_max=2.0):
    """w = min(r, c_max); nothing dropped.

    >>> t, e, m = torch.log(torch.tensor([[0.5, 0.9]])), torch.log(torch.tensor([[0.1, 0.9]])), torch.ones(1, 2)
    >>> truncated_importance_sampling(t, e, m)[0].tolist()
    [[2.0, 1.0]]
    """
    weight = torch.exp(log_ratios(trainer_logp, engine_logp, mask, level)).clamp(max=c_max) * mask
    return weight, mask


@ROLLOUT_CORRECTIONS.register("mis")
def masked_importance_sampling(trainer_logp, engine_logp, mask, level="token", c_min=0.5, c_max=2.0):
    """w = r inside [c_min, c_max]; tokens (or whole sequences) outside are dropped.

    >>> t, e, m = torch.log(torch.tensor([[0.5, 0.9]])), torch.log(torch.tensor([[0.1, 0.9]])), torch.ones(1, 2)
    >>> [x.tolist() for x in masked_importance_sampling(t, e, m)]
    [[[0.0, 1.0]], [[0.0, 1.0]]]
    """
    ratio = torch.exp(log_ratios(trainer_logp, engine_logp, mask, level))
    kept = mask * ((ratio >= c_min) & (ratio <= c_max))
    return ratio * kept, kept


def mismatch_metrics(trainer_logp: torch.Tensor, engine_logp: torch.Tensor, mask: torch.Tensor,
                     weight: torch.Tensor, kept: torch.Tensor) -> dict[str, float]:
    """How far the engine is from the trainer on the sampled tokens, and what the correction did:
    mean/max |log pi_t - log pi_e|, KL(engine || trainer) by the k3 estimator on the engine's
    samples (E[r - 1 - log r], >= 0), the token ratio's min/mean/max, the share of tokens dropped,
    and the effective sample size of the weights, (sum w)^2 / (n sum w^2), in (0, 1].

    >>> m = torch.ones(1, 2)
    >>> mismatch_metrics(torch.zeros(1, 2), torch.zeros(1, 2), m, m, m)["mismatch_kl"]
    0.0
    """
    on = mask.bool()
    if not on.any():
        return {}
    log_r = (trainer_logp - engine_logp)[on].double()
    ratio = torch.exp(log_r)
    w = weight[kept.bool()].double()
    ess = float(w.sum() ** 2 / (on.sum() * (w**2).sum())) if w.numel() and float((w**2).sum()) > 0 else 0.0
    return {"mismatch_abs_logp_mean": float(log_r.abs().mean()), "mismatch_abs_logp_max": float(log_r.abs().max()),
            "mismatch_kl": float((ratio - 1 - log_r).mean()), "mismatch_ratio_min": float(ratio.min()),
            "mismatch_ratio_mean": float(ratio.mean()), "mismatch_ratio_max": float(ratio.max()),
            "mismatch_masked": float(1 - kept[on].sum() / on.sum()), "mismatch_ess": ess}
