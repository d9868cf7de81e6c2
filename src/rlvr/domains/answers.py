"""Grouping extracted answers that the domain's verifier judges equivalent (for maj@k, Borda).

`0.5`, `\\frac{1}{2}` and `1/2` vote together in math; `25%` and `0.25` in tabular. Each
answer is compared with one representative per cluster found so far, so the cost is
O(n x clusters). Runs inside the scoring workers (math equivalence can hang: hard limit).
"""

from __future__ import annotations

import re
from typing import Any

from rlvr.problems import Problem


def _norm(answer: Any) -> str:
    return re.sub(r"\s+", " ", str(answer)).strip().strip(".").lower()


def equivalent(domain: str, a: Any, b: Any) -> bool:
    """Are two extracted answers the same answer, by the domain's own notion of equality?"""
    if _norm(a) == _norm(b):
        return True
    if domain == "math":
        from rlvr.domains.math import math_equal

        try:
            return math_equal(str(a), str(b))
        except Exception:  # noqa: BLE001 - model text can break sympy
            return False
    if domain in ("tabular", "science"):
        from rlvr.domains.numbers import numbers_match

        return bool(numbers_match(str(a), str(b), rel=1e-3))
    return False


def cluster_answers(problem: Problem | dict, answers: list[Any]) -> list[int]:
    """Cluster id per answer (first-seen order); -1 for a missing answer.

    >>> cluster_answers({"domain": "math"}, ["0.5", None, "\\\\frac{1}{2}", "3"])
    [0, -1, 0, 1]
    """
    domain = problem["domain"] if isinstance(problem, dict) else problem.domain
    representatives: list[Any] = []
    ids = []
    for answer in answers:
        if answer is None or _norm(answer) == "":
            ids.append(-1)
            continue
        for cid, rep in enumerate(representatives):
            if equivalent(domain, rep, answer):
                ids.append(cid)
                break
        else:
            representatives.append(answer)
            ids.append(len(representatives) - 1)
    return ids
