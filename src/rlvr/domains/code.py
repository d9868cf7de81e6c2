"""Code: the last fenced code block, run against unit tests; the program in the sandbox, the
tests and the verdict in the grader (this process), with only plain data between them.

`tests` shapes:

    {"style": "function", "code": "def check(candidate): ...", "entry_point": "add"}   # HumanEval
    {"style": "asserts", "code": ["assert add(1, 2) == 3", ...]}                       # MBPP
    {"style": "stdio", "inputs": ["1 2\\n"], "outputs": ["3\\n"]}                       # APPS/TACO/LCB
    {"style": "call", "expr": "f([1, 2])", "expected": "[2, 4]"}                        # one literal call

Optional keys: "setup" (code run before the program and before the tests, e.g. imports),
"per_test_s" (seconds per test, default 4), "wall_s" (whole run, default 20); null means absent.

How the tests run (see `rlvr.sandbox.remote`): `check`, the assert lines and `expr` execute in
the grader with proxies for the program's functions and classes, so every call to the program
crosses into the sandbox and every result comes back as a fresh builtin; the comparisons run
here. A result that is not plain data fails. stdio programs get each input in the sandbox and
their output is compared here, whitespace-normalized (token lists equal). The tests' expected
values never enter the sandbox. Program names that shadow a builtin (`def set(...)`) are not
seen by the tests, which keep the real builtins. Reward 1 when every test passes; `details` has `passed`,
`total` and `fraction`. Test code that passes the program something that is not plain data
(a function, an object) cannot run this way: its Score is a verifier error, not a wrong answer.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable

from rlvr.domains import GroundTruthError, no_answer, register
from rlvr.domains.literals import LiteralError, parse_call, parse_literal
from rlvr.extract import extract_answer
from rlvr.problems import Problem, Score
from rlvr.sandbox import Limits
from rlvr.sandbox.remote import ArgumentNotPlain, CandidateError, Program, ProgramLost, SandboxFailed, functions, stdio

STYLES = ("function", "asserts", "stdio", "call")


def check_tests(problem_id: str, tests: dict | None) -> dict:
    """Validate a test spec (user data: errors name the problem). Null values mean absent."""
    if isinstance(tests, dict):
        tests = {k: v for k, v in tests.items() if v is not None}
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


def _verdict(passed: int, total: int, error: str | None, program: str) -> Score:
    ok = total > 0 and passed == total
    reason = "all tests passed" if ok else (error or "tests failed")
    return Score(reward=1.0 if ok else 0.0, correct=ok, extracted=program, reason=reason[:300],
                 details={"passed": passed, "total": total, "fraction": passed / total if total else 0.0})


def _failure(e: BaseException) -> str:
    if isinstance(e, (CandidateError, ProgramLost)):
        return str(e)[:300]
    return f"{type(e).__name__}: {str(e)[:200]}"


def _run_test(program: Program, test: Callable[[], object]) -> str | None:
    """One test in the grader: None when it passed, else why not. ProgramLost propagates."""
    program.start_test()
    try:
        test()
        return None
    except (ProgramLost, ArgumentNotPlain):
        raise
    except Exception as e:  # noqa: BLE001 - whatever the test raises is a failed test
        return _failure(e)


def _exec(source: str, namespace: dict, filename: str) -> None:
    exec(compile(source, filename, "exec"), namespace)  # test code: ground truth, not model output


def _test_namespace(program: Program, tests: dict) -> dict:
    """The globals the test code runs in: the program's functions and classes as proxies, then
    the setup's names over them. A program name that is a builtin (`set`, `abs`, `sorted`) is
    left out: the tests' `set(f(x)) == set([2, 3])` would otherwise call the program on both
    sides of its own comparison."""
    proxies = {name: proxy for name, proxy in program.proxies().items() if not hasattr(builtins, name)}
    namespace = {"__name__": "__rlvr_tests__", **proxies}
    _exec(tests.get("setup", ""), namespace, "setup.py")
    return namespace


def _function_tests(program: Program, tests: dict) -> tuple[int, int, str | None]:
    namespace = _test_namespace(program, tests)
    _exec(tests["code"], namespace, "tests.py")
    entry = tests["entry_point"]
    if entry not in program.names:
        return 0, 1, f"entry point {entry!r} not defined"
    candidate = program.proxies()[entry]  # the program's own, whatever the tests define
    error = _run_test(program, lambda: namespace["check"](candidate))
    return (0 if error else 1), 1, error


def _assert_tests(program: Program, tests: dict) -> tuple[int, int, str | None]:
    namespace = _test_namespace(program, tests)
    passed, first_error = 0, None
    for line in tests["code"]:
        compiled = compile(line, "tests.py", "exec")
        try:
            error = _run_test(program, lambda: exec(compiled, namespace))  # noqa: B023 - called at once
        except ProgramLost as e:
            return passed, len(tests["code"]), first_error or str(e)[:300]
        passed += error is None
        first_error = first_error or error
    return passed, len(tests["code"]), first_error


def _call_test(program: Program, tests: dict) -> tuple[int, int, str | None]:
    name, args, kwargs = parse_call(tests["expr"])
    expected = parse_literal(tests["expected"])
    if name not in program.names:
        return 0, 1, f"{name!r} not defined"
    got = {}
    error = _run_test(program, lambda: got.update(value=program.call(name, None, args, kwargs)))
    if error:
        return 0, 1, error
    same = got["value"] == expected
    return int(same), 1, None if same else f"got {got['value']!r}"[:200]


def _stdio_tests(program: str, tests: dict, limits: Limits) -> tuple[int, int, str | None]:
    per_test_s = float(tests.get("per_test_s", 4))
    passed, first_error = 0, None
    cases = list(zip(tests["inputs"], tests["outputs"]))
    with stdio(program, limits) as runner:
        for i, (stdin_text, expected) in enumerate(cases):
            try:
                status, output = runner.run(stdin_text, per_test_s)
            except ProgramLost as e:
                return passed, len(cases), first_error or f"case {i}: {e}"[:300]
            if status == 0 and output.split() == str(expected).split():
                passed += 1
            elif first_error is None:
                first_error = f"case {i}: " + ("wrong output" if status == 0 else
                                               "timeout" if status == "timeout" else f"exit status {status}")
    return passed, len(cases), first_error


_IN_PROCESS = {"function": _function_tests, "asserts": _assert_tests, "call": _call_test}


def run_tests(program: str, tests: dict, limits: Limits | None = None) -> Score:
    """Grade `program` on `tests` (already checked by `check_tests`); reward 1 only if all pass."""
    limits = limits or Limits(wall_s=float(tests.get("wall_s", 20)))
    start = time.monotonic()
    try:
        if tests["style"] == "stdio":
            passed, total, error = _stdio_tests(program, tests, limits)
        else:
            with functions(program, tests.get("setup", ""), float(tests.get("per_test_s", 4)), limits) as loaded:
                passed, total, error = _IN_PROCESS[tests["style"]](loaded, tests)
    except CandidateError as e:
        passed, total, error = 0, 1, f"program failed before the tests: {e}"
    except ProgramLost as e:
        passed, total, error = 0, 1, str(e)
    except (SandboxFailed, ArgumentNotPlain, LiteralError, SyntaxError) as e:
        # No verdict on the program: the sandbox or the tests themselves could not run.
        return Score(reward=0.0, correct=False, extracted=program, error=True,
                     reason=f"verifier error: {type(e).__name__}: {e}"[:300])
    score = _verdict(passed, total, error, program)
    score.details["wall_s"] = round(time.monotonic() - start, 3)
    return score


@register("code")
def verify_code(problem: Problem, completion: str) -> Score:
    tests = check_tests(problem.id, problem.tests)
    program = extract_answer(completion, problem.extract or "code")
    if program is None or not program.strip():
        return no_answer("no code block found")
    return run_tests(program, tests)
