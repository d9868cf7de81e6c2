"""From groups to a padded batch, and PPO-style updates of the policy on it.

Rows of a batch differ by where their tokens came from (`Rollout.source`) and so by their loss:
each source's loss is registered (rlvr.algo.row_losses: `policy` here, the exploration methods'
sources in their own files), and the learner sums the terms of the rows it is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from rlvr.algo.advantages import ADVANTAGES, AdvantageConfig
from rlvr.algo.kl import KL_ESTIMATORS
from rlvr.algo.losses import AGGREGATIONS, LossConfig
from rlvr.algo.offpolicy import OffPolicySpec
from rlvr.algo.rollout_correction import ROLLOUT_CORRECTIONS, mismatch_metrics
from rlvr.algo.row_losses import ROW_LOSSES, RowContext
from rlvr.config import AlgoConfig
from rlvr.explore import METHODS  # noqa: F401 (the methods register the losses of the rollouts they add)
from rlvr.problems import Rollout
from rlvr.rollouts import Group
from rlvr.train.distributed import SINGLE, Ranks
from rlvr.train.forward import policy_logprobs, row_logprobs
from rlvr.train.sharding import is_sharded


@dataclass(frozen=True)
class UpdatePlan:
    """How a step updates the policy (the learner options of TrainConfig)."""

    epochs: int = 1  # PPO epochs over the batch
    minibatch: int | None = None  # rows per optimizer step; None = the whole batch (DARS-B)
    microbatch: int | None = None  # rows per forward/backward (gradient accumulation); None = the minibatch
    grad_clip: float = 1.0
    temperature: float = 1.0  # the sampling temperature: log-probs of the distribution sampled
    bf16: bool = False  # the decoder's forward/backward under bf16 autocast; weights stay float32
    share_prompts: bool = True  # run each distinct prompt once per microbatch (rlvr.train.forward)
    skip_zero_advantage: bool = True  # rows with advantage 0 (and no entropy/KL term) skip the model
    max_new_tokens: int = 1024  # the generation budget: token_sum_norm's constant length


@dataclass
class Batch:
    """Padded tensors for the loss. B rollouts, L = longest prompt + completion."""

    input_ids: torch.Tensor  # [B, L]
    attention_mask: torch.Tensor  # [B, L]
    loss_mask: torch.Tensor  # [B, L-1]: 1 where position t predicts a completion token
    old_logp: torch.Tensor  # [B, L-1]: behaviour log-probs (pi_0's for rehearsal rows), 0 elsewhere
    advantages: torch.Tensor  # [B] (0 for rehearsal rows)
    rewards: torch.Tensor  # [B]
    source: torch.Tensor  # [B]: the row's index in `sources`
    prompt_len: torch.Tensor  # [B]: where each completion starts
    group: torch.Tensor  # [B]: the row's group (rehearsal rows: one each), to keep groups together
    completion_mask: torch.Tensor | None = None  # [B, L-1]: every completion token (loss_mask less truncation)
    sources: tuple[str, ...] = ("policy",)  # Rollout.source of each index in `source` (rlvr.algo.row_losses)
    # [B, L-1]: importance weights of the engine-trainer mismatch correction (policy rows; 1 elsewhere)
    is_weight: torch.Tensor | None = None

    def rows_of(self, idx: torch.Tensor, name: str) -> torch.Tensor:
        """[len(idx)] bool: which of rows `idx` come from source `name`."""
        if name not in self.sources:
            return torch.zeros(len(idx), dtype=torch.bool)
        return self.source[idx] == self.sources.index(name)

    def term_masks(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss-mask tokens of rows `idx`, by the loss term their source is aggregated in."""
        masks: dict[str, torch.Tensor] = {}
        for name in self.sources:
            rows = self.rows_of(idx, name)[:, None]
            term = ROW_LOSSES.get(name).term
            masks[term] = masks.get(term, 0) + self.loss_mask[idx] * rows
        return masks

    def without_advantage(self) -> torch.Tensor:
        """[B] bool: rows whose loss does not scale with their advantage (trained at advantage 0)."""
        flags = torch.tensor([not ROW_LOSSES.get(name).uses_advantage for name in self.sources])
        return flags[self.source]


