"""Code: the last fenced code block, run against unit tests in the sandbox.

`tests` shapes (one sandboxed process tree per completion runs the program, then the tests):

    {"style": "function", "code": "def check(candidate): ...", "entry_point": "add"}   # HumanEval
    {"style": "asserts", "code": ["assert add(1, 2) == 3", ...]}                       # MBPP
    {"style": "stdio", "inputs": ["1 2\\n"], "outputs": ["3\\n"]}                       # APPS/TACO/LCB

Optional keys: "setup" (code placed before the program, e.g. imports), "per_test_s"
(seconds per test, default 4), "wall_s" (whole run, default 20).
Reward 1 when every test passes; `details` has `passed`, `total` and `fraction`. stdio
outputs are compared whitespace-normalized (token lists equal). A program that exits before
the tests finish (sys.exit, os._exit) scores 0.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from rlvr.domains import GroundTruthError, no_answer, register
from rlvr.extract import extract_answer
from rlvr.problems import Problem, Score
from rlvr.sandbox import Limits, run_python

HARNESS = (Path(__file__).parent / "code_harness.py").read_text()
STYLES = ("function", "asserts", "stdio", "call")


def check_tests(problem_id: str, tests: dict | None) -> dict:
    """Validate a test spec (user data: errors name the problem)."""
    if not isinstance(tests, dict) or tests.get("style") not in STYLES:
        raise GroundTruthError(f"problem {problem_id}: 'tests' must be an object with style in {STYLES}")
    style = tests["style"]
    required = {"function": ("code", "entry_point"), "asserts": ("code",), "stdio": ("inputs", "outputs"),
                "call": ("expr", "expected")}[style]
    missing = [k for k in required if k not in tests]
    if missing:
        raise GroundTruthError(f"problem {problem_id}: {style} tests need {missing}")
    if style == "asserts" and not isinstance(tests["code"], list):
        raise GroundTruthError(f"problem {problem_id}: asserts 'code' must be a list of strings")
    if style == "stdio" and len(tests["inputs"]) != len(tests["outputs"]):
        raise GroundTruthError(f"problem {problem_id}: stdio tests need as many outputs as inputs")
    return tests


def run_tests(program: str, tests: dict, limits: Limits | None = None) -> Score:
    """Run `program` then `tests` in one sandbox; reward 1 only if all pass."""
    limits = limits or Limits(wall_s=float(tests.get("wall_s", 20)))
    nonce = secrets.token_hex(16)
    files = {
        "harness.py": HARNESS,
        "program.py": (tests.get("setup", "") + "\n" + program) if tests.get("setup") else program,
        "spec.json": json.dumps(tests),
    }
    result = run_python(files, "harness.py", stdin=nonce + "\n", limits=limits, trusted_entry=True)
    marker = f"RLVR_RESULT {nonce} "
    lines = [line for line in result.stdout.splitlines() if line.startswith(marker)]
    if not lines:
        why = "timed out" if result.timed_out else "output limit exceeded" if result.output_truncated else \
            f"exited before the tests finished (code {result.returncode})"
        return Score(reward=0.0, correct=False, extracted=program, reason=why, details={"passed": 0})
    verdict = json.loads(lines[-1][len(marker):])
    passed, total = verdict["passed"], verdict["total"]
    ok = total > 0 and passed == total
    reason = "all tests passed" if ok else (verdict.get("error") or "tests failed")
    return Score(reward=1.0 if ok else 0.0, correct=ok, extracted=program, reason=reason[:300],
                 details={"passed": passed, "total": total, "fraction": passed / total if total else 0.0})


@register("code")
def verify_code(problem: Problem, completion: str) -> Score:
    tests = check_tests(problem.id, problem.tests)
    program = extract_answer(completion, problem.extract or "code")
    if program is None or not program.strip():
        return no_answer("no code block found")
    return run_tests(program, tests)
