"""Rubric rewards: weighted, deterministic criteria checked in the response (any domain).

A problem may carry

    "rubric": [
      {"id": "area", "weight": 2, "kind": "number", "value": 12.5, "description": "finds the area"},
      {"id": "pyth", "weight": 1, "kind": "contains", "value": "Pythagorean"},
      {"id": "eq",   "weight": 1, "kind": "regex", "value": "x\\\\s*=\\\\s*3"},
      {"id": "root", "weight": 1, "kind": "math", "value": "\\\\frac{\\\\sqrt{2}}{2}"}
    ],
    "rubric_combine": {"mode": "mix", "answer_weight": 0.5}

Kinds: `contains` (substring, case-insensitive unless "case_sensitive": true), `regex`
(Python re, search), `number` (some number in the response within relative "rtol", default
1e-3), `math` (some $...$ / \\boxed{} / bare expression in the response is math-equivalent).
Criteria are checked on the whole completion, reasoning included (process criteria live there).

Combination with the domain's final-answer score (`rubric_combine.mode`):
- `mix` (default): reward = w * answer_reward + (1 - w) * rubric_fraction, w = answer_weight (0.5);
- `fallback`: answer_reward if the answer is correct, else (1 - w) * rubric_fraction;
- `rubric`: reward = rubric_fraction.
`correct` stays the final-answer verdict; `details["criteria"]` lists each criterion's result
(used by RGR-GRPO's refinement: the unmet criteria are fed back to the policy).
"""

from __future__ import annotations

import re
from typing import Any

from rlvr.domains import GroundTruthError
from rlvr.domains.numbers import close, parse_number
from rlvr.problems import Problem, Score

KINDS = ("contains", "regex", "number", "math")
MODES = ("mix", "fallback", "rubric")
_NUMBERS = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_MATH_SPANS = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)


def check_rubric(problem: Problem) -> list[dict[str, Any]]:
    """Validate the rubric (user data: errors name the problem and criterion)."""
    criteria = problem.rubric or []
    for i, c in enumerate(criteria):
        where = f"problem {problem.id}: rubric[{i}]"
        if not isinstance(c, dict) or c.get("kind") not in KINDS or "value" not in c:
            raise GroundTruthError(f"{where} needs 'kind' in {KINDS} and a 'value'")
        weight = c.get("weight", 1.0)
        if not isinstance(weight, (int, float)) or weight < 0:
            raise GroundTruthError(f"{where}: 'weight' must be a number >= 0")
        if c["kind"] == "regex":
            try:
                re.compile(c["value"])
            except re.error as e:
                raise GroundTruthError(f"{where}: bad regex ({e})") from None
    if sum(c.get("weight", 1.0) for c in criteria) <= 0:
        raise GroundTruthError(f"problem {problem.id}: rubric weights sum to 0")
    return criteria


def criterion_met(criterion: dict[str, Any], text: str) -> bool:
    kind, value = criterion["kind"], criterion["value"]
    if kind == "contains":
        if criterion.get("case_sensitive"):
            return str(value) in text
        return str(value).lower() in text.lower()
    if kind == "regex":
        return re.search(value, text) is not None
    if kind == "number":
        target = float(value)
        rtol = float(criterion.get("rtol", 1e-3))
        for token in _NUMBERS.findall(text):
            parsed = parse_number(token)
            if parsed and close(parsed[0], target, rtol):
                return True
        return False
    return _math_present(str(value), text)


def _math_present(value: str, text: str) -> bool:
    from rlvr.domains.math import math_equal
    from rlvr.extract import last_boxed

    spans = [next(g for g in m if g) for m in _MATH_SPANS.findall(text)]
    boxed = last_boxed(text)
    candidates = spans + ([boxed] if boxed else []) + _NUMBERS.findall(text)
    for candidate in candidates[-50:]:  # bounded work per response
        for part in [candidate, *candidate.split("=")[1:]]:  # "x = 3" also offers "3"
            try:
                if part.strip() and math_equal(value, part):
                    return True
            except Exception:  # noqa: BLE001 - model text can break sympy
                continue
    return False


def apply_rubric(problem: Problem, completion: str, answer_score: Score) -> Score:
    """Combine the domain's final-answer score with the rubric's weighted fraction."""
    criteria = check_rubric(problem)
    combine = getattr(problem, "rubric_combine", None) or {}
    mode = combine.get("mode", "mix")
    if mode not in MODES:
        raise GroundTruthError(f"problem {problem.id}: rubric_combine.mode must be one of {MODES}")
    w = float(combine.get("answer_weight", 0.5))
    results = []
    for i, c in enumerate(criteria):
        met = criterion_met(c, completion)
        results.append({"id": c.get("id", str(i)), "met": met, "weight": c.get("weight", 1.0),
                        "description": c.get("description", "")})
    total = sum(r["weight"] for r in results)
    fraction = sum(r["weight"] for r in results if r["met"]) / total
    if mode == "mix":
        reward = w * answer_score.reward + (1 - w) * fraction
    elif mode == "fallback":
        reward = answer_score.reward if answer_score.correct else (1 - w) * fraction
    else:
        reward = fraction
    details = {**answer_score.details, "criteria": results, "rubric_fraction": fraction,
               "answer_reward": answer_score.reward}
    reason = f"{answer_score.reason}; rubric {fraction:.2f}"
    return answer_score.model_copy(update={"reward": reward, "details": details, "reason": reason})
