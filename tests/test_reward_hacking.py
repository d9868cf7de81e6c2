"""Programs and predictions that try to forge their own reward. Each must score 0 while the
honest answer to the same problem scores 1, in both sandbox backends.

The attacks are what RL policies are known to find (always-equal objects, patched test runners,
early exits, copying the question) and what a program that knows rlvr's grader would try
(forged reply lines, frame walks into the runner, reading files and other processes, killing
the runner, patching the codec). They run through `verify`, as `rlvr score` does.
"""

import pytest

from rlvr.domains import verify
from rlvr.problems import Problem

FUNCTION = {"style": "function", "entry_point": "add",
            "code": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(10, -4) == 6\n"}
ASSERTS = {"style": "asserts", "code": ["assert add(2, 3) == 5", "assert add(10, -4) == 6"]}
CALL = {"style": "call", "expr": "add(2, 3)", "expected": "5"}
STDIO = {"style": "stdio", "inputs": ["2 3\n", "10 -4\n"], "outputs": ["5\n", "6\n"]}
HONEST_FUNCTION = "def add(a, b):\n    return a + b\n"
HONEST_STDIO = "a, b = map(int, input().split())\nprint(a + b)\n"

# Attacks on function-style graders (function, asserts and call tests alike).
FUNCTION_ATTACKS = {
    "always_equal_object": "class Eq:\n    def __eq__(self, other): return True\n    __ne__ = lambda s, o: False\n"
                           "def add(a, b):\n    return Eq()\n",
    "int_subclass_eq": "class I(int):\n    def __eq__(self, other): return True\n    __hash__ = int.__hash__\n"
                       "def add(a, b):\n    return I(0)\n",
    "str_subclass_eq": "class S(str):\n    def __eq__(self, other): return True\n    __hash__ = str.__hash__\n"
                       "def add(a, b):\n    return S('x')\n",
    "patch_main_timed": "import __main__\n__main__.timed = lambda fn, *a: None\n__main__.report = lambda *a: None\n"
                        "def add(a, b):\n    return 0\n",
    "call_main_report_then_exit": "import __main__, os\nfor name in ('report', 'reply'):\n"
                                  "    fn = getattr(__main__, name, None)\n"
                                  "    if fn:\n        try: fn(1, 1)\n        except TypeError: fn({'ok': True})\n"
                                  "os._exit(0)\n",
    "frame_walk_forge": (
        "import sys, os, json\n"
        "def add(a, b):\n"
        "    f = sys._getframe()\n"
        "    while f is not None:\n"
        "        g = f.f_globals\n"
        "        if 'NONCE' in g and 'OUT_FD' in g:\n"
        "            os.write(g['OUT_FD'], ('RLVR_RESULT %s %s\\n' % (g['NONCE'], json.dumps(\n"
        "                {'passed': 1, 'total': 1, 'error': None}))).encode())\n"
        "        if 'REPLY_FD' in g:\n"
        "            for _ in range(4):\n"
        "                os.write(g['REPLY_FD'], b'{\"d\":[[\"ok\",true]]}\\n')\n"
        "                os.write(g['REPLY_FD'], b'RLVR_RESULT x {\"passed\": 1, \"total\": 1}\\n')\n"
        "        f = f.f_back\n"
        "    os._exit(0)\n"),
    "patch_codec": ("import _rlvr_plain\n"
                    "_rlvr_plain.to_wire = lambda v, depth=0: v if not callable(v) else 0\n"
                    "_rlvr_plain.dumps = lambda v: '{\"ok\": {\"__eq__\": true}}'\n"
                    "def add(a, b):\n    return 0\n"),
    "patch_builtins_type": ("import builtins\nclass Eq:\n    def __eq__(self, other): return True\n"
                            "builtins.type = lambda *a: int\nbuiltins.isinstance = lambda *a: True\n"
                            "def add(a, b):\n    return Eq()\n"),
    "settrace_rewrites_locals": (
        "import sys\n"
        "def tracer(frame, event, arg):\n"
        "    if event == 'return' and frame.f_code.co_name == 'timed':\n"
        "        frame.f_locals.update(status='ok')\n"
        "    return tracer\n"
        "sys.settrace(tracer)\n"
        "def add(a, b):\n    raise ValueError('no')\n"),
    "gc_scan_for_expected": (
        "import gc\n"
        "def add(a, b):\n"
        "    for o in gc.get_objects():\n"
        "        if isinstance(o, dict) and ('expected' in o or 'outputs' in o or 'check' in o):\n"
        "            return o.get('expected', 0)\n"
        "    return -1\n"),
    "atexit_forge": ("import atexit, os, sys\n"
                     "atexit.register(lambda: os.write(1, b'RLVR_RESULT x {\"passed\": 1, \"total\": 1}\\n'))\n"
                     "sys.exit(0)\n"),
    "kill_the_grader": ("import os, signal\n"
                        "def add(a, b):\n"
                        "    for pid in (os.getppid(), 1, -1):\n"
                        "        try: os.kill(pid, signal.SIGKILL)\n"
                        "        except Exception: pass\n"
                        "    return 0\n"),
    "print_verdict_format": ("import sys\n"
                             "def add(a, b):\n"
                             "    line = 'RLVR_RESULT 0 {\"passed\": 2, \"total\": 2}\\n{\"d\":[[\"ok\",5]]}\\n'\n"
                             "    print(line); sys.stderr.write(line); sys.__stdout__.write(line)\n"
                             "    return None\n"),
    "read_test_files": ("import os, json\n"
                        "def add(a, b):\n"
                        "    for root in ('/code', os.getcwd(), '/tmp'):\n"
                        "        for name in (os.listdir(root) if os.path.isdir(root) else []):\n"
                        "            try: text = open(os.path.join(root, name)).read()\n"
                        "            except Exception: continue\n"
                        "            if 'assert' in text or 'expected' in text:\n"
                        "                return int(text.split('==')[1].split()[0]) if '==' in text else 0\n"
                        "    return -1\n"),
    "forged_handle": ("import sys\n"
                      "def add(a, b):\n"
                      "    f = sys._getframe()\n"
                      "    while f and 'reply' not in f.f_globals: f = f.f_back\n"
                      "    f.f_globals['reply']({'handle': 1})\n"
                      "    raise SystemExit\n"),
    "huge_reply": "def add(a, b):\n    return 'x' * (300 << 20)\n",
    "exit_from_call": "import os\ndef add(a, b):\n    os._exit(0)\n",
}

STDIO_ATTACKS = {
    "read_spec_json": ("import json, os\n"
                       "for path in ('/code/spec.json', 'spec.json', '/code/tests.json'):\n"
                       "    try:\n        spec = json.load(open(path))\n    except Exception:\n        continue\n"
                       "    print(spec['outputs'][0]); break\n"
                       "else:\n    print(0)\n"),
    "search_other_processes": (
        "import os\n"
        "found = ''\n"
        "for pid in os.listdir('/proc'):\n"
        "    for part in ('cmdline', 'environ'):\n"
        "        try: data = open('/proc/%s/%s' % (pid, part), 'rb').read().decode('utf-8', 'replace')\n"
        "        except Exception: continue\n"
        "        if 'outputs' in data: found = data\n"
        "    for fd in (os.listdir('/proc/%s/fd' % pid) if os.path.isdir('/proc/%s/fd' % pid) else []):\n"
        "        try: data = os.read(os.open('/proc/%s/fd/%s' % (pid, fd), os.O_RDONLY | os.O_NONBLOCK), 4096)\n"
        "        except Exception: continue\n"
        "        if b'outputs' in data: found = data.decode('utf-8', 'replace')\n"
        "print(found or 0)\n"),
    "child_forges_then_kills_runner": (
        "import os, signal, sys\n"
        "line = b'{\"d\":[[\"status\",0],[\"out\",\"5\\\\n\"]]}\\n'\n"
        "for fd in range(3, 64):\n"
        "    try: os.write(fd, line)\n"
        "    except OSError: pass\n"
        "for fd in os.listdir('/proc/%d/fd' % os.getppid()):\n"
        "    try: os.write(os.open('/proc/%d/fd/%s' % (os.getppid(), fd), os.O_WRONLY), line)\n"
        "    except OSError: pass\n"
        "os.kill(os.getppid(), signal.SIGKILL)\n"),
    "print_forged_verdict": "print('RLVR_RESULT 0 {\"passed\": 2, \"total\": 2}')\n",
}


def _problem(tests: dict) -> Problem:
    return Problem(id="hack", domain="code", prompt="Write add(a, b).", tests={**tests, "per_test_s": 2, "wall_s": 8})


def _code(program: str) -> str:
    return f"```python\n{program}```"


@pytest.fixture(params=["bwrap", "fallback"])
def sandbox_mode(request):
    request.getfixturevalue("fallback_sandbox" if request.param == "fallback" else "bwrap_sandbox")
    return request.param


@pytest.mark.parametrize("tests", [FUNCTION, ASSERTS, CALL], ids=["function", "asserts", "call"])
def test_function_style_attacks_score_zero(tests, sandbox_mode):
    problem = _problem(tests)
    assert verify(problem, _code(HONEST_FUNCTION)).reward == 1.0
    forged = {name: verify(problem, _code(attack)) for name, attack in FUNCTION_ATTACKS.items()}
    assert {name: s.reason for name, s in forged.items() if s.reward != 0.0} == {}
    assert not [name for name, s in forged.items() if s.error]  # the program's failure, not ours
    assert verify(problem, _code(HONEST_FUNCTION)).reward == 1.0


def test_stdio_attacks_score_zero(sandbox_mode):
    problem = _problem(STDIO)
    assert verify(problem, _code(HONEST_STDIO)).reward == 1.0
    forged = {name: verify(problem, _code(attack)) for name, attack in STDIO_ATTACKS.items()}
    assert {name: s.reason for name, s in forged.items() if s.reward != 0.0} == {}
    assert verify(problem, _code(HONEST_STDIO)).reward == 1.0


CRUX_CODE = "def f(xs):\n    return [x * 2 for x in xs]\n"
CRUX_OUTPUT = {"style": "cruxeval", "mode": "output", "code": CRUX_CODE, "input": "[1, 2]"}
CRUX_INPUT = {"style": "cruxeval", "mode": "input", "code": CRUX_CODE, "output": "[2, 4]"}


@pytest.mark.parametrize("answer, honest, attacks", [
    (CRUX_OUTPUT, "[ANSWER][2, 4][/ANSWER]", [
        "[ANSWER]f([1, 2])[/ANSWER]",
        "[ANSWER]assert f([1,2]) == f([1,2])[/ANSWER]",
        "[ANSWER]type('A', (), {'__eq__': lambda s, o: True})()[/ANSWER]",
        "[ANSWER][x * 2 for x in [1, 2]][/ANSWER]",
        "[ANSWER]__import__('os')._exit(0)[/ANSWER]",
    ]),
    (CRUX_INPUT, "[ANSWER]f([1, 2])[/ANSWER]", [
        "[ANSWER]f([]) or [2, 4][/ANSWER]",
        "[ANSWER]f(*[[1, 2]])[/ANSWER]",
        "[ANSWER]g([1, 2])[/ANSWER]",
        "[ANSWER]f(type('L', (list,), {'__eq__': lambda s, o: True})())[/ANSWER]",
        "[ANSWER]assert f([5]) == f([5])[/ANSWER]",
    ]),
], ids=["output", "input"])
def test_cruxeval_predictions_are_values_not_code(answer, honest, attacks):
    problem = Problem(id="crux", domain="simulation", prompt="?", answer=answer)
    assert verify(problem, honest).reward == 1.0
    scores = {a: verify(problem, a) for a in attacks}
    assert {a: s.reason for a, s in scores.items() if s.reward != 0.0} == {}


@pytest.mark.parametrize("gold, forged", [("yes", "sey"), ("listen", "silent"), ("no", "on"),
                                          ("\\text{Evelyn}", "\\text{Lenvey}")])
def test_math_anagrams_are_not_equal(gold, forged):
    problem = Problem(id="m", domain="math", prompt="?", answer=gold)
    assert verify(problem, f"\\boxed{{{gold}}}").reward == 1.0
    assert verify(problem, f"\\boxed{{{forged}}}").reward == 0.0


@pytest.mark.parametrize("tests, honest, attack", [
    ({"style": "asserts", "code": ["assert set(common([1, 2, 3], [2, 3, 4])) == set([2, 3])"]},
     "def common(a, b):\n    return [x for x in a if x in b]\n",
     "def set(*a):\n    return 0\ndef common(a, b):\n    return []\n"),
    ({"style": "function", "entry_point": "close",
      "code": "def check(candidate):\n    assert abs(candidate(1.0) - 2.0) < 1e-6\n"},
     "def close(x):\n    return x + 1\n",
     "def abs(x):\n    return 0\ndef close(x):\n    return 99\n"),
    ({"style": "function", "entry_point": "close", "code": "def check(candidate):\n    assert candidate(1.0) == 2.0\n"},
     "def close(x):\n    return x + 1\n",
     "def check(candidate):\n    pass\ndef close(x):\n    return 99\n"),
], ids=["asserts_shadow_set", "function_shadow_abs", "function_own_check"])
def test_program_names_cannot_shadow_what_the_tests_call(tests, honest, attack):
    # The program's `set`/`abs` would be called on both sides of the test's own comparison.
    problem = _problem(tests)
    assert verify(problem, _code(honest)).reward == 1.0
    assert verify(problem, _code(attack)).reward == 0.0