def build_batch(groups: list[Group], algo: AlgoConfig, mask_truncated: bool, pad_id: int, reference=None,
                temperature: float = 1.0, rehearsal: list[Rollout] = ()) -> Batch:
    """The batch of a step, in three stages: pad the rollouts into tensors; with
    `algo.kl_in_reward`, take kl_coef * sum_t KL_t(behaviour || reference) off each reward; then
    the advantages over the groups. `rehearsal` rows (DPH-RL) join the batch outside any group."""
    batch = pad_rollouts(groups, mask_truncated, pad_id, rehearsal)
    if algo.kl_in_reward and reference is not None:
        batch.rewards = batch.rewards - algo.kl_coef * reference_kl(batch, algo.kl_estimator, reference, temperature)
    batch.advantages = group_advantages(batch, algo, rows_in_groups=len(batch.rewards) - len(rehearsal))
    return batch


def reference_kl(batch: Batch, estimator: str, reference, temperature: float) -> torch.Tensor:
    """sum_t KL_t(behaviour || reference) over each row's completion tokens -> [B]."""
    device = next(reference.parameters()).device
    completion = batch.completion_mask
    with torch.no_grad():
        ref_logp, _ = policy_logprobs(reference, batch.input_ids.to(device), batch.attention_mask.to(device),
                                      completion.to(device), temperature)
    return (KL_ESTIMATORS.get(estimator)(batch.old_logp, ref_logp.cpu()) * completion).sum(dim=1)


def group_advantages(batch: Batch, algo: AlgoConfig, rows_in_groups: int) -> torch.Tensor:
    """The configured advantage estimator over the grouped rows (rehearsal rows get 0) -> [B]."""
    advantages = torch.zeros(len(batch.rewards))
    if rows_in_groups:
        advantages[:rows_in_groups] = ADVANTAGES.get(algo.advantage)(
            batch.rewards[:rows_in_groups], batch.group[:rows_in_groups], AdvantageConfig(k=algo.pass_k))
    return advantages


def pad_rollouts(groups: list[Group], mask_truncated: bool, pad_id: int, rehearsal: list[Rollout] = ()) -> Batch:
    """Rollouts as right-padded tensors (advantages 0 until computed)."""
    rollouts = [r for g in groups for r in g.rollouts] + list(rehearsal)
    truncated = [t for g in groups for t in g.truncated] + [False] * len(rehearsal)
    rewards = torch.tensor([r.score.reward if r.score else 0.0 for r in rollouts], dtype=torch.float32)
    group_ids = torch.tensor([i for i, g in enumerate(groups) for _ in g.rollouts], dtype=torch.long)
    width = max(len(r.prompt_ids) + len(r.completion_ids) for r in rollouts)
    b = len(rollouts)
    input_ids = torch.full((b, width), pad_id)
    attention = torch.zeros((b, width), dtype=torch.long)
    completion = torch.zeros((b, width - 1))
    old_logp = torch.zeros((b, width - 1))
    for i, r in enumerate(rollouts):
        p, c = len(r.prompt_ids), len(r.completion_ids)
        input_ids[i, : p + c] = torch.tensor(r.prompt_ids + r.completion_ids)
        attention[i, : p + c] = 1
        completion[i, p - 1 : p - 1 + c] = 1  # position t predicts token t + 1
        if r.logprobs:
            old_logp[i, p - 1 : p - 1 + c] = torch.tensor(r.logprobs)
    loss_mask = completion.clone()
    if mask_truncated:
        loss_mask[torch.tensor(truncated, dtype=torch.bool)] = 0
    sources = tuple(dict.fromkeys(["policy", *(r.source for r in rollouts)]))
    for name in sources:
        ROW_LOSSES.get(name)  # an unregistered source fails here, naming the valid ones
    source = torch.tensor([sources.index(r.source) for r in rollouts])
    prompt_len = torch.tensor([len(r.prompt_ids) for r in rollouts])
    group = torch.cat([group_ids, len(groups) + torch.arange(len(rehearsal))])
    return Batch(input_ids, attention, loss_mask, old_logp, torch.zeros(b), rewards, source, prompt_len, group,
                 completion, sources)


def empty_batch() -> Batch:
    """A batch of no rows: a rank whose share of a step kept nothing still takes part in the
    update's collectives (its gradient contribution is zero)."""
    none, long = torch.zeros(0, 1), torch.zeros(0, 1, dtype=torch.long)
    return Batch(long, long, none, none, torch.zeros(0), torch.zeros(0), torch.zeros(0, dtype=torch.long),
                 torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), none)


