"""Simulation: predict what code does (CodeI/O) or find its input/output (CRUXEval).

`answer` shapes:

    CodeI/O:   {"style": "codeio", "value": {"result": [1, 2]}}   or any JSON value directly
               The completion gives a JSON value (in <answer>, \\boxed{}, a ```json block or an
               "Answer:" line); compared as normalized JSON (dict key order ignored, 1 == 1.0,
               floats within relative 1e-6).
    CRUXEval:  {"style": "cruxeval", "mode": "output", "code": "def f(x): ...", "input": "[1, 2]"}
               {"style": "cruxeval", "mode": "input",  "code": "def f(x): ...", "output": "3"}
               The prediction is a *value*, read as a Python literal and never executed: the
               output mode's predicted output, the input mode's arguments (`[1, 2]` or
               `f([1, 2])`). `f` runs in the sandbox on the gold (output mode) or predicted
               (input mode) input, and its plain-data result is compared here with `==`, as
               CRUXEval does. A prediction written as "assert f(...) == ..." is accepted and
               the relevant side taken; `f(...)` as a predicted output is not a value and fails.
"""

from __future__ import annotations

import math
import re
from typing import Any

from rlvr.domains import GroundTruthError, binary, no_answer, register
from rlvr.domains.literals import LiteralError, parse_call, parse_literal, parse_value
from rlvr.extract import answer_line, answer_tag, code_block, last_boxed, strip_thinking
from rlvr.problems import Problem, Score
from rlvr.sandbox.remote import CandidateError, ProgramLost, call_once

_ASSERT = re.compile(r"^\s*assert\s+(.*?)\s*==\s*(.*)$", re.S)


def prediction_text(completion: str) -> str | None:
    text = strip_thinking(completion)
    tagged = re.findall(r"\[ANSWER\](.*?)\[/ANSWER\]", text, re.S)  # CRUXEval's own format
    if tagged:
        return tagged[-1].strip()
    for rule in (answer_tag, last_boxed, code_block, answer_line):
        value = rule(text)
        if value:
            return (code_block(value) or value).strip()  # `<answer>```json ...```</answer>`
    return None


def json_equal(a: Any, b: Any) -> bool:
    """Normalized JSON equality: key order free, 1 == 1.0, floats within relative 1e-6."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return a == b


def verify_codeio(problem: Problem, gold: Any, completion: str) -> Score:
    text = prediction_text(completion)
    if text is None:
        return no_answer()
    ok, value = parse_value(text)
    if not ok:
        return binary(False, text, "prediction is not a JSON value")
    same = json_equal(value, gold)
    return binary(same, value, "JSON equal" if same else "JSON differs")


def _cruxeval_spec(problem: Problem, spec: dict) -> tuple[str, str]:
    mode = spec.get("mode")
    given = "input" if mode == "output" else "output"
    if mode not in ("input", "output") or spec.get("code") is None or spec.get(given) is None:
        raise GroundTruthError(f"problem {problem.id}: cruxeval answer needs mode, code and input/output")
    return mode, spec[given]


def verify_cruxeval(problem: Problem, spec: dict, completion: str) -> Score:
    mode, given = _cruxeval_spec(problem, spec)
    text = prediction_text(completion)
    if text is None:
        return no_answer()
    match = _ASSERT.match(text)
    if match:  # "assert f(x) == y": the output is the right side, the input the call's argument
        text = (match.group(2) if mode == "output" else match.group(1)).strip()
    try:
        if mode == "output":
            predicted = parse_literal(text)
            _, args, kwargs = parse_call(f"f({given})")
        else:
            name, args, kwargs = parse_call(text if text.startswith("f(") else f"f({text})")
            if name != "f":
                return binary(False, text, "prediction is not a call of f")
    except LiteralError as e:
        return binary(False, text, f"prediction is not a value: {e}")
    try:
        expected = parse_literal(given) if mode == "input" else None
    except LiteralError as e:
        raise GroundTruthError(f"problem {problem.id}: cruxeval output is not a literal: {e}") from None
    try:
        got = call_once(spec["code"], "f", args, kwargs)
    except (CandidateError, ProgramLost) as e:
        if mode == "output":  # the gold code failed on the gold input: the data is broken
            raise GroundTruthError(f"problem {problem.id}: f({given[:100]}) fails: {e}") from None
        return binary(False, text, f"f on the predicted input fails: {e}"[:300])
    same = got == (predicted if mode == "output" else expected)
    return binary(same, text, "execution agrees" if same else f"execution disagrees (f gives {got!r})"[:300])


@register("simulation")
def verify_simulation(problem: Problem, completion: str) -> Score:
    answer = problem.answer
    if answer is None:
        raise GroundTruthError(f"problem {problem.id}: simulation problem has no 'answer'")
    if isinstance(answer, dict) and answer.get("style") == "cruxeval":
        return verify_cruxeval(problem, answer, completion)
    if isinstance(answer, dict) and answer.get("style") == "codeio":
        answer = answer.get("value")
    return verify_codeio(problem, answer, completion)
