"""`rlvr distill`: a student learns from a teacher, one step at a time.

    rlvr distill CONFIG.yaml            # a new run in cfg.output
    rlvr distill --resume RUN_DIR       # continue from the latest checkpoint, exactly

A step draws `batch_size` problems (a function of seed and step, so a resumed run draws the same)
and takes one of two kinds of update:
- on fixed sequences (reference solutions or teacher samples), or, with probability
  `on_policy_fraction`, on the student's own samples (GKD): the chosen divergence between the
  student's and the teacher's next-token distributions at every completion token, averaged over a
  sequence's tokens, then over the sequences; the vocabulary is cut into token chunks whose
  logits are recomputed in the backward pass, never N x V at once;
- `on_policy`: the student samples `rollouts_per_prompt` completions, the teacher's log-probs
  of the sampled tokens give the dense reward log p_T - log p_S per token (plus the verifiable
  reward's group advantage, `verifier_coef`), trained with the trainer's policy loss (ppo_clip)
  and aggregation (rlvr.algo).
Metrics, checkpoints, resume, held-out evaluation, trackers and the report are `rlvr train`'s.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from rlvr.distill.config import DistillConfig
from rlvr.distill.losses import DIVERGENCES, DistillLossConfig, on_policy_advantages, sequence_nll
from rlvr.models import model_path, precision_note, resolve_device, resolve_precision
from rlvr.problems import Problem
from rlvr.train.forward import _decoder, policy_logprobs

CHUNK = 1024  # completion tokens whose logits exist at once (per model)


@dataclass
class Sequence:
    """A prompt and a completion the student is trained on, as token ids."""

    problem_id: str
    ids: list[int]
    prompt_len: int
    index: int = 0  # which of the problem's sequences (teacher samples from rlvr eval: several)

    @property
    def key(self) -> str:
        return f"{self.problem_id}#{self.index}"


def save_sequences(path: Path, sequences: list[Sequence]) -> None:
    """Sequences as JSONL, written then renamed (a killed run leaves none half-written)."""
    part = path.with_suffix(".tmp")
    part.write_text("".join(json.dumps({"problem_id": s.problem_id, "ids": s.ids, "prompt_len": s.prompt_len})
                            + "\n" for s in sequences))
    part.replace(path)


def load_sequences(path: Path) -> list[Sequence]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Sequence(r["problem_id"], r["ids"], r["prompt_len"]) for r in rows]


def load_teacher(cfg: DistillConfig):
    """(teacher, its tokenizer)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    teacher_dir = model_path(cfg.teacher)
    if not teacher_dir.exists():
        raise FileNotFoundError(f"teacher: {cfg.teacher} does not exist")
    return AutoModelForCausalLM.from_pretrained(teacher_dir, dtype=torch.float32).eval(), \
        AutoTokenizer.from_pretrained(teacher_dir)


