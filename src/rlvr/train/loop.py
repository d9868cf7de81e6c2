"""The RLVR training loop: rollout -> score -> advantages -> update -> log, one step at a time.

    rlvr train CONFIG.yaml            # a new run in cfg.output
    rlvr train --resume RUN_DIR       # continue from the latest checkpoint, exactly
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rlvr.config import TrainConfig
from rlvr.explore import Method, StepContext, make_method
from rlvr.models import model_path, precision_note, resolve_device, resolve_precision
from rlvr.problems import Problem
from rlvr.rollouts import Group, RolloutStats, collect_groups
from rlvr.sampling import TrainingSampler, resolve_engine, training_sampler
from rlvr.sampling.base import SamplingParams
from rlvr.sampling.thinking import skipped_thinking
from rlvr.scoring import Scorer
from rlvr.suites import select_problems, spread
from rlvr.train.checkpoint import latest_checkpoint, load_state, save_checkpoint
from rlvr.train.distributed import SINGLE, Ranks
from rlvr.train.learner import UpdatePlan, build_batch, correct_engine_mismatch, empty_batch, update_policy
from rlvr.train.run_dir import RunDirectory
from rlvr.train.sharding import Policy, make_policy


@dataclass
class TrainState:
    policy: Policy  # the learner's module and the full weights the engine samples with
    tokenizer: Any
    optimizer: torch.optim.Optimizer
    scheduler: Any
    sampler: TrainingSampler
    problems: list[Problem]
    eval_problems: list[Problem]
    reference: Any
    step: int
    method: Method

    @property
    def model(self):
        """The whole model with the current weights (sampling, evaluation, methods, checkpoints)."""
        return self.policy.full


def load_problems(cfg: TrainConfig) -> tuple[list[Problem], list[Problem]]:
    """The training problems and the held-out ones of a run."""
    data, evaluation = cfg.data, cfg.evaluation
    train = select_problems(data.suite, data.file, data.tasks, data.domains)
    domains = evaluation.domains if evaluation.domains is not None else data.domains
    held_out = select_problems(evaluation.suite, None, data.tasks, domains) if evaluation.suite else []
    return train, spread(held_out, cfg.evaluation.problems)


def setup(cfg: TrainConfig, resume_from: Path | None, problems: list[Problem],
          eval_problems: list[Problem], ranks: Ranks = SINGLE) -> TrainState:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(cfg.seed)
    source = resume_from or model_path(cfg.model)
    if not source.exists():
        raise FileNotFoundError(f"model: {source} does not exist")
    device = resolve_device(cfg.device)
    if cfg.lora is None:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32).to(device)
    else:
        model = lora_model(cfg, resume_from).to(device)
    tokenizer = AutoTokenizer.from_pretrained(source)
    policy = make_policy(model, ranks, cfg.learner.sharding, cfg.learner.reshard_after_forward)
    trainable = [p for p in policy.trainer.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=cfg.learner.lr, weight_decay=0.0)
    warmup = max(cfg.learner.warmup_steps, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    step = load_state(resume_from, optimizer, scheduler, ranks, policy) if resume_from else 0
    reference = None
    if cfg.algo.kl_estimator:
        reference = AutoModelForCausalLM.from_pretrained(model_path(cfg.model), dtype=torch.float32).to(device).eval()
    method = make_method(cfg)
    rollout = cfg.rollout
    sampler = training_sampler(resolve_engine(rollout.engine, device), policy.full, tokenizer,
                               rollout.sampler_batch_size, prepack_linears=rollout.prepack_linears, model_dir=source,
                               max_model_len=max_model_len(cfg), kv_cache_gib=rollout.kv_cache_gib,
                               gpu_memory_utilization=rollout.gpu_memory_utilization, seed=rank_seed(cfg.seed, ranks),
                               server_url=rollout.server_url, server_model=rollout.server_model,
                               weights_dir=cfg.output / "engine-weights")
    return TrainState(policy, tokenizer, optimizer, scheduler, sampler, method.train_problems(problems), eval_problems,
                      reference, step, method)


def lora_model(cfg: TrainConfig, resume_from: Path | None):
    """The base model with LoRA adapters (fresh, or the checkpoint's adapters when resuming)."""
    from transformers import AutoModelForCausalLM

    try:
        from peft import LoraConfig, PeftModel, get_peft_model
    except ImportError as e:
        raise ImportError("lora: needs peft (pip install 'rlvr[lora]')") from e
    base = AutoModelForCausalLM.from_pretrained(model_path(cfg.model), dtype=torch.float32)
    if resume_from is not None:
        return PeftModel.from_pretrained(base, resume_from, is_trainable=True)
    spec = cfg.lora
    return get_peft_model(base, LoraConfig(r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                                           target_modules=spec.target_modules, task_type="CAUSAL_LM"))


def check_engine(cfg: TrainConfig) -> None:
    """The rollout engine's problems, before anything is loaded or written: an unsupported model or
    KV-cache budget for vllm, an unreachable server for vllm-server (one line each)."""
    engine = resolve_engine(cfg.rollout.engine, resolve_device(cfg.device))
    if engine == "vllm":
        from rlvr.sampling.vllm_backend import check_model

        check_model(model_path(cfg.model), max_model_len(cfg), cfg.rollout.kv_cache_gib)
    elif engine == "vllm-server":
        from rlvr.sampling.http_backend import HttpSampler, ServerError
        from rlvr.sampling.vllm_backend import EngineError

        try:
            HttpSampler(cfg.rollout.server_url, cfg.rollout.server_model, retries=1)  # asks for the served models
        except ServerError as e:
            raise EngineError(f"rollout.server_url: {e}") from None


def max_model_len(cfg: TrainConfig) -> int:
    """The longest sequence the vLLM engine holds: the generation budget plus room for the prompt."""
    return cfg.rollout.max_model_len or cfg.rollout.max_new_tokens + 512


def recomputes_logprobs(cfg: TrainConfig) -> bool:
    """Whether the trainer recomputes the behaviour log-probs (and logs the mismatch): always with
    an engine other than torch, which shares the trainer's module, and whenever a correction is set."""
    return resolve_engine(cfg.rollout.engine, resolve_device(cfg.device)) != "torch" or \
        cfg.algo.rollout_correction is not None


def update_plan(cfg: TrainConfig) -> UpdatePlan:
    learner = cfg.learner
    return UpdatePlan(epochs=learner.ppo_epochs, minibatch=learner.minibatch_size, microbatch=learner.microbatch_size,
                      grad_clip=learner.grad_clip, temperature=cfg.rollout.temperature,
                      bf16=resolve_precision(learner.precision, resolve_device(cfg.device)) == "bf16",
                      share_prompts=learner.share_prompts, skip_zero_advantage=learner.skip_zero_advantage,
                      max_new_tokens=cfg.rollout.max_new_tokens)


def _mean(values: list) -> float:
    return sum(values) / len(values) if values else float("nan")  # a step can keep no rollout


def step_metrics(step: int, groups: list[Group], rollout: RolloutStats, learn: dict, seconds: float) -> dict:
    """Rewards and batch pass@1 cover every rollout drawn (with dynamic sampling, the dropped
    zero-variance groups too, so the curve is not biased towards 0.5; `reward_mean_kept` is over
    the kept groups); lengths and truncation cover `groups`, the kept ones. Rollouts without a
    verdict (verifier errors) are in none of these, only in `verifier_errors`."""
    drawn = rollout.drawn or [(g.problem.domain, r, o.score.correct) for g in groups
                              for r, o in zip(g.rewards, g.rollouts)]
    rewards, correct = [r for _, r, _ in drawn], [c for _, _, c in drawn]
    by_domain: dict[str, list[float]] = {}
    for domain, reward, _ in drawn:
        by_domain.setdefault(domain, []).append(reward)
    kept = [r for g in groups for r in g.rollouts]
    return {
        "step": step + 1, "reward_mean": _mean(rewards),
        "reward_std": float(torch.tensor(rewards).std(unbiased=False)) if rewards else float("nan"),
        "reward_mean_kept": _mean([r.score.reward for r in kept]),
        "reward_by_domain": {d: _mean(v) for d, v in sorted(by_domain.items())},
        "pass@1_batch": _mean(correct),
        "zero_variance_frac": rollout.groups_zero_variance / max(rollout.groups_drawn, 1),
        "response_len_mean": _mean([len(r.completion_ids) for r in kept]),
        "truncated_frac": _mean([t for g in groups for t in g.truncated]),
        "thinking_skipped_frac": _mean([skipped_thinking(r.text) for r in kept]),
        "verifier_errors": rollout.verifier_errors,  # rollouts with no verdict, left out of the update
        "sampled_tokens": rollout.tokens,  # every rollout of the step, extra stages included (the budget)
        "sample_tok_s": rollout.tokens / max(rollout.sample_s, 1e-9),
        "train_tok_s": learn.get("train_tokens", 0) / max(learn.get("learn_s", 1e-9), 1e-9),
        "time_s": {"sampling": rollout.sample_s, "scoring": rollout.score_s, "learning": learn.get("learn_s", 0.0),
                   "recomputing_logprobs": learn.get("recompute_s", 0.0), "pushing_weights": learn.get("push_s", 0.0),
                   "communication": learn.get("comm_s", 0.0), "total": seconds},
        **{k: v for k, v in learn.items() if k not in ("learn_s", "train_tokens", "push_s", "recompute_s", "comm_s")},
        **rollout.extra,
    }


def eval_ks(n: int) -> list[int]:
    """Powers of two up to n, and n.

    >>> eval_ks(12)
    [1, 2, 4, 8, 12]
    """
    return sorted({2 ** i for i in range(n.bit_length()) if 2 ** i <= n} | {n})


def evaluate_with(sampler, problems: list[Problem], cfg: TrainConfig, run_dir: Path, ranks: Ranks = SINGLE) -> dict:
    """The held-out evaluation of a run's settings (eval_n samples, the training temperature and
    length, the eval seed) into `run_dir`, resumable; returns its metrics. With several ranks each
    samples its share of the batches into RUN_DIR/rank-R and rank 0 merges them (the samples one
    process would draw: each batch is seeded alike wherever it runs); the other ranks get {}."""
    from rlvr.eval.run import evaluate_sampler, merge_shards, sample_with

    n, rollout = cfg.evaluation.n, cfg.rollout
    params = SamplingParams(n=n, temperature=rollout.temperature, max_new_tokens=rollout.max_new_tokens, seed=cfg.seed)
    batch_problems = max(1, rollout.sampler_batch_size // n)
    if ranks.world == 1:
        return evaluate_sampler(problems, sample_with(sampler, params), run_dir, eval_ks(n), n,
                                rollout.verifier_workers or 2, batch_problems=batch_problems)
    evaluate_sampler(problems, sample_with(sampler, params), run_dir / f"rank-{ranks.rank}", eval_ks(n), n,
                     rollout.verifier_workers or 2, batch_problems=batch_problems, shard=(ranks.rank, ranks.world))
    ranks.barrier()
    if not ranks.main:
        return {}
    return merge_shards(run_dir, [run_dir / f"rank-{r}" for r in range(ranks.world)], eval_ks(n), "rlvr train")


def evaluate(state: TrainState, cfg: TrainConfig, label: str, ranks: Ranks = SINGLE) -> dict:
    metrics = evaluate_with(state.sampler, state.eval_problems, cfg, cfg.output / f"eval-{label}", ranks)
    return eval_record(metrics, label, cfg.evaluation.n)


def eval_record(metrics: dict, label: str, n: int) -> dict:
    """The metrics.jsonl row of a held-out evaluation ({} for a rank that did not merge it)."""
    if not metrics:
        return {}
    ks = eval_ks(n)

    def pass_at(m: dict) -> dict:  # a k that no problem had enough verdicts for is left out
        return {f"pass@{k}": m[f"pass@{k}"] for k in ks if f"pass@{k}" in m}

    return {"kind": "eval", "eval": label, **pass_at(metrics["overall"]),
            "verifier_errors": metrics["overall"].get("verifier_errors", 0),
            "by_domain": {d: pass_at(m) for d, m in metrics["by_domain"].items()}}


def rollout_rows(step: int, groups: list[Group], keep: int) -> list[dict]:
    """What rollouts.jsonl keeps of a step: `keep` of its trained rollouts, evenly spread over its
    groups (-1: all; 0: none), each with its prompt, completion and verdict."""
    pairs = [(g.problem, r) for g in groups for r in g.rollouts]
    chosen = pairs if keep < 0 else spread(pairs, keep) if keep else []
    return [{"step": step + 1, "problem_id": p.id, "domain": p.domain, "task": p.task, "source": r.source,
             "prompt": p.prompt_text(), "completion": r.text, "reward": r.score.reward, "correct": r.score.correct,
             "reason": r.score.reason} for p, r in chosen]


def rank_seed(seed: int, ranks: Ranks) -> int:
    """The run seed a rank draws its problems and samples with: the run's own on rank 0 (one
    process is rank 0 of 1), another on each other rank (the streams derived from it are
    independent of rank 0's; it stays small enough for every generator)."""
    return seed + 1_000_003 * ranks.rank


def run_step(state: TrainState, cfg: TrainConfig, scorer: Scorer, step: int,
             keep_rollouts=None, ranks: Ranks = SINGLE) -> dict:
    """One step: rollouts -> the method's additions -> advantages -> policy update; its metrics.
    `keep_rollouts` (if given) receives the rows of rollouts.jsonl. With several ranks each draws
    its share of the step's prompts on a stream of its own (dynamic sampling refills its share),
    and the update is the one of the whole batch (rlvr.train.learner.update_policy)."""
    t0 = time.perf_counter()
    spec = cfg.rollout
    seed = rank_seed(cfg.seed, ranks)
    params = SamplingParams(temperature=spec.temperature, max_new_tokens=spec.max_new_tokens)
    sampled, rollout = collect_groups(state.sampler, scorer, state.problems, spec.prompts_per_step // ranks.world,
                                      spec.rollouts_per_prompt, params, step, seed, spec.dynamic_sampling,
                                      spec.max_draws)
    context = StepContext(state.sampler, scorer, params, spec.rollouts_per_prompt, step, seed, rollout,
                          state.model, state.tokenizer)
    groups, rehearsal = state.method.expand(list(sampled), context), state.method.rehearsal(step)
    learn = {}
    has_rows = bool(groups or rehearsal)
    if ranks.sum([float(has_rows)])[0] > 0:  # every rank takes part in the update if any has rows
        pad = state.tokenizer.pad_token_id if state.tokenizer.pad_token_id is not None else 0
        batch = build_batch(groups, cfg.algo, cfg.learner.mask_truncated, pad, state.reference, spec.temperature,
                            rehearsal) if has_rows else empty_batch()
        shuffle = torch.Generator().manual_seed(cfg.seed * 7919 + step)
        plan = update_plan(cfg)
        t_recompute = time.perf_counter()
        mismatch = correct_engine_mismatch(state.model, batch, plan, cfg.algo.rollout_correction) \
            if recomputes_logprobs(cfg) and has_rows else {}
        mismatch["recompute_s"] = time.perf_counter() - t_recompute
        learn = update_policy(state.policy.trainer, state.optimizer, state.scheduler, batch, cfg.algo, plan,
                              state.method.offpolicy(), state.reference, shuffle, ranks)
        t_push = time.perf_counter()
        state.policy.refresh()
        state.sampler.sync_weights()
        learn = {**learn, **mismatch, "push_s": time.perf_counter() - t_push}
    record = {"kind": "step", **step_metrics(step, sampled, rollout, learn, time.perf_counter() - t0)}
    record["trained_rollouts"] = sum(len(g.rollouts) for g in groups) + len(rehearsal)
    if ranks.world > 1:
        record.update(global_counts(record, rollout, ranks))
    if keep_rollouts is not None:
        keep_rollouts(rollout_rows(step, groups, cfg.logging.save_rollouts))
    return record


def global_counts(record: dict, rollout: RolloutStats, ranks: Ranks) -> dict:
    """The step's totals over the ranks (rewards, batch pass@1, tokens, rollouts, groups): every
    rank gets the same, so all stop at the same token budget. Other metrics are rank 0's."""
    drawn = rollout.drawn
    local = [sum(r for _, r, _ in drawn), len(drawn), sum(c for _, _, c in drawn), record["sampled_tokens"],
             record["trained_rollouts"], rollout.groups_drawn, rollout.groups_zero_variance]
    rewards, count, correct, tokens, trained, groups, zero = ranks.sum(local)
    return {"reward_mean": rewards / max(count, 1), "pass@1_batch": correct / max(count, 1),
            "sampled_tokens": int(tokens), "trained_rollouts": int(trained),
            "zero_variance_frac": zero / max(groups, 1), "ranks": ranks.world}


def budget_reached(budget: int | None, spent: int, steps: int) -> bool:
    """Stop at the step boundary nearest the token budget: before a step whose expected size (the
    mean of the `steps` so far) would end farther past the budget than stopping leaves below it.
    Equal-budget comparisons then differ by about half a step at most, whatever a method's step size."""
    if not budget:
        return False
    return spent >= budget or (steps > 0 and spent + spent / steps / 2 >= budget)


def train(cfg: TrainConfig, resume: bool = False, log=print, overwrite: bool = False, on_step=None,
          ranks: Ranks = SINGLE) -> Path | None:
    """Run (or `resume`) the training of `cfg`; `log` gets one line per step and `on_step` each
    step's metrics record (the CLI's live view). Stops after `steps`, or at the step boundary
    nearest `token_budget` sampled tokens. Returns the report's path. With several `ranks`
    (torchrun) every rank samples and learns; rank 0 alone writes the run directory (metrics,
    rollouts, checkpoints, report) and returns the report; the others return None."""
    run_dir = cfg.output
    if not model_path(cfg.model).exists():  # before anything is loaded or written
        raise FileNotFoundError(f"model: {cfg.model} is neither a shipped model (tiny-reasoner) nor a directory")
    if cfg.rollout.prompts_per_step % ranks.world:
        raise ValueError(f"rollout.prompts_per_step: {cfg.rollout.prompts_per_step} groups do not split evenly "
                         f"over {ranks.world} ranks")
    check_engine(cfg)
    records = RunDirectory(run_dir, cfg, writes=ranks.main)
    old = records.earlier_run(resume, overwrite)
    problems, eval_problems = load_problems(cfg)  # a bad `tasks`/`domains` fails here, before the run dir changes
    records.create(old)
    ranks.barrier()  # the run directory is ready
    checkpoint = latest_checkpoint(run_dir) if resume else None
    if resume and checkpoint is None:
        log(f"no checkpoint in {run_dir}: starting from step 0")
    state = setup(cfg, checkpoint, problems, eval_problems, ranks)
    note = precision_note(cfg.learner.precision, resolve_device(cfg.device))
    if note:
        log(note)
    kept = records.metrics_until(state.step)
    ranks.barrier()  # every rank has read the records before rank 0 rewrites them
    records.truncate(kept, state.step)  # a resumed run drops the rows after its checkpoint
    spent = sum(r.get("sampled_tokens", 0) for r in kept)
    step = state.step
    with Scorer(workers=cfg.rollout.verifier_workers) as scorer, records.open():
        if step == 0 and state.eval_problems and cfg.evaluation.before:
            records.write({"step": 0, **evaluate(state, cfg, "before", ranks)})
        while step < cfg.steps and not budget_reached(cfg.token_budget, spent, step):
            record = run_step(state, cfg, scorer, step, records.keep_rollouts, ranks)
            step, spent = step + 1, spent + record["sampled_tokens"]
            records.write(record)
            if cfg.evaluation.every and step % cfg.evaluation.every == 0 and step < cfg.steps and state.eval_problems:
                records.write({"step": step, **evaluate(state, cfg, f"step-{step}", ranks)})
            if on_step:
                on_step(record)
            learned = (f"loss {record['loss']:.4f} entropy {record.get('entropy', float('nan')):.3f}"
                       if "loss" in record else "no update (no rollout with a gradient)")
            log(f"step {step}/{cfg.steps} reward {record['reward_mean']:.3f} pass@1 {record['pass@1_batch']:.3f} "
                f"{learned} no-think {record['thinking_skipped_frac']:.2f} {record['time_s']['total']:.1f}s")
            done = step == cfg.steps or budget_reached(cfg.token_budget, spent, step)
            if step % cfg.checkpointing.every == 0 or done:
                save_checkpoint(run_dir, step, state.policy, state.tokenizer, state.optimizer, state.scheduler,
                                cfg.checkpointing.keep, ranks)
        if state.eval_problems:
            records.write({"step": step, **evaluate(state, cfg, "after", ranks)})
    if not ranks.main:
        return None
    from rlvr.train.report import write_train_report

    return write_train_report(run_dir)

