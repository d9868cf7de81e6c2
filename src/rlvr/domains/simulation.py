"""Simulation: predict what code does (CodeI/O) or find its input/output (CRUXEval).

`answer` shapes:

    CodeI/O:   {"style": "codeio", "value": {"result": [1, 2]}}   or any JSON value directly
               The completion gives a JSON value (in <answer>, \\boxed{}, a ```json block or an
               "Answer:" line); compared as normalized JSON (dict key order ignored, 1 == 1.0,
               floats within relative 1e-6).
    CRUXEval:  {"style": "cruxeval", "mode": "output", "code": "def f(x): ...", "input": "[1, 2]"}
               {"style": "cruxeval", "mode": "input",  "code": "def f(x): ...", "output": "3"}
               The predicted output (or input) is a Python expression; it is checked by running
               `f(input) == output` in the sandbox, as CRUXEval does. A prediction written as
               "assert f(...) == ..." is accepted and the relevant side taken.
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any

from rlvr.domains import GroundTruthError, binary, no_answer, register
from rlvr.domains.code import run_tests
from rlvr.extract import answer_line, answer_tag, code_block, last_boxed, strip_thinking
from rlvr.problems import Problem, Score
from rlvr.sandbox import Limits

_ASSERT = re.compile(r"^\s*assert\s+(.*?)\s*==\s*(.*)$", re.S)


def prediction_text(completion: str) -> str | None:
    text = strip_thinking(completion)
    tagged = re.findall(r"\[ANSWER\](.*?)\[/ANSWER\]", text, re.S)  # CRUXEval's own format
    if tagged:
        return tagged[-1].strip()
    for rule in (answer_tag, last_boxed, code_block, answer_line):
        value = rule(text)
        if value:
            return value.strip()
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


def parse_value(text: str) -> tuple[bool, Any]:
    """JSON first, then a Python literal (models often write True/None/'single quotes')."""
    try:
        return True, json.loads(text)
    except (json.JSONDecodeError, TypeError):
        pass
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def verify_codeio(problem: Problem, gold: Any, completion: str) -> Score:
    text = prediction_text(completion)
    if text is None:
        return no_answer()
    ok, value = parse_value(text)
    if not ok:
        return binary(False, text, "prediction is not a JSON value")
    same = json_equal(value, gold)
    return binary(same, value, "JSON equal" if same else "JSON differs")


def verify_cruxeval(problem: Problem, spec: dict, completion: str) -> Score:
    mode = spec.get("mode")
    if mode not in ("input", "output") or "code" not in spec or ("input" if mode == "output" else "output") not in spec:
        raise GroundTruthError(f"problem {problem.id}: cruxeval answer needs mode, code and input/output")
    text = prediction_text(completion)
    if text is None:
        return no_answer()
    match = _ASSERT.match(text)
    if match:  # "assert f(x) == y": the output is the right side, the input the call's argument
        left, right = match.group(1), match.group(2)
        text = right.strip() if mode == "output" else left.strip()
    if mode == "input":
        call = text if text.startswith("f(") else f"f({text})"
        tests = {"style": "call", "expr": call, "expected": spec["output"]}
    else:
        tests = {"style": "call", "expr": f"f({spec['input']})", "expected": text}
    score = run_tests(spec["code"], {**tests, "per_test_s": 3}, Limits(wall_s=10))
    ok = score.correct
    return binary(ok, text, "execution agrees" if ok else f"execution disagrees ({score.reason})")


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
