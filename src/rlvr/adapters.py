"""The same verifiers inside other trainers.

TRL (`GRPOTrainer(reward_funcs=[trl_reward(tokenizer)])`): TRL calls a reward function with
`prompts`, `completions`, `completion_ids` and every dataset column as keyword arguments.
Columns named like Problem fields (`domain`, `answer`, `tests`, `rubric`, `task`, `id`,
`extract`, `meta`) build the Problem. TRL decodes completions with special tokens skipped, so
a model whose `<think>`/`</think>` are special tokens (rlvr's tiny reasoner) loses them and a
box inside the reasoning would count; `trl_reward(tokenizer)` decodes `completion_ids` again
with them kept, so the verdict is the one `rlvr train` gives. `rlvr_reward` (no tokenizer) scores
the texts as given and warns once when it sees that TRL removed thinking tokens.

verl (`custom_reward_function.path=rlvr/adapters.py`, `name=compute_score`): verl calls
`compute_score(data_source, solution_str, ground_truth, extra_info)`; `data_source` prefixes
(math__, codegen__, stem__, logic__, simulation__, table__) pick the domain as in Guru, and the
row shapes Guru published are read (`rlvr.guru`). It works inside verl's process-pool workers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from rlvr.problems import Problem, to_problem
from rlvr.scoring import score_batch

_PROBLEM_FIELDS = ("id", "domain", "task", "answer", "tests", "rubric", "extract", "meta", "hint")


def _text(completion: Any) -> str:
    """TRL passes strings, or (conversational datasets) a list of messages."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if isinstance(m, dict))
    return str(completion)


def _problems(prompts: list[Any], columns: dict[str, Any]) -> list[Problem]:
    problems = []
    for i, prompt in enumerate(prompts):
        row = {k: columns[k][i] for k in _PROBLEM_FIELDS if k in columns and columns[k] is not None}
        row.setdefault("id", str(i))
        row["prompt"] = prompt if isinstance(prompt, (str, list)) else str(prompt)
        if "domain" not in row:
            raise ValueError("rlvr_reward needs a 'domain' column (math, code, science, logic, simulation, tabular)")
        problems.append(to_problem(row, where=f"row {i}"))
    return problems


_warned_thinking = False


def rlvr_reward(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
    """TRL-style reward function: one float per completion, scored as the texts are given.

    >>> rlvr_reward(prompts=["1+1?"], completions=["\\\\boxed{2}"], domain=["math"], answer=["2"])
    [1.0]
    """
    global _warned_thinking
    texts = [_text(c) for c in completions]
    if columns.get("completion_ids") is not None and not _warned_thinking and \
            not any("<think>" in t or "</think>" in t for t in texts):
        _warned_thinking = True
        warnings.warn("rlvr_reward got TRL's texts, which are decoded with special tokens skipped: if the "
                      "model's <think>/</think> are special tokens they are gone, and an answer inside the "
                      "reasoning counts. Use rlvr.adapters.trl_reward(tokenizer) to score as rlvr train does.",
                      stacklevel=2)
    scores = score_batch(_problems(prompts, columns), texts)
    return [s.reward for s in scores]


def trl_reward(tokenizer: Any) -> Callable[..., list[float]]:
    """A TRL reward function that reads each completion from its token ids with special tokens
    kept (`<think>` ... `</think>` included), as rlvr's samplers decode them, so an answer
    inside the reasoning does not count. `tokenizer` is the policy's."""

    def rlvr_reward(prompts: list[Any], completions: list[Any], completion_ids: list[list[int]] | None = None,
                    **columns: Any) -> list[float]:
        if completion_ids is None:
            raise ValueError("trl_reward: TRL passed no completion_ids (TRL >= 0.17 does): the thinking "
                             "tokens cannot be recovered from its decoded texts")
        texts = [tokenizer.decode(ids, skip_special_tokens=False) for ids in completion_ids]
        return [s.reward for s in score_batch(_problems(prompts, columns), texts)]

    return rlvr_reward


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None) -> float:
    """verl-style scoring of one response."""
    row = {"data_source": data_source, "prompt": "", "reward_model": {"ground_truth": ground_truth},
           "extra_info": extra_info or {}}
    problem = to_problem(row, where=data_source)
    return score_batch([problem], [solution_str])[0].reward
