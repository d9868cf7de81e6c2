import pytest

from rlvr.domains import GroundTruthError, verify
from tests.conftest import make

ADD = "```python\ndef add(a, b):\n    return a + b\n```"
FUNCTION = {
    "style": "function",
    "code": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
    "entry_point": "add",
}
ASSERTS = {"style": "asserts", "code": ["assert add(1, 2) == 3", "assert add(2, 2) == 5"]}
STDIO = {"style": "stdio", "inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7"]}


def code(tests):
    return make("code", tests=tests)


def test_function_style_pass_and_fail():
    assert verify(code(FUNCTION), ADD).reward == 1.0
    wrong = verify(code(FUNCTION), "```python\ndef add(a, b):\n    return a - b\n```")
    assert wrong.reward == 0.0 and "AssertionError" in wrong.reason


def test_asserts_style_reports_the_fraction_passed():
    s = verify(code(ASSERTS), ADD)
    assert (s.reward, s.details["passed"], s.details["total"], s.details["fraction"]) == (0.0, 1, 2, 0.5)


@pytest.mark.parametrize(
    "program",
    [
        "a, b = map(int, input().split())\nprint(a + b)",
        "import sys\nprint(sum(map(int, sys.stdin.read().split())))",
        "print(sum(map(int, open(0).read().split())))\nexit()",
    ],
)
def test_stdio_style_with_whitespace_normalized_output(program):
    assert verify(code(STDIO), f"```python\n{program}\n```").correct


def test_stdio_wrong_output_and_runtime_error():
    s = verify(code(STDIO), "```python\nprint(3)\n```")
    assert (s.reward, s.details["passed"]) == (0.0, 1)
    assert not verify(code(STDIO), "```python\nraise SystemExit(3)\n```").correct


@pytest.mark.parametrize("tests", [FUNCTION, ASSERTS, {"style": "asserts", "code": ["assert add(2, 2) == 4"]}])
@pytest.mark.parametrize("exit_call", ["import sys\nsys.exit(0)", "import os\nos._exit(0)", "raise SystemExit"])
def test_early_exit_before_the_tests_never_passes(tests, exit_call):
    program = f"```python\ndef add(a, b):\n    return a + b\n{exit_call}\n```"
    assert verify(code(tests), program).reward == 0.0


def test_forged_result_line_without_the_nonce_does_not_pass():
    forged = '```python\nimport os\nos.write(1, b\'RLVR_RESULT 0 {"passed": 1, "total": 1}\\n\')\nos._exit(0)\n```'
    assert verify(code(FUNCTION), forged).reward == 0.0


def test_setup_code_runs_before_the_program():
    tests = {**ASSERTS, "code": ["assert add(1, 2) == 3"], "setup": "import math"}
    assert verify(code(tests), "```python\ndef add(a, b):\n    return int(math.fsum([a, b]))\n```").correct


def test_no_code_block_and_bad_tests():
    assert verify(code(FUNCTION), "I would write a function").reason == "no code block found"
    with pytest.raises(GroundTruthError, match="entry_point"):
        verify(code({"style": "function", "code": "x"}), ADD)
    with pytest.raises(GroundTruthError, match="style"):
        verify(code({"style": "weird"}), ADD)


@pytest.mark.parametrize("tests, program, correct", [
    (FUNCTION, ADD, True),
    (STDIO, "```python\na, b = map(int, input().split())\nprint(a + b)\n```", True),
    (STDIO, "```python\nimport os\nos.system('echo 3')\n```", False),
    (FUNCTION, "```python\nimport os\nos._exit(0)\n```", False),
])
def test_code_verifier_under_the_fallback_sandbox(fallback_sandbox, tests, program, correct):
    assert verify(code(tests), program).correct is correct