def load_student(cfg: DistillConfig, tokenizer, resume_from: Path | None):
    """The student: the checkpoint to resume, `student`, or a fresh `new_student` on the teacher's
    tokenizer. A vocabulary other than the teacher's is one error naming both."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from rlvr.models.tiny import build_model

    vocab_size = AutoConfig.from_pretrained(model_path(cfg.teacher)).vocab_size
    if resume_from is not None:
        student = AutoModelForCausalLM.from_pretrained(resume_from, dtype=torch.float32)
    elif cfg.student is not None:
        student_dir = model_path(cfg.student)
        if not student_dir.exists():
            raise FileNotFoundError(f"student: {cfg.student} does not exist")
        if AutoTokenizer.from_pretrained(student_dir).get_vocab() != tokenizer.get_vocab():
            raise ValueError(f"student {cfg.student} and teacher {cfg.teacher} have different vocabularies: "
                             "distillation compares their next-token distributions token by token")
        student = AutoModelForCausalLM.from_pretrained(student_dir, dtype=torch.float32)
    else:
        spec = cfg.new_student
        student = build_model(tokenizer, hidden=spec.hidden, layers=spec.layers, heads=spec.heads, seed=cfg.seed,
                              vocab_size=vocab_size)
    if student.get_output_embeddings().weight.shape[0] != vocab_size:
        raise ValueError(f"student and teacher {cfg.teacher}: output layers of different vocabulary sizes")
    return student


def load_problems(cfg: DistillConfig) -> list[Problem]:
    """The run's problems, as `rlvr sft` reads them; only training on the reference solutions
    needs them to have one (teacher samples and the student's own do not)."""
    from rlvr.config import SFTConfig
    from rlvr.train.sft import synthetic_training_problems, training_problems

    sft = SFTConfig(model=cfg.teacher, suite=cfg.suite, suite_seeds=cfg.suite_seeds, per_task=cfg.per_task,
                    suite_version=cfg.suite_version, data=cfg.data)
    if cfg.sequences == "ground_truth" and cfg.loss != "on_policy":
        return training_problems(sft)
    if cfg.data is not None:
        from rlvr.suites.loaders import load_data

        return load_data(cfg.data)
    if cfg.suite.startswith("synthetic"):
        return synthetic_training_problems(sft)
    from rlvr.suites import load_suite

    return load_suite(cfg.suite)


def fixed_sequences(cfg: DistillConfig, problems: list[Problem], tokenizer, teacher, log) -> dict[str, list[Sequence]]:
    """problem id -> its fixed sequences: the reference solution; the teacher's samples from
    `teacher_samples`; or one teacher sample drawn once and kept in OUTPUT/teacher-samples.jsonl
    (so a resumed run trains on the same ones)."""
    from rlvr.train.sft import encode_example

    if cfg.sequences == "ground_truth":
        out = {}
        for p in problems:
            ids, labels = encode_example(tokenizer, p)
            out[p.id] = [Sequence(p.id, ids, sum(1 for y in labels if y == -100))]
        return out
    if cfg.teacher_samples:
        return eval_samples(cfg, problems, tokenizer, log)
    path = cfg.output / "teacher-samples.jsonl"
    if not path.exists():
        log(f"sampling the teacher once on {len(problems)} problems")
        save_sequences(path, sample_once(teacher, tokenizer, problems, cfg.max_new_tokens, seed=cfg.seed))
    return {s.problem_id: [s] for s in load_sequences(path)}


def eval_samples(cfg: DistillConfig, problems: list[Problem], tokenizer, log) -> dict[str, list[Sequence]]:
    """The teacher's completions in `teacher_samples` (samples.jsonl of `rlvr eval`), each after
    its problem's prompt rendered in the thinking mode the samples were drawn with; a completion
    that stopped on its own ends with the end token."""
    from rlvr.eval.samples import read_samples, sampling_settings
    from rlvr.sampling.thinking import Thinking, encode_prompt

    by_id = {p.id: p for p in problems}
    out: dict[str, list[Sequence]] = {}
    read, unknown = 0, set()
    for path in cfg.teacher_samples:
        thinking = Thinking.parse(str(sampling_settings(path).get("thinking") or "on"))
        for row in read_samples(path, "teacher_samples"):
            read += 1
            problem = by_id.get(row["problem_id"])
            if problem is None:
                unknown.add(row["problem_id"])
                continue
            if cfg.teacher_samples_correct_only and not row["correct"]:
                continue
            prompt_ids = encode_prompt(tokenizer, problem.prompt, thinking)
            completion = tokenizer(row["text"], add_special_tokens=False)["input_ids"]
            if row.get("finish_reason") != "length":
                completion.append(tokenizer.eos_token_id)
            kept = out.setdefault(problem.id, [])
            kept.append(Sequence(problem.id, prompt_ids + completion, len(prompt_ids), len(kept)))
    if not out:
        which = "correct samples" if cfg.teacher_samples_correct_only else "samples"
        raise ValueError(f"teacher_samples: no {which} of this run's problems among {read} rows "
                         f"({len(unknown)} of their problems are not in the run's data): the samples must come from "
                         "`rlvr eval` on the same problems")
    log(f"teacher_samples: {sum(map(len, out.values()))} sequences of {len(out)} problems "
        f"(of {len(problems)}; {len(unknown)} other problems of the files are not in the run's data)")
    return out


def sample_once(model, tokenizer, problems: list[Problem], max_new_tokens: int, seed: int) -> list[Sequence]:
    """One completion per problem from `model` (temperature 1), ending with its end token."""
    from rlvr.sampling.base import SamplingParams
    from rlvr.sampling.torch_backend import TorchSampler

    sampler = TorchSampler(model, tokenizer, batch_size=64)
    params = SamplingParams(n=1, temperature=1.0, max_new_tokens=max_new_tokens, seed=seed)
    groups = sampler.sample([p.prompt for p in problems], params)
    model.train(False)
    return [Sequence(p.id, g[0].prompt_ids + g[0].token_ids, len(g[0].prompt_ids)) for p, g in zip(problems, groups)]


def pad(sequences: list[Sequence], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids [B, L], attention [B, L], mask [B, L-1]: 1 where position t predicts a completion token)."""
    width = max(len(s.ids) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    mask = torch.zeros((len(sequences), width - 1))
    for i, s in enumerate(sequences):
        ids[i, : len(s.ids)] = torch.tensor(s.ids)
        attention[i, : len(s.ids)] = 1
        mask[i, s.prompt_len - 1 : len(s.ids) - 1] = 1
    return ids, attention, mask


def completion_states(model, ids, attention, mask, bf16: bool) -> torch.Tensor:
    """The decoder's last hidden states at the positions `mask` selects -> [N, H] (float32)."""
    with torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=bf16):
        hidden = _decoder(model)(input_ids=ids, attention_mask=attention).last_hidden_state[:, :-1]
    return hidden[mask.bool().to(hidden.device)].float()


