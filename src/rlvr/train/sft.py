"""Supervised fine-tuning on Problems with reference solutions, for any causal LM.

Each example is the prompt rendered with the chat template (as a user turn, assistant turn
opened) followed by the solution and the end-of-turn token; the loss covers solution tokens
only (prompt tokens are masked with -100). AdamW, linear warmup then cosine decay, gradient
clipping; optionally bf16 autocast (fp32 master weights). The result is saved in Hugging Face
format (safetensors + tokenizer).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

from rlvr.config import SFTConfig
from rlvr.models import model_path, precision_note, resolve_device, resolve_precision
from rlvr.problems import Problem


def training_problems(cfg: SFTConfig) -> list[Problem]:
    if cfg.data is not None:
        from rlvr.suites.loaders import load_data

        problems = load_data(cfg.data)
    elif cfg.suite.startswith("synthetic"):
        problems = synthetic_training_problems(cfg)
    else:
        from rlvr.suites import load_suite

        problems = load_suite(cfg.suite)
    usable = [p for p in problems if p.meta.get("solution")]
    if not usable:
        raise ValueError("no training problem has a reference solution (meta.solution)")
    return usable


def synthetic_training_problems(cfg: SFTConfig) -> list[Problem]:
    """Every seed's problems, `per_task` per task and level, scaled by `task_weights`."""
    return [p for seed in cfg.suite_seeds for p in seed_problems(cfg, seed)]


def seed_problems(cfg: SFTConfig, seed: int) -> list[Problem]:
    from rlvr.suites.synthetic import TASKS, synthetic_suite

    return [p for task in TASKS
            for p in synthetic_suite(per_task=round(cfg.per_task * cfg.task_weights.get(task, 1.0)), seed=seed,
                                     tasks=[task], version=cfg.suite_version)]


def answer_only(solution: str) -> str:
    """The solution with its worked reasoning dropped (an empty thinking block, then the answer):
    the non-thinking mode of a hybrid model such as Qwen3. An empty block rather than the NoThinking
    sentence because a tiny model learns one token far faster than a sentence it never saw."""
    from rlvr.sampling.thinking import CLOSE, EMPTY_BLOCK, OPEN

    head, sep, answer = solution.partition(CLOSE)
    if not sep or not head.lstrip().startswith(OPEN):
        raise ValueError(f"answer_only_fraction needs solutions that open with {OPEN}...{CLOSE}, got {solution[:40]!r}")
    return EMPTY_BLOCK + answer


def is_answer_only(problem: Problem, cfg: SFTConfig) -> bool:
    """Whether this problem's example drops its reasoning: a hash of (seed, id), so every data
    worker decides alike and a rerun makes the same examples."""
    key = zlib.crc32(f"{cfg.seed}:{problem.id}".encode()) / 2**32
    return key < cfg.answer_only_share(problem.task)