def loss_config(algo: AlgoConfig, plan: UpdatePlan) -> LossConfig:
    """The policy loss's settings. token_sum_norm's constant length is the generation budget,
    not the batch's padded width (which changes from step to step)."""
    return LossConfig(eps_low=algo.eps_low, eps_high=algo.eps_high, dual_clip=algo.dual_clip,
                      max_len=plan.max_new_tokens)


def aggregation_weight(name: str, mask: torch.Tensor) -> float:
    """What the aggregation `name` divides by (registered with it, rlvr.algo.losses)."""
    return AGGREGATIONS.get(name).weight(mask)


def terms_without_advantage(algo: AlgoConfig, reference=None) -> list[str]:
    """The loss terms that give a row a gradient even when its advantage is 0 (minibatch_loss adds
    them to every trained row): with none, rows of advantage 0 can skip the model."""
    terms = []
    if algo.entropy_coef:
        terms.append("entropy")
    if algo.kl_estimator and not algo.kl_in_reward and reference is not None:
        terms.append("kl")
    return terms


def minibatch_loss(model, batch: Batch, idx: torch.Tensor, algo: AlgoConfig, off: OffPolicySpec,
                   loss_cfg: LossConfig, plan: UpdatePlan, reference=None) -> tuple[torch.Tensor, dict, dict]:
    """The loss of rows `idx`, each term aggregated over its own tokens; -> (loss terms, their
    masks, metrics). Terms: "policy" (all rows trained by advantage) and any other a registered
    row loss names (rlvr.algo.row_losses)."""
    device = next(model.parameters()).device  # the batch stays on the CPU; rows move per microbatch
    width = int(batch.attention_mask[idx].sum(dim=1).max())  # rows are right-padded: drop the common padding
    ids, attention = batch.input_ids[idx, :width].to(device), batch.attention_mask[idx, :width].to(device)
    mask = batch.loss_mask[idx, : width - 1].to(device)
    old, adv = batch.old_logp[idx, : width - 1].to(device), batch.advantages[idx].to(device)

    def logprobs(net):
        return row_logprobs(net, ids, attention, batch.prompt_len[idx], mask, plan.temperature, plan.bf16,
                            plan.share_prompts)

    logp, entropy = logprobs(model)
    ctx = RowContext(algo.loss, loss_cfg, off)
    per_term: dict[str, torch.Tensor] = {}
    masks: dict[str, torch.Tensor] = {}
    metrics: dict[str, float] = {}
    for name in batch.sources:
        rows = batch.rows_of(idx, name)
        if name != "policy" and not rows.any():
            continue
        row_loss = ROW_LOSSES.get(name)
        own = mask * rows[:, None].to(device)
        per_token, row_metrics = row_loss(logp, old, adv, own, ctx)
        if name == "policy" and batch.is_weight is not None:
            per_token = per_token * batch.is_weight[idx, : width - 1].to(device)
        per_term[row_loss.term] = per_term.get(row_loss.term, 0) + per_token
        masks[row_loss.term] = masks.get(row_loss.term, 0) + own
        metrics.update(row_metrics)
    trained = masks["policy"]
    aggregate = AGGREGATIONS.get(algo.aggregation)
    terms = {term: aggregate(per_token, masks[term], loss_cfg) for term, per_token in per_term.items()}
    if algo.entropy_coef:
        terms["policy"] = terms["policy"] - algo.entropy_coef * aggregate(entropy, trained, loss_cfg)
    if reference is not None and algo.kl_estimator and not algo.kl_in_reward:
        with torch.no_grad():
            ref_logp, _ = logprobs(reference)
        kl_value = aggregate(KL_ESTIMATORS.get(algo.kl_estimator)(logp, ref_logp) * trained, trained, loss_cfg)
        terms["policy"] = terms["policy"] + algo.kl_coef * kl_value
        metrics["kl"] = kl_value.item()
    metrics["entropy"] = ((entropy.detach() * trained).sum() / trained.sum().clamp(min=1)).item()
    return terms, masks, metrics


