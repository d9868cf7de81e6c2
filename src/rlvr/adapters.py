"""The same verifiers inside other trainers.

TRL (`GRPOTrainer(reward_funcs=[rlvr_reward])`): TRL calls a reward function with `prompts`,
`completions` and every dataset column as keyword arguments. Columns named like Problem fields
(`domain`, `answer`, `tests`, `rubric`, `task`, `id`, `extract`, `meta`) build the Problem.

verl (`custom_reward_function.path=rlvr/adapters.py`, `name=compute_score`): verl calls
`compute_score(data_source, solution_str, ground_truth, extra_info)`; `data_source` prefixes
(math__, codegen__, stem__, logic__, simulation__, table__) pick the domain as in Guru.
"""

from __future__ import annotations

from typing import Any

from rlvr.problems import Problem, from_guru_row, to_problem
from rlvr.scoring import score_batch

_PROBLEM_FIELDS = ("id", "domain", "task", "answer", "tests", "rubric", "extract", "meta", "hint")


def _text(completion: Any) -> str:
    """TRL passes strings, or (conversational datasets) a list of messages."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if isinstance(m, dict))
    return str(completion)


def rlvr_reward(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
    """TRL-style reward function: one float per completion.

    >>> rlvr_reward(prompts=["1+1?"], completions=["\\\\boxed{2}"], domain=["math"], answer=["2"])
    [1.0]
    """
    problems = []
    for i, prompt in enumerate(prompts):
        row = {k: columns[k][i] for k in _PROBLEM_FIELDS if k in columns and columns[k] is not None}
        row.setdefault("id", str(i))
        row["prompt"] = prompt if isinstance(prompt, (str, list)) else str(prompt)
        if "domain" not in row:
            raise ValueError("rlvr_reward needs a 'domain' column (math, code, science, logic, simulation, tabular)")
        problems.append(to_problem(row, where=f"row {i}"))
    scores = score_batch(problems, [_text(c) for c in completions])
    return [s.reward for s in scores]


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None) -> float:
    """verl-style scoring of one response."""
    row = {"data_source": data_source, "prompt": "", "reward_model": {"ground_truth": ground_truth},
           "extra_info": extra_info or {}}
    problem = Problem.model_validate(from_guru_row(row, where=data_source))
    return score_batch([problem], [solution_str])[0].reward
