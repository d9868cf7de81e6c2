"""The program's side of a graded run; runs *inside* the sandbox (stdlib only).

Copied there as `runner.py` with the program as `program.py`. It holds no tests, no expected
values and no verdict: the grader, in another process outside the sandbox, sends requests and
judges the plain-data replies. Whatever the program does to this file's code or to the channel
(patch it, write forged lines on it, kill it) it can only change what *it* answers, which is
what the grader judges anyway, or end the run, which fails every test not yet passed.

    python runner.py function   load program.py (after setup.py), reply {"names": {name: kind}};
                                then serve {"op": "call", "target", "method", "args", "kwargs",
                                "limit_s"} -> {"ok": value} | {"handle": id} | {"error": [type, msg]}
    python runner.py stdio      never runs the program itself; for each {"op": "run", "input",
                                "limit_s"} forks a child that runs it as __main__ with that
                                stdin, and replies {"out": text, "status": int | "timeout"}

Messages are one line each, encoded by `_rlvr_plain`.
"""

import builtins
import os
import signal
import sys
import time

import _rlvr_guard
import _rlvr_plain as plain

# `python -S` skips the site module, which is what defines exit()/quit(); programs use them.
builtins.exit = builtins.quit = sys.exit
REQUESTS = os.fdopen(os.dup(0), "rb")
REPLY_FD = os.dup(1)
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 0)  # the program's own stdin is empty and its prints go nowhere:
os.dup2(_null, 1)  # the channel is not where it looks
sys.stdin = open(0, closefd=False)
sys.stdout = open(1, "w", closefd=False)
HERE = os.path.dirname(os.path.abspath(__file__))
MAX_OUTPUT = 16 << 20  # stdio: more output than this is not a plausible answer


def reply(message):
    data = (plain.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(REPLY_FD, data):]


def requests():
    for line in REQUESTS:
        yield plain.loads(line.decode("utf-8"))


class TestTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise TestTimeout()


def timed(fn, limit_s):
    """fn() under an alarm -> ("ok", value) or ("error", [type name, message])."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        return "ok", fn()
    except TestTimeout:
        return "error", ["TimeoutError", "timed out after %gs" % limit_s]
    except BaseException as e:  # noqa: BLE001 - anything the program raises is its answer
        return "error", [type(e).__name__, str(e)[:300]]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def read(name):
    path = os.path.join(HERE, name)
    return open(path).read() if os.path.exists(path) else ""


def serve_functions():
    namespace = {"__name__": "__main__"}
    setup = read("setup.py")
    status, value = timed(lambda: exec(compile(setup, "setup.py", "exec"), namespace), 10)
    before = dict(namespace)
    _rlvr_guard.maybe_install()
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    if status == "ok":
        status, value = timed(lambda: exec(compile(read("program.py"), "program.py", "exec"), namespace), limit)
    if status != "ok":
        return reply({"error": value})
    names = {}
    for name, obj in namespace.items():
        if callable(obj) and not name.startswith("__") and before.get(name) is not obj:
            names[name] = "class" if isinstance(obj, type) else "function"
    reply({"names": names})
    objects = {}
    for request in requests():
        target = request["target"]
        obj = objects.get(target) if isinstance(target, int) else namespace.get(target)
        if request.get("method") is not None:
            obj = getattr(obj, request["method"], None)
        if not callable(obj):
            reply({"error": ["NameError", "%r is not callable" % (request.get("method") or target,)]})
            continue
        status, value = timed(lambda: obj(*request["args"], **request["kwargs"]), request["limit_s"])
        if status == "ok" and isinstance(target, str) and namespace.get(target) is obj and isinstance(obj, type):
            objects[len(objects) + 1] = value  # an instance of the program's class stays here
            reply({"handle": len(objects)})
            continue
        try:
            reply({status: value})
        except plain.NotPlainData as e:
            reply({"error": ["TypeError", "result is not plain data: %s" % e]})


def run_case(code, stdin_text, limit_s):
    """Fork; the child runs the program as __main__ with the case as its stdin."""
    with open(".rlvr_in", "w") as f:  # the working directory is private to this run
        f.write(stdin_text)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: nothing of the channel stays open in it
        os.close(read_fd)
        REQUESTS.close()
        os.close(REPLY_FD)
        os.dup2(os.open(".rlvr_in", os.O_RDONLY), 0)
        os.dup2(write_fd, 1)
        os.dup2(_null, 2)
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
    chunks, size, deadline = [], 0, time.monotonic() + limit_s
    os.set_blocking(read_fd, False)
    while size <= MAX_OUTPUT and time.monotonic() < deadline:
        try:
            data = os.read(read_fd, 65536)
        except BlockingIOError:
            time.sleep(0.002)
            continue
        if not data:
            break
        chunks.append(data)
        size += len(data)
    os.close(read_fd)
    done, status = os.waitpid(pid, os.WNOHANG)
    while done == 0 and time.monotonic() < deadline:
        time.sleep(0.002)
        done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return "timeout", ""
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    return code, b"".join(chunks)[:MAX_OUTPUT].decode("utf-8", "replace")


def serve_stdio():
    try:
        code = compile(read("program.py"), "program.py", "exec")
    except (SyntaxError, ValueError) as e:
        return reply({"error": [type(e).__name__, str(e)[:300]]})
    reply({"ready": True})
    for request in requests():
        status, out = run_case(code, request["input"], request["limit_s"])
        reply({"status": status, "out": out})


reply({"started": True})  # before any program code runs: the sandbox itself works
if sys.argv[1] == "stdio":
    serve_stdio()
else:
    serve_functions()