@torch.no_grad()
def correct_engine_mismatch(model, batch: Batch, plan: UpdatePlan, correction=None) -> dict[str, float]:
    """The stage between batching and the update when the engine is not the trainer's module: the
    trainer's log-probs of the policy rows' tokens are recomputed and become the PPO ratio's old
    log-probs; the engine's (the behaviour policy's) give the importance ratios, turned into weights
    (and dropped tokens) by `correction` (rlvr.algo.rollout_correction; None: weights 1). Returns
    the mismatch metrics (logged every step)."""
    rows = batch.rows_of(torch.arange(len(batch.source)), "policy").nonzero()[:, 0]
    if not len(rows):
        return {}
    device = next(model.parameters()).device
    trainer = torch.zeros_like(batch.old_logp)
    step = plan.microbatch or len(rows)
    was_training = model.training
    model.eval()
    for start in range(0, len(rows), step):
        idx = rows[start : start + step]
        width = int(batch.attention_mask[idx].sum(dim=1).max())
        ids, attention = batch.input_ids[idx, :width].to(device), batch.attention_mask[idx, :width].to(device)
        mask = batch.completion_mask[idx, : width - 1].to(device)
        logp, _ = policy_logprobs(model, ids, attention, mask, plan.temperature, plan.bf16)
        trainer[idx, : width - 1] = (logp.float() * mask).cpu()
    model.train(was_training)
    mask = batch.loss_mask[rows]
    engine_logp, trainer_logp = batch.old_logp[rows], trainer[rows]
    if correction is None:
        weight, kept = mask.clone(), mask
    else:
        weight, kept = ROLLOUT_CORRECTIONS.get(correction.method)(trainer_logp, engine_logp, mask, correction.level,
                                                                  correction.c_min, correction.c_max)
    metrics = mismatch_metrics(trainer_logp, engine_logp, mask, weight, kept)
    batch.old_logp[rows] = trainer_logp
    batch.loss_mask[rows] = kept
    batch.is_weight = torch.ones_like(batch.old_logp)
    batch.is_weight[rows] = torch.where(kept.bool(), weight, torch.ones_like(weight))
    return metrics


def grouped_length_order(batch: Batch) -> torch.Tensor:
    """A sort key per row: groups in order of their longest row, a group's rows together."""
    lengths = batch.attention_mask.sum(dim=1)
    if not len(lengths):
        return lengths
    longest = torch.zeros(int(batch.group.max()) + 1, dtype=lengths.dtype).scatter_reduce(
        0, batch.group, lengths, reduce="amax")
    return longest[batch.group] * (int(batch.group.max()) + 1) + batch.group


def idle_pass(model, plan: UpdatePlan) -> None:
    """A forward and backward of zero loss through the learner's own pass: a sharded rank with
    fewer microbatches than the others in an optimizer step runs these to take part in the
    layers' gathers and the gradient reduction."""
    device = next(model.parameters()).device
    ids = torch.zeros((1, 2), dtype=torch.long, device=device)
    ones = torch.ones((1, 1), device=device)
    logp, _ = row_logprobs(model, ids, torch.ones_like(ids), torch.tensor([1]), ones, plan.temperature, plan.bf16,
                           plan.share_prompts)
    (logp.sum() * 0).backward()


def loss_terms() -> list[str]:
    """Every loss term a registered row loss can add to (the same list on every rank)."""
    return sorted({ROW_LOSSES.get(name).term for name in ROW_LOSSES.names()} | {"policy"})


