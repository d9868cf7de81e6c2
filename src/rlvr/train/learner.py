"""From groups to a padded batch, and PPO-style updates of the policy on it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from rlvr.algo.advantages import ADVANTAGES, AdvantageConfig
from rlvr.algo.kl import KL_ESTIMATORS
from rlvr.algo.logprobs import token_logprobs
from rlvr.algo.losses import AGGREGATIONS, POLICY_LOSSES, LossConfig
from rlvr.config import AlgoConfig
from rlvr.train.rollout import Group


@dataclass
class Batch:
    """Padded tensors for the loss. B rollouts, L = longest prompt + completion."""

    input_ids: torch.Tensor  # [B, L]
    attention_mask: torch.Tensor  # [B, L]
    loss_mask: torch.Tensor  # [B, L-1]: 1 where position t predicts a completion token
    old_logp: torch.Tensor  # [B, L-1]: behaviour log-probs (from the sampler), 0 elsewhere
    advantages: torch.Tensor  # [B]
    rewards: torch.Tensor  # [B]


def build_batch(groups: list[Group], algo: AlgoConfig, mask_truncated: bool, pad_id: int, reference=None,
                temperature: float = 1.0) -> Batch:
    """Pad rollouts into tensors and compute advantages. With `algo.kl_in_reward`, each reward first
    loses kl_coef * sum_t KL_t(behaviour || reference) over its completion tokens."""
    rollouts = [r for g in groups for r in g.rollouts]
    truncated = [t for g in groups for t in g.truncated]
    rewards = torch.tensor([r.score.reward for r in rollouts], dtype=torch.float32)
    group_ids = torch.tensor([i for i, g in enumerate(groups) for _ in g.rollouts])
    width = max(len(r.prompt_ids) + len(r.completion_ids) for r in rollouts)
    b = len(rollouts)
    input_ids = torch.full((b, width), pad_id)
    attention = torch.zeros((b, width), dtype=torch.long)
    loss_mask = torch.zeros((b, width - 1))
    completion = torch.zeros((b, width - 1))
    old_logp = torch.zeros((b, width - 1))
    for i, r in enumerate(rollouts):
        p, c = len(r.prompt_ids), len(r.completion_ids)
        input_ids[i, : p + c] = torch.tensor(r.prompt_ids + r.completion_ids)
        attention[i, : p + c] = 1
        completion[i, p - 1 : p - 1 + c] = 1  # position t predicts token t + 1
        old_logp[i, p - 1 : p - 1 + c] = torch.tensor(r.logprobs)
    loss_mask = completion.clone()
    if mask_truncated:
        loss_mask[torch.tensor(truncated, dtype=torch.bool)] = 0
    if algo.kl_in_reward and reference is not None:
        with torch.no_grad():
            ref_logp, _ = policy_logprobs(reference, input_ids, attention, completion, temperature)
        kl = (KL_ESTIMATORS.get(algo.kl_estimator)(old_logp, ref_logp) * completion).sum(dim=1)  # [B]
        rewards = rewards - algo.kl_coef * kl
    advantages = ADVANTAGES.get(algo.advantage)(rewards, group_ids, AdvantageConfig(k=algo.pass_k))
    return Batch(input_ids, attention, loss_mask, old_logp, advantages, rewards)


def policy_logprobs(model, input_ids, attention_mask, loss_mask, temperature: float):
    """Per-token log-probs and entropy [B, L-1] at the masked positions (chunked, never B x L x V)."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model.base_model
    hidden = decoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, :-1]  # [B, L-1, H]
    where = loss_mask.bool()
    logp = torch.zeros(loss_mask.shape, dtype=torch.float32)
    entropy = torch.zeros_like(logp)
    if where.any():
        lp, ent = token_logprobs(hidden[where], model.get_output_embeddings().weight, input_ids[:, 1:][where],
                                 temperature)
        logp = logp.masked_scatter(where, lp.float())
        entropy = entropy.masked_scatter(where, ent.float())
    return logp, entropy


def update_policy(model, optimizer, scheduler, batch: Batch, algo: AlgoConfig, epochs: int, minibatch: int,
                  grad_clip: float, temperature: float, reference=None, generator=None) -> dict[str, float]:
    """PPO epochs over minibatches; returns averaged metrics."""
    loss_cfg = LossConfig(eps_low=algo.eps_low, eps_high=algo.eps_high, dual_clip=algo.dual_clip,
                          max_len=batch.loss_mask.shape[1])
    policy_loss, aggregate = POLICY_LOSSES.get(algo.loss), AGGREGATIONS.get(algo.aggregation)
    model.train()
    totals: dict[str, float] = {}
    updates = 0
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(batch.input_ids.shape[0], generator=generator)
        for start in range(0, len(order), minibatch):
            idx = order[start : start + minibatch]
            mask = batch.loss_mask[idx]
            if mask.sum() == 0:
                continue
            logp, entropy = policy_logprobs(model, batch.input_ids[idx], batch.attention_mask[idx], mask, temperature)
            per_token, metrics = policy_loss(logp, batch.old_logp[idx], batch.advantages[idx], mask, loss_cfg)
            loss = aggregate(per_token, mask, loss_cfg)
            if algo.entropy_coef:
                loss = loss - algo.entropy_coef * aggregate(entropy, mask, loss_cfg)
            if reference is not None and algo.kl_estimator and not algo.kl_in_reward:
                with torch.no_grad():
                    ref_logp, _ = policy_logprobs(reference, batch.input_ids[idx], batch.attention_mask[idx], mask,
                                                  temperature)
                kl = KL_ESTIMATORS.get(algo.kl_estimator)(logp, ref_logp) * mask
                kl_value = aggregate(kl, mask, loss_cfg)
                loss = loss + algo.kl_coef * kl_value
                metrics["kl"] = kl_value.item()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            metrics["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip))
            optimizer.step()
            metrics["loss"] = loss.item()
            metrics["entropy"] = ((entropy.detach() * mask).sum() / mask.sum()).item()
            for key, value in metrics.items():
                totals[key] = totals.get(key, 0.0) + value
            updates += 1
    if updates:  # the learning-rate schedule counts training steps that updated the policy
        scheduler.step()
    out = {key: value / max(updates, 1) for key, value in totals.items()}
    out["learn_s"] = time.perf_counter() - t0
    out["train_tokens"] = float(batch.loss_mask.sum()) * epochs
    return out
