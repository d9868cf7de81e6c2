"""Test harness that runs *inside* the sandbox (copied there as `harness.py`; stdlib only).

Reads a nonce from stdin, then `spec.json` and `program.py`, runs the tests and writes one
line `RLVR_RESULT <nonce> <json>` as the very last thing. A program that exits early
(sys.exit, os._exit) never lets that line be written, so it cannot pass.

Styles:
- function: exec the program, exec the test code, call check(<entry_point>).
- asserts: exec the program, then each assert on its own (fraction passed).
- stdio: for each input, fork; the child runs the program with stdin/stdout redirected.
- call: exec the program, then evaluate `expr` and compare with `expected` (CRUXEval).
"""

import builtins
import json
import os
import signal
import sys
import time

import _rlvr_guard

# `python -S` skips the site module, which is what defines exit()/quit(); programs use them.
builtins.exit = builtins.quit = sys.exit
NONCE = sys.stdin.readline().strip()
OUT_FD = os.dup(1)  # the result goes here even if the program replaces sys.stdout
SPEC = json.load(open(os.path.join(os.path.dirname(__file__), "spec.json")))
SOURCE = open(os.path.join(os.path.dirname(__file__), "program.py")).read()
PER_TEST_S = float(SPEC.get("per_test_s", 4))


def report(passed, total, error=None):
    line = "RLVR_RESULT %s %s\n" % (NONCE, json.dumps({"passed": passed, "total": total, "error": error}))
    os.write(OUT_FD, line.encode())


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout()


def timed(fn):
    """Run fn() with a per-test alarm; returns None on success or an error string."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, PER_TEST_S)
    try:
        fn()
        return None
    except TestTimeout:
        return "timeout"
    except SystemExit as e:
        return "SystemExit(%s)" % (e.code,)
    except BaseException as e:  # noqa: BLE001 - anything the program raises is a failure
        return "%s: %s" % (type(e).__name__, str(e)[:200])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def load_program():
    namespace = {"__name__": "__rlvr_program__"}
    code = compile(SOURCE, "program.py", "exec")
    error = timed(lambda: exec(code, namespace))
    return namespace, error


def run_in_process():
    _rlvr_guard.maybe_install()
    namespace, error = load_program()
    if error:
        return report(0, 1, "program failed before the tests: " + error)
    style = SPEC["style"]
    if style == "function":
        test_code = compile(SPEC["code"], "tests.py", "exec")
        error = timed(lambda: exec(test_code, namespace))
        if error is None:
            entry = SPEC["entry_point"]
            if entry not in namespace:
                return report(0, 1, "entry point %r not defined" % entry)
            error = timed(lambda: namespace["check"](namespace[entry]))
        return report(0 if error else 1, 1, error)
    if style == "asserts":
        errors = []
        for line in SPEC["code"]:
            compiled = compile(line, "tests.py", "exec")
            error = timed(lambda: exec(compiled, namespace))
            if error:
                errors.append(error)
        return report(len(SPEC["code"]) - len(errors), len(SPEC["code"]), errors[0] if errors else None)
    if style == "call":
        values = {}
        error = timed(lambda: values.update(got=eval(SPEC["expr"], namespace)))
        if error:
            return report(0, 1, error)
        expected = eval(SPEC["expected"], namespace)
        same = values["got"] == expected
        return report(1 if same else 0, 1, None if same else "got %r" % (values["got"],)[:200])
    return report(0, 1, "unknown test style %r" % style)


def run_stdio_case(code, stdin_text):
    """Fork; the child runs the program as __main__ with the case as its stdin. -> (ok, output)."""
    case_in = ".rlvr_in"  # the working directory is private to this run
    with open(case_in, "w") as f:
        f.write(stdin_text)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        os.dup2(os.open(case_in, os.O_RDONLY), 0)
        os.dup2(write_fd, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        _rlvr_guard.maybe_install()
        status = 0
        try:
            exec(code, {"__name__": "__main__"})
        except SystemExit as e:
            status = 0 if e.code in (None, 0) else 1
        except BaseException:  # noqa: BLE001
            status = 1
        try:
            sys.stdout.flush()
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + PER_TEST_S
    os.set_blocking(read_fd, False)
    status = None
    while True:
        try:
            data = os.read(read_fd, 65536)
            if data:
                chunks.append(data)
                if len(chunks) > 256:  # > 16 MB of output: not a plausible answer
                    break
                continue
            if data == b"":
                break
        except BlockingIOError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.002)
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        end = time.monotonic() + max(0.0, deadline - time.monotonic())
        while done == 0 and time.monotonic() < end:
            time.sleep(0.002)
            done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False, "timeout"
    os.close(read_fd)
    ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return ok, b"".join(chunks).decode("utf-8", "replace")


def run_stdio():
    code = compile(SOURCE, "program.py", "exec")
    passed, first_error = 0, None
    for i, (stdin_text, expected) in enumerate(zip(SPEC["inputs"], SPEC["outputs"])):
        ok, output = run_stdio_case(code, stdin_text)
        if ok and output.split() == expected.split():
            passed += 1
        elif first_error is None:
            first_error = "case %d: %s" % (i, "runtime error or timeout" if not ok else "wrong output")
    report(passed, len(SPEC["inputs"]), first_error)


if SPEC["style"] == "stdio":
    run_stdio()
else:
    run_in_process()
