"""Adapter: any `reasoning-gym` generator as rlvr Problems, scored by its own scorer.

reasoning-gym's scorers give partial credit to an answer that merely *contains* the gold in
prose ("The answer is 4 obviously" earns ~0.08 on basic_arithmetic). rlvr therefore extracts
the final answer first (<answer> tag, \\boxed{}, or an "Answer:" line; prose without one of
these has no answer and scores 0) and hands only that to the scorer. Install with `pip install 'rlvr[reasoning-gym]'`.

>>> problems = reasoning_gym_problems("basic_arithmetic", size=2, seed=1)
>>> score_reasoning_gym(problems[0], "<answer>-4</answer>").reward
1.0
"""

from __future__ import annotations

import json
from typing import Any

from rlvr.domains import GroundTruthError, no_answer
from rlvr.extract import answer_line, answer_tag, last_boxed, strip_thinking
from rlvr.problems import Problem, Score

INSTRUCTION = "\n\nThink it through, then give only the final answer inside <answer></answer>."


def _require():
    try:
        import reasoning_gym
    except ImportError as e:
        raise ImportError("reasoning-gym is not installed: pip install 'rlvr[reasoning-gym]'") from e
    return reasoning_gym


def reasoning_gym_problems(name: str, size: int = 100, seed: int = 0, **config: Any) -> list[Problem]:
    """Generate `size` problems from the reasoning-gym dataset `name` (deterministic in seed)."""
    rg = _require()
    dataset = rg.create_dataset(name, size=size, seed=seed, **config)
    problems = []
    for index, entry in enumerate(dataset):
        safe_entry = json.loads(json.dumps(entry, default=str))  # JSONL-safe (tuples -> lists)
        problems.append(Problem(
            id=f"rg-{name}-{seed}-{index}",
            domain="logic",
            task=name,
            prompt=entry["question"] + INSTRUCTION,
            answer=entry["answer"],
            meta={"reasoning_gym": {"dataset": name, "entry": safe_entry}},
        ))
    return problems


def final_answer(completion: str) -> str | None:
    text = strip_thinking(completion)
    for rule in (answer_tag, last_boxed, answer_line):
        value = rule(text)
        if value:
            return value
    return None


def score_reasoning_gym(problem: Problem, completion: str) -> Score:
    spec = problem.meta.get("reasoning_gym") or {}
    if "dataset" not in spec or "entry" not in spec:
        raise GroundTruthError(f"problem {problem.id}: meta.reasoning_gym needs 'dataset' and 'entry'")
    scorer = _require().get_score_answer_fn(spec["dataset"])
    extracted = final_answer(completion)
    if extracted is None:
        return no_answer()
    try:
        reward = float(scorer(extracted, spec["entry"]))
    except Exception as e:  # noqa: BLE001 - third-party scorers may choke on model text
        return Score(reward=0.0, correct=False, extracted=extracted, reason=f"scorer failed: {type(e).__name__}")
    reward = min(max(reward, 0.0), 1.0)
    return Score(reward=reward, correct=reward >= 1.0 - 1e-9, extracted=extracted,
                 reason=f"reasoning-gym {spec['dataset']} score {reward:.3f}")
