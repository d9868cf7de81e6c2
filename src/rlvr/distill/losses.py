"""Distillation losses, each a registered pure function of one token's two distributions.

Every divergence takes `(student [N, K], teacher [N, K], cfg)`: logits over a common support of K
entries (the whole vocabulary, or the teacher's top-K tokens when its log-probs were precomputed
and stored sparsely), divided by the temperature tau and normalized over the support here, and
returns the per-token loss [N] (times tau^2, Hinton's scaling: gradients keep their size across
temperatures). Aggregation (mean over a sequence's tokens, then over sequences) is the caller's.

    forward_kl   KL(p_T || p_S) = sum_v p_T (log p_T - log p_S)            mode-covering
    reverse_kl   KL(p_S || p_T) = sum_v p_S (log p_S - log p_T)            mode-seeking
    gjsd         beta KL(p_S || M) + (1 - beta) KL(p_T || M),  M = beta p_S + (1 - beta) p_T
                 (GKD's generalized Jensen-Shannon; beta = 0.5 is the symmetric JSD; as beta -> 0
                 it tends to beta * reverse KL, as beta -> 1 to (1 - beta) * forward KL)

Sequence-level KD is plain cross-entropy on teacher samples (`sequence_nll`); on-policy
distillation is a policy gradient with the dense per-token reward r_t = log p_T(x_t) - log p_S(x_t)
(`on_policy_advantages`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rlvr.algo.registry import Registry

DIVERGENCES: Registry = Registry("distillation loss")


@dataclass(frozen=True)
class DistillLossConfig:
    temperature: float = 1.0  # tau: both distributions are softmax(z / tau)
    beta: float = 0.5  # gjsd's mixture weight of the student


def _log_probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return torch.log_softmax(logits.float() / temperature, dim=-1)


@DIVERGENCES.register("forward_kl")
def forward_kl(student: torch.Tensor, teacher: torch.Tensor, cfg: DistillLossConfig = DistillLossConfig()) \
        -> torch.Tensor:
    s, t = _log_probs(student, cfg.temperature), _log_probs(teacher, cfg.temperature)
    return (t.exp() * (t - s)).sum(dim=-1) * cfg.temperature ** 2


@DIVERGENCES.register("reverse_kl")
def reverse_kl(student: torch.Tensor, teacher: torch.Tensor, cfg: DistillLossConfig = DistillLossConfig()) \
        -> torch.Tensor:
    s, t = _log_probs(student, cfg.temperature), _log_probs(teacher, cfg.temperature)
    return (s.exp() * (s - t)).sum(dim=-1) * cfg.temperature ** 2


@DIVERGENCES.register("gjsd")
def gjsd(student: torch.Tensor, teacher: torch.Tensor, cfg: DistillLossConfig = DistillLossConfig()) \
        -> torch.Tensor:
    if not 0 < cfg.beta < 1:
        raise ValueError(f"distill.beta: {cfg.beta} must lie strictly between 0 and 1")
    s, t = _log_probs(student, cfg.temperature), _log_probs(teacher, cfg.temperature)
    mixture = torch.logsumexp(torch.stack([s + math.log(cfg.beta), t + math.log(1 - cfg.beta)]), dim=0)
    kl_student = (s.exp() * (s - mixture)).sum(dim=-1)
    kl_teacher = (t.exp() * (t - mixture)).sum(dim=-1)
    return (cfg.beta * kl_student + (1 - cfg.beta) * kl_teacher) * cfg.temperature ** 2


def sequence_nll(student: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """-log p_S(target) per token [N] (temperature 1): sequence-level KD on teacher samples."""
    return -torch.log_softmax(student.float(), dim=-1).gather(-1, targets[:, None])[:, 0]


def on_policy_advantages(student_logp: torch.Tensor, teacher_logp: torch.Tensor, mask: torch.Tensor,
                         coef: float = 1.0, verifier: torch.Tensor | None = None,
                         verifier_coef: float = 0.0) -> torch.Tensor:
    """Per-token advantages [B, T] for the student's own samples: coef * (log p_T - log p_S) at
    each sampled token (a dense reward, no discounting: each token answers for itself), plus
    verifier_coef * the sequence's group advantage from the verifiable reward, when given."""
    advantages = coef * (teacher_logp - student_logp).detach()
    if verifier is not None and verifier_coef:
        advantages = advantages + verifier_coef * verifier[:, None].to(advantages.dtype)
    return advantages * mask
