"""Tabular: answers read from tables (HiTab, MultiHiertt, FinQA), in \\boxed{}.

`answer` shapes: a number (42, "1,234.5", "12.5%"), a string ("Germany"), or several
answers as a list or "a|b" (compared as a set, order-free).

Numbers are equal within relative 1e-3; percent vs fraction is handled ("12.5%" == 0.125
== "12.5" when either side carries a percent sign). Strings are compared lower-cased with
spaces, articles and trailing punctuation normalized.
"""

from __future__ import annotations

import re
from typing import Any

from rlvr.domains import GroundTruthError, binary, no_answer, register
from rlvr.domains.numbers import numbers_match
from rlvr.extract import extract_answer
from rlvr.problems import Problem, Score

REL_TOL = 1e-3


def split_answers(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return [part.strip() for part in str(value).split("|") if part.strip()]


def _norm(text: str) -> str:
    text = re.sub(r"\\text\{([^}]*)\}", r"\1", text).lower()
    text = re.sub(r"\b(the|a|an)\b", " ", text)
    return re.sub(r"\s+", " ", text).strip().strip(".,;").strip()


def item_match(pred: str, gold: str) -> bool:
    numeric = numbers_match(pred, gold, rel=REL_TOL)
    if numeric is not None:
        return numeric
    return _norm(pred) == _norm(gold)


def sets_match(pred: list[str], gold: list[str]) -> bool:
    """Each gold item matched by a distinct predicted item, no extras."""
    if len(pred) != len(gold):
        return False
    remaining = list(pred)
    for g in gold:
        hit = next((p for p in remaining if item_match(p, g)), None)
        if hit is None:
            return False
        remaining.remove(hit)
    return True


@register("tabular")
def verify_tabular(problem: Problem, completion: str) -> Score:
    if problem.answer is None or split_answers(problem.answer) == []:
        raise GroundTruthError(f"problem {problem.id}: tabular problem has no 'answer'")
    extracted = extract_answer(completion, problem.extract or "auto")
    if extracted is None:
        return no_answer()
    gold = split_answers(problem.answer)
    pred = split_answers(extracted) if "|" in extracted or len(gold) > 1 else [extracted]
    if len(gold) > 1 and len(pred) == 1 and "," in extracted:
        pred = [p.strip() for p in extracted.split(",")]
    ok = sets_match(pred, gold)
    return binary(ok, extracted, "matches" if ok else "does not match")
