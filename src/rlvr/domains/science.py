"""Science: multiple-choice letters and numeric answers with a tolerance (GPQA, SuperGPQA,
WebInstruct-verified).

`answer` shapes:

    "B"                                        # a choice letter A-J
    {"choice": "B", "choices": ["...", ...]}   # the same, with the option texts
    3.2e5  or  "3.2 \\times 10^5 J"            # numeric, relative tolerance 1e-2
    {"value": 9.81, "rtol": 0.001}             # numeric with its own tolerance
    "photosynthesis"                           # text: case/space-normalized equality

Letters are read as "\\boxed{B}", "(B)", "Answer: B", "B.", "the answer is (B)"; numbers with
units and thousands separators stripped ("1,200 N" -> 1200).
"""

from __future__ import annotations

import re
from typing import Any

from rlvr.domains import GroundTruthError, binary, no_answer, register
from rlvr.domains.numbers import close, parse_number
from rlvr.extract import extract_answer
from rlvr.problems import Problem, Score

LETTERS = "ABCDEFGHIJ"
DEFAULT_RTOL = 1e-2


def gold_kind(problem: Problem) -> tuple[str, Any, float]:
    """('choice', letter, 0) | ('number', value, rtol) | ('text', text, 0)."""
    answer = problem.answer
    if isinstance(answer, dict):
        if "choice" in answer:
            answer = answer["choice"]
        elif "value" in answer:
            return "number", float(answer["value"]), float(answer.get("rtol", DEFAULT_RTOL))
        else:
            raise GroundTruthError(f"problem {problem.id}: science answer object needs 'choice' or 'value'")
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        return "number", float(answer), DEFAULT_RTOL
    if not isinstance(answer, str) or not answer.strip():
        raise GroundTruthError(f"problem {problem.id}: science problem has no usable 'answer'")
    text = answer.strip().strip("()").strip()
    if len(text) == 1 and text.upper() in LETTERS:
        return "choice", text.upper(), 0.0
    parsed = parse_number(answer)
    if parsed is not None:
        return "number", parsed[0], DEFAULT_RTOL
    return "text", answer, 0.0


def _norm_text(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\\text\{([^}]*)\}", r"\1", text)).strip().strip(".").lower()


@register("science")
def verify_science(problem: Problem, completion: str) -> Score:
    kind, gold, rtol = gold_kind(problem)
    if kind == "choice":
        letter = extract_answer(completion, problem.extract or "choice")
        if letter is None:
            return no_answer("no choice letter found")
        return binary(letter == gold, letter, "letter matches" if letter == gold else f"chose {letter}")
    extracted = extract_answer(completion, problem.extract or "auto")
    if extracted is None:
        return no_answer()
    if kind == "number":
        parsed = parse_number(extracted)
        if parsed is None:
            return binary(False, extracted, "answer is not a number")
        ok = close(parsed[0], gold, rtol)
        return binary(ok, extracted, f"within rtol {rtol}" if ok else f"{parsed[0]:g} != {gold:g}")
    ok = _norm_text(extracted) == _norm_text(gold)
    return binary(ok, extracted, "text matches" if ok else "text differs")