def encode_example(tokenizer, problem: Problem, without_reasoning: bool = False) -> tuple[list[int], list[int]]:
    """(input ids, labels) with the prompt masked; `without_reasoning`: the answer-only form."""
    messages = [{"role": "user", "content": problem.prompt_text()}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    solution = answer_only(problem.meta["solution"]) if without_reasoning else problem.meta["solution"]
    answer_ids = tokenizer(solution, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return prompt_ids + answer_ids, [-100] * len(prompt_ids) + answer_ids


def load_or_build(cfg: SFTConfig, problems: list[Problem] | None = None):
    """The model and tokenizer to fine-tune: `cfg.model` loaded, or `cfg.new_model` built with a
    tokenizer learned from `problems` (the training problems; made here when not given)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if cfg.model is not None:
        path = model_path(cfg.model)
        if not path.exists():
            raise FileNotFoundError(f"model: {cfg.model} does not exist")
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32), AutoTokenizer.from_pretrained(path)
    from rlvr.models.tiny import build_model, build_tokenizer

    spec = cfg.new_model
    texts = [p.prompt_text() + "\n" + p.meta["solution"] for p in problems or training_problems(cfg)]
    tokenizer = build_tokenizer(texts, vocab_size=spec.vocab_size)
    return build_model(tokenizer, hidden=spec.hidden, layers=spec.layers, heads=spec.heads, seed=cfg.seed), tokenizer


# An encoded example, compact (a million of them as Python int lists would take gigabytes):
# the token ids and how many of them are the prompt (masked from the loss).
Example = tuple[np.ndarray, int]


def compact(ids: list[int], labels: list[int]) -> Example:
    return np.asarray(ids, dtype=np.int32), sum(1 for y in labels if y == -100)


_WORKER_TOKENIZER = None  # set once per data worker process (rather than pickled with every seed)


def _set_worker_tokenizer(tokenizer) -> None:
    global _WORKER_TOKENIZER
    _WORKER_TOKENIZER = tokenizer


def _seed_examples(job: tuple[SFTConfig, int]) -> list[Example]:
    cfg, seed = job
    return [encode(_WORKER_TOKENIZER, p, cfg) for p in seed_problems(cfg, seed)]


def encode(tokenizer, problem: Problem, cfg: SFTConfig) -> Example:
    return compact(*encode_example(tokenizer, problem, is_answer_only(problem, cfg)))


def training_examples(cfg: SFTConfig, tokenizer, problems: list[Problem] | None = None) -> list[Example]:
    """Every training problem encoded (`problems` when already made). Otherwise synthetic seeds are
    generated and tokenized by `cfg.workers` processes (a GPU run wants millions of examples; one
    core makes about 4,000 a second)."""
    workers = cfg.workers or os.cpu_count() or 1
    if problems is not None or cfg.data is not None or not cfg.suite.startswith("synthetic") or workers == 1:
        return [encode(tokenizer, p, cfg) for p in problems or training_problems(cfg)]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_set_worker_tokenizer,
                             initargs=(tokenizer,)) as pool:
        return [e for chunk in pool.map(_seed_examples, [(cfg, seed) for seed in cfg.suite_seeds]) for e in chunk]


def batches(examples: list[Example], batch_size: int, pad: int, rng: random.Random):
    """Shuffled, length-bucketed (less padding) batches of right-padded tensors."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]) + rng.random())
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(chunks)
    for chunk in chunks:
        width = max(len(examples[i][0]) for i in chunk)
        ids = np.full((len(chunk), width), pad, dtype=np.int64)
        labels = np.full((len(chunk), width), -100, dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for row, i in enumerate(chunk):
            x, prompt_len = examples[i]
            ids[row, : len(x)], labels[row, prompt_len : len(x)], mask[row, : len(x)] = x, x[prompt_len:], 1
        yield torch.from_numpy(ids), torch.from_numpy(labels), torch.from_numpy(mask)


def lr_at(step: int, total: int, warmup: int) -> float:
    """Linear warmup to 1, then cosine decay to 0.1."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def run_sft(cfg: SFTConfig, log=print) -> Path:
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    # a new model's tokenizer is learned from the training problems: make them once for both
    problems = training_problems(cfg) if cfg.new_model is not None else None
    model, tokenizer = load_or_build(cfg, problems)
    device = resolve_device(cfg.device)
    model.to(device)
    precision = resolve_precision(cfg.precision, device)
    note = precision_note(cfg.precision, device)
    if note:
        log(note)
    encoded = training_examples(cfg, tokenizer, problems)
    examples = [e for e in encoded if len(e[0]) <= cfg.max_len]
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = max(1, int(steps_per_epoch * cfg.epochs))
    last = min(total, cfg.stop_at_step or total)  # the step this run stops at
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s, total, cfg.warmup_steps))
    rng = random.Random(cfg.seed)
    log(f"sft: {len(examples)} examples ({len(encoded) - len(examples)} longer than {cfg.max_len} dropped), "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, {total} steps")
    model.train()
    step, start, history = 0, time.perf_counter(), []
    deadline = start + 60 * cfg.max_minutes if cfg.max_minutes else math.inf
    while step < last and time.perf_counter() < deadline:
        for ids, labels, mask in batches(examples, cfg.batch_size, tokenizer.pad_token_id, rng):
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = model(input_ids=ids.to(device), attention_mask=mask.to(device), labels=labels.to(device)).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            history.append(loss.item())
            if step % cfg.log_every == 0 or step == total:
                recent = sum(history[-cfg.log_every:]) / len(history[-cfg.log_every:])
                log(f"step {step}/{total} loss {recent:.4f} lr {scheduler.get_last_lr()[0]:.2e} "
                    f"{time.perf_counter() - start:.0f}s")
            if step >= last or time.perf_counter() >= deadline:
                break
    if step < total:
        reason = f"stop_at_step ({cfg.stop_at_step})" if step == last else f"max_minutes ({cfg.max_minutes})"
        log(f"sft: stopped at step {step}/{total}: {reason} reached")
    cfg.output.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.to("cpu")
    model.save_pretrained(cfg.output)
    tokenizer.save_pretrained(cfg.output)
    (cfg.output / "sft_log.json").write_text(json.dumps({"config": json.loads(cfg.model_dump_json()),
                                                          "steps": step, "total_steps": total,
                                                          "loss": history}, indent=1))
    return cfg.output