def token_losses(student, hidden: torch.Tensor, targets: torch.Tensor, cfg: DistillConfig,
                 teacher_logits) -> torch.Tensor:
    """The per-token loss [N] at the completion tokens whose student states are `hidden`.
    `teacher_logits(start, end)` -> the teacher's logits there ([n, V], or (values, indices) of its
    top k); each chunk's student logits are recomputed in the backward pass (checkpointing)."""
    from torch.utils.checkpoint import checkpoint

    weight = student.get_output_embeddings().weight
    loss_cfg = DistillLossConfig(temperature=cfg.temperature, beta=cfg.beta)
    out = []
    for start in range(0, hidden.shape[0], CHUNK):
        end = min(start + CHUNK, hidden.shape[0])
        if cfg.loss == "sequence_kd":
            out.append(checkpoint(lambda h, t: sequence_nll(h @ weight.T, t), hidden[start:end], targets[start:end],
                                  use_reentrant=False))
            continue
        teacher = teacher_logits(start, end)
        indices = None
        if isinstance(teacher, tuple):  # stored top k: both distributions over the teacher's k tokens
            teacher, indices = teacher

        def chunk(h, z_t, idx=indices):
            z_s = h @ weight.T
            return DIVERGENCES.get(cfg.loss)(z_s if idx is None else z_s.gather(1, idx), z_t, loss_cfg)

        out.append(checkpoint(chunk, hidden[start:end], teacher.float(), use_reentrant=False))
    return torch.cat(out) if out else hidden.new_zeros(0)