def update_policy(model, optimizer, scheduler, batch: Batch, algo: AlgoConfig, plan: UpdatePlan = UpdatePlan(),
                  off: OffPolicySpec = OffPolicySpec(), reference=None, generator=None,
                  ranks: Ranks = SINGLE) -> dict[str, float]:
    """PPO epochs; one optimizer step per minibatch, its gradient accumulated over microbatches
    so memory is bounded by the microbatch; returns averaged metrics. Microbatches take a
    minibatch's rows group by group, groups in order of their longest row, and are cut to their
    longest row, so little of a forward pass is padding and a group's prompt is run once.

    Rows whose advantage is 0 have zero gradient when no entropy or KL term is on, so they are
    not run through the model (`plan.skip_zero_advantage`); the aggregation still divides by the
    whole minibatch, so the gradient is exactly the same (zero-variance groups are often most of
    a batch: this is the largest saving of a step).

    With several ranks (`ranks`, rlvr.train.distributed) each holds its share of the step's groups:
    every rank runs the same number of optimizer steps, each term is divided by its global
    normalizer (summed over the ranks before the backward pass) and the gradients are summed (one
    all-reduce, or FSDP2's reduce-scatter when `model` is sharded, rlvr.train.sharding), so the
    update is the one a single process makes on the whole batch (tests/test_distributed.py)."""
    rows = batch.input_ids.shape[0]
    inert = (batch.advantages == 0) & ~batch.without_advantage()
    skip = plan.skip_zero_advantage and not terms_without_advantage(algo, reference)
    # plan.minibatch counts rows of the global batch: each rank takes its share of each
    minibatch = -(-plan.minibatch // ranks.world) if plan.minibatch else rows
    minibatches = ranks.max(-(-rows // max(minibatch, 1)))
    microbatch = min(plan.microbatch or minibatch, minibatch)
    terms_all = loss_terms()
    sharded = is_sharded(model)
    parameters = [p for p in model.parameters() if p.requires_grad]
    order_key = grouped_length_order(batch)
    loss_cfg = loss_config(algo, plan)
    model.train()
    totals: dict[str, float] = {}
    updates = 0
    t0 = time.perf_counter()
    traffic_before = (ranks.traffic.seconds, ranks.traffic.bytes)
    for _ in range(plan.epochs):
        order = torch.randperm(rows, generator=generator)
        for number in range(minibatches):
            mini = order[number * minibatch : (number + 1) * minibatch]
            full = batch.term_masks(mini)
            local = [aggregation_weight(algo.aggregation, full[t]) if t in full else 0.0 for t in terms_all]
            sums = ranks.sum([*local, float(batch.loss_mask[mini].sum())])  # one collective
            if sums[-1] == 0:  # no rank has a token to train in this minibatch
                continue
            normalizer = dict(zip(terms_all, sums))
            optimizer.zero_grad(set_to_none=True)
            step_metrics: dict[str, float] = {"loss": 0.0}
            micro_count = 0
            active = mini[~inert[mini]] if skip else mini
            active = active[torch.argsort(order_key[active], stable=True)]
            micros = [active[m0 : m0 + microbatch] for m0 in range(0, len(active), microbatch)]
            micros = [idx for idx in micros if batch.loss_mask[idx].sum() > 0]
            # a sharded learner's forward and backward are collectives: every rank runs as many
            passes = ranks.max(len(micros)) if sharded else len(micros)
            for number_in_step in range(passes):
                if sharded:  # reduce the gradients once, in the last backward of the optimizer step
                    model.set_requires_gradient_sync(number_in_step == passes - 1)
                if number_in_step >= len(micros):
                    idle_pass(model, plan)
                    continue
                idx = micros[number_in_step]
                terms, masks, metrics = minibatch_loss(model, batch, idx, algo, off, loss_cfg, plan, reference)
                loss = sum(value * aggregation_weight(algo.aggregation, masks[name]) / max(normalizer[name], 1e-9)
                           for name, value in terms.items())
                loss.backward()
                step_metrics["loss"] += loss.item()
                for key, value in metrics.items():
                    step_metrics[key] = step_metrics.get(key, 0.0) + value
                micro_count += 1
            for key in step_metrics:
                if key != "loss":
                    step_metrics[key] /= max(micro_count, 1)
            if not sharded:
                ranks.sum_gradients(parameters)
            norm = torch.nn.utils.clip_grad_norm_(parameters, plan.grad_clip)
            step_metrics["grad_norm"] = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
            optimizer.step()
            for key, value in step_metrics.items():
                totals[key] = totals.get(key, 0.0) + value
            updates += 1
    if updates:  # the learning-rate schedule counts training steps that updated the policy
        scheduler.step()
    out = {key: value / max(updates, 1) for key, value in totals.items()}
    out["learn_s"] = time.perf_counter() - t0
    out["train_tokens"] = float(batch.loss_mask.sum()) * plan.epochs
    if ranks.world > 1:  # what the update's collectives cost (waiting included)
        out["comm_s"] = ranks.traffic.seconds - traffic_before[0]
        out["comm_bytes"] = ranks.traffic.bytes - traffic_before[1]
    return out