def sequence_means(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token values [N] (in mask order) -> each sequence's mean over its tokens [B] (0 for none)."""
    rows = mask.bool().nonzero()[:, 0].to(values.device)
    sums = torch.zeros(mask.shape[0], dtype=values.dtype, device=values.device).index_add(0, rows, values)
    return sums / mask.sum(dim=1).clamp(min=1).to(values.device)


@torch.no_grad()
def teacher_cache(teacher, sequences: dict[str, Sequence], cfg: DistillConfig, pad_id: int, device) -> dict:
    """problem id -> the teacher's logits at its completion tokens, float16: [n, V], or with
    `teacher_top_k` (values [n, k], indices [n, k]). Written to OUTPUT/teacher-logits.pt once."""
    path = cfg.output / "teacher-logits.pt"
    if path.exists():
        return torch.load(path)
    cache, items = {}, [s for kept in sequences.values() for s in kept]
    weight = teacher.get_output_embeddings().weight
    for start in range(0, len(items), cfg.microbatch_size):
        chunk = items[start : start + cfg.microbatch_size]
        ids, attention, mask = pad(chunk, pad_id)
        hidden = completion_states(teacher, ids.to(device), attention.to(device), mask, False)
        offset = 0
        for seq, n in zip(chunk, mask.sum(dim=1).long().tolist()):
            logits = hidden[offset : offset + n] @ weight.T
            offset += n
            if cfg.teacher_top_k:
                values, indices = logits.topk(min(cfg.teacher_top_k, logits.shape[1]), dim=1)
                cache[seq.key] = (values.half().cpu(), indices.int().cpu())
            else:
                cache[seq.key] = logits.half().cpu()
    part = path.with_suffix(".tmp")
    torch.save(cache, part)
    part.replace(path)
    return cache


def cached_logits(cache: dict, chunk: list[Sequence], device):
    """The stored teacher logits of a microbatch's sequences, in the order of their tokens."""
    parts = [cache[s.key] for s in chunk]
    if isinstance(parts[0], tuple):
        values = torch.cat([v for v, _ in parts]).to(device)
        indices = torch.cat([i for _, i in parts]).long().to(device)
        return lambda start, end: (values[start:end], indices[start:end])
    logits = torch.cat(parts).to(device)
    return lambda start, end: logits[start:end]


@dataclass
class DistillState:
    teacher: torch.nn.Module | None  # None once its logits are stored and no step needs it live
    student: torch.nn.Module
    tokenizer: object
    optimizer: torch.optim.Optimizer
    scheduler: object
    problems: list[Problem]
    sequences: dict[str, list[Sequence]]
    cache: dict | None
    device: torch.device
    bf16: bool
    teacher_device: torch.device | None = None  # the student's device unless set

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0


def divergence_step(state: DistillState, cfg: DistillConfig, sequences: list[Sequence], own_samples: bool) -> dict:
    """One optimizer step of the chosen divergence (or sequence_kd) over `sequences`."""
    times = {"teacher": 0.0, "student": 0.0}
    loss_total, tokens = 0.0, 0
    state.student.train()
    state.optimizer.zero_grad(set_to_none=True)
    for start in range(0, len(sequences), cfg.microbatch_size):
        chunk = sequences[start : start + cfg.microbatch_size]
        ids, attention, mask = pad(chunk, state.pad_id)
        ids, attention = ids.to(state.device), attention.to(state.device)
        t0 = time.perf_counter()
        provider = None
        if cfg.loss != "sequence_kd":
            if state.cache is not None and not own_samples:
                provider = cached_logits(state.cache, chunk, state.device)
            else:
                with torch.no_grad():
                    teacher_hidden = completion_states(state.teacher, ids.to(state.teacher_device),
                                                       attention.to(state.teacher_device), mask, False)
                head = state.teacher.get_output_embeddings().weight
                provider = lambda s, e, h=teacher_hidden, w=head: (h[s:e] @ w.T).to(state.device)  # noqa: E731
        t1 = time.perf_counter()
        hidden = completion_states(state.student, ids, attention, mask, state.bf16)
        per_token = token_losses(state.student, hidden, ids[:, 1:][mask.bool().to(state.device)], cfg, provider)
        loss = sequence_means(per_token, mask).sum() / len(sequences)  # mean over tokens, then sequences
        loss.backward()
        times["teacher"] += t1 - t0
        times["student"] += time.perf_counter() - t1
        loss_total += loss.item()
        tokens += int(mask.sum())
    norm = torch.nn.utils.clip_grad_norm_(state.student.parameters(), cfg.grad_clip)
    state.optimizer.step()
    state.scheduler.step()
    return {"loss": loss_total, "grad_norm": float(norm), "train_tokens": tokens, "on_student_samples": own_samples,
            "time_s": times}


def on_policy_step(state: DistillState, cfg: DistillConfig, scorer, step: int) -> dict:
    """The student samples; log p_T - log p_S per sampled token (plus the verifier's group
    advantage) is the advantage of the trainer's ppo_clip loss, aggregated per sequence."""
    from rlvr.algo.advantages import ADVANTAGES, AdvantageConfig
    from rlvr.algo.losses import AGGREGATIONS, POLICY_LOSSES, LossConfig
    from rlvr.rollouts import collect_groups
    from rlvr.sampling.base import SamplingParams
    from rlvr.sampling.torch_backend import TorchSampler
    from rlvr.train.learner import pad_rollouts

    sampler = TorchSampler(state.student, state.tokenizer, batch_size=64)
    params = SamplingParams(temperature=1.0, max_new_tokens=cfg.max_new_tokens)
    groups, stats = collect_groups(sampler, scorer, state.problems, cfg.batch_size, cfg.rollouts_per_prompt, params,
                                   step, cfg.seed, False, 1)
    times = {"sampling": stats.sample_s, "scoring": stats.score_s, "teacher": 0.0, "student": 0.0}
    batch = pad_rollouts(groups, False, state.pad_id)
    verifier = ADVANTAGES.get("grpo")(batch.rewards, batch.group, AdvantageConfig())
    aggregate = AGGREGATIONS.get("seq_mean_token_mean")
    total = aggregate.weight(batch.loss_mask)
    state.student.train()
    state.optimizer.zero_grad(set_to_none=True)
    loss_total, gap, tokens = 0.0, 0.0, 0
    for start in range(0, len(batch.rewards), cfg.microbatch_size):
        rows = slice(start, start + cfg.microbatch_size)
        width = int(batch.attention_mask[rows].sum(dim=1).max())
        ids = batch.input_ids[rows, :width].to(state.device)
        attention = batch.attention_mask[rows, :width].to(state.device)
        mask = batch.loss_mask[rows, : width - 1].to(state.device)
        t1 = time.perf_counter()
        with torch.no_grad():
            on_teacher = [t.to(state.teacher_device) for t in (ids, attention, mask)]
            teacher_logp = policy_logprobs(state.teacher, *on_teacher, 1.0)[0].to(state.device)
        t2 = time.perf_counter()
        student_logp, _ = policy_logprobs(state.student, ids, attention, mask, 1.0, state.bf16)
        advantages = on_policy_advantages(student_logp.float(), teacher_logp.float(), mask, cfg.coef,
                                          verifier[rows].to(state.device), cfg.verifier_coef)
        per_token, _ = POLICY_LOSSES.get("ppo_clip")(student_logp, student_logp.detach(), advantages, mask)
        loss = aggregate(per_token, mask, LossConfig()) * aggregate.weight(mask) / max(total, 1e-9)
        loss.backward()
        times["teacher"] += t2 - t1
        times["student"] += time.perf_counter() - t2
        loss_total += loss.item()
        gap += ((student_logp - teacher_logp).detach() * mask).sum().item()
        tokens += int(mask.sum())
    norm = torch.nn.utils.clip_grad_norm_(state.student.parameters(), cfg.grad_clip)
    state.optimizer.step()
    state.scheduler.step()
    rewards = [r for _, r, _ in stats.drawn]
    return {"loss": loss_total, "grad_norm": float(norm), "train_tokens": tokens,
            "reward_mean": sum(rewards) / max(len(rewards), 1),
            "pass@1_batch": sum(c for _, _, c in stats.drawn) / max(len(stats.drawn), 1),
            # the sample estimate of KL(student || teacher) per token, which the reward lowers
            "reverse_kl_estimate": gap / max(tokens, 1), "sampled_tokens": stats.tokens, "time_s": times}


def run_step(state: DistillState, cfg: DistillConfig, scorer, step: int) -> dict:
    t0 = time.perf_counter()
    if cfg.loss == "on_policy":
        record = on_policy_step(state, cfg, scorer, step)
    else:
        rng = random.Random(f"{cfg.seed}/{step}")
        chosen = rng.sample(state.problems, min(cfg.batch_size, len(state.problems)))
        own = rng.random() < cfg.on_policy_fraction
        start = time.perf_counter()
        sequences = sample_once(state.student, state.tokenizer, chosen, cfg.max_new_tokens,
                                seed=cfg.seed * 100_003 + step) if own else [pick(state.sequences[p.id], rng)
                                                                              for p in chosen]
        sampled = time.perf_counter() - start if own else 0.0
        record = divergence_step(state, cfg, sequences, own)
        record["time_s"]["sampling"] = sampled
    record["time_s"]["total"] = time.perf_counter() - t0
    return {"kind": "step", "step": step + 1, **record, "lr": state.scheduler.get_last_lr()[0]}


def pick(sequences: list[Sequence], rng: random.Random) -> Sequence:
    """One of a problem's sequences (a problem with one draws nothing, as before there were several)."""
    return sequences[0] if len(sequences) == 1 else rng.choice(sequences)


def evaluate_student(student, tokenizer, cfg: DistillConfig, eval_problems: list[Problem], out: Path) -> dict:
    """The student's held-out evaluation into `out`, as `rlvr train` evaluates a policy."""
    from rlvr.sampling.torch_backend import TorchSampler
    from rlvr.train.loop import evaluate_with

    return evaluate_with(TorchSampler(student, tokenizer, batch_size=64), eval_problems, eval_config(cfg), out)


def eval_config(cfg: DistillConfig):
    """The student's held-out evaluation, as `rlvr train` evaluates a policy."""
    from rlvr.config import TrainConfig

    return TrainConfig.model_validate({
        "model": cfg.teacher, "output": str(cfg.output), "seed": cfg.seed,
        "data": {"suite": cfg.suite or "synthetic"}, "evaluation": cfg.evaluation.model_dump(),
        "rollout": {"max_new_tokens": cfg.max_new_tokens, "temperature": 1.0, "sampler_batch_size": 64,
                    "verifier_workers": cfg.verifier_workers}})


def setup(cfg: DistillConfig, checkpoint: Path | None, problems: list[Problem], log) -> tuple[DistillState, int]:
    from rlvr.train.checkpoint import load_state
    from rlvr.train.sharding import Policy

    torch.manual_seed(cfg.seed)
    device = torch.device(resolve_device(cfg.device))
    teacher_device = torch.device(resolve_device(cfg.teacher_device)) if cfg.teacher_device else device
    teacher, tokenizer = load_teacher(cfg)
    teacher.to(teacher_device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    sequences = fixed_sequences(cfg, problems, tokenizer, teacher, log) if cfg.loss != "on_policy" else {}
    if sequences:  # steps draw among the problems that have a sequence (teacher_samples may miss some)
        problems = [p for p in problems if p.id in sequences]
    cache = teacher_cache(teacher, sequences, cfg, pad_id, teacher_device) if cfg.precompute_teacher else None
    if cache is not None and not cfg.on_policy_fraction:  # no step needs the teacher live: free it first
        teacher = None
    student = load_student(cfg, tokenizer, checkpoint).to(device)
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=0.0)
    warmup = max(cfg.warmup_steps, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    step = load_state(checkpoint, optimizer, scheduler, policy=Policy(student, student)) if checkpoint else 0
    state = DistillState(teacher, student, tokenizer, optimizer, scheduler, problems, sequences, cache, device,
                         resolve_precision(cfg.precision, str(device)) == "bf16", teacher_device)
    return state, step


def distill(cfg: DistillConfig, resume: bool = False, log=print, overwrite: bool = False) -> Path:
    """Run (or `resume`) the distillation of `cfg`; returns the report's path."""
    from rlvr.scoring import Scorer
    from rlvr.train.checkpoint import latest_checkpoint, save_checkpoint
    from rlvr.train.loop import eval_record
    from rlvr.train.loop import load_problems as held_out
    from rlvr.train.report import write_train_report
    from rlvr.train.run_dir import RunDirectory
    from rlvr.train.sharding import Policy

    run_dir = cfg.output
    records = RunDirectory(run_dir, cfg)
    old = records.earlier_run(resume, overwrite)
    problems = load_problems(cfg)  # bad data fails here, before the run directory changes
    view = eval_config(cfg)
    eval_problems = held_out(view)[1]
    records.create(old)
    checkpoint = latest_checkpoint(run_dir) if resume else None
    state, step = setup(cfg, checkpoint, problems, log)
    note = precision_note(cfg.precision, str(state.device))
    if note:
        log(note)
    records.truncate(records.metrics_until(step), step)

    def evaluation(label: str) -> dict:
        metrics = evaluate_student(state.student, state.tokenizer, cfg, eval_problems, run_dir / f"eval-{label}")
        return eval_record(metrics, label, cfg.evaluation.n)

    with Scorer(workers=cfg.verifier_workers) as scorer, records.open():
        if step == 0 and eval_problems and cfg.evaluation.before:
            records.write({"step": 0, **evaluation("before")})
        while step < cfg.steps:
            record = run_step(state, cfg, scorer, step)
            step += 1
            records.write(record)
            if cfg.evaluation.every and step % cfg.evaluation.every == 0 and step < cfg.steps and eval_problems:
                records.write({"step": step, **evaluation(f"step-{step}")})
            log(f"step {step}/{cfg.steps} loss {record['loss']:.4f} {record['time_s']['total']:.1f}s")
            if step % cfg.checkpointing.every == 0 or step == cfg.steps:
                save_checkpoint(run_dir, step, Policy(state.student, state.student), state.tokenizer,
                                state.optimizer, state.scheduler, cfg.checkpointing.keep)
        if eval_problems:
            records.write({"step": step, **evaluation("after")})
    return write_train_report(run_dir, title="rlvr distill")
