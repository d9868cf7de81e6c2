"""The grader's side: a program in the sandbox, called across the process boundary.

`functions(program)` starts the program in the sandbox (`runner.py`) and gives proxies for the
functions and classes it defined. Calling a proxy sends the arguments as plain data, the call
runs in the sandbox, and the result comes back as plain data (`rlvr.sandbox.plain`): a fresh
builtin, never the program's object. Test code that runs in the grader's process can then use
the proxies as if they were the program's functions; its comparisons never call into code the
program wrote. `stdio(program)` runs the program once per input, as its `__main__`.

What crosses, and what does not:
- arguments and results: plain data only, copied. An argument the callee mutates in place is
  not seen changed by the caller; functions, generators and other objects cannot be passed
  or returned (the test fails with the reason). An instance of a class the program defined
  stays in the sandbox: the grader holds a handle and calls its methods (`Solution().f(x)`).
- an exception raised by the program arrives as `CandidateError` (a subclass of the builtin
  exception of the same name when there is one, so `except ValueError` in a test still works).
- a program that hangs, exits, kills its runner or sends garbage ends the session: the call
  raises `ProgramLost`, a BaseException, so a test's `except Exception` cannot swallow it,
  and every test not yet passed fails.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rlvr.sandbox import plain
from rlvr.sandbox.core import ChannelClosed, Limits, SandboxFailed, Session, open_python

RUNNER = (Path(__file__).parent / "runner.py").read_text()
REPLY_MARGIN_S = 1.0  # the runner's own alarm fires first; this covers the round trip


class ProgramLost(BaseException):
    """The sandboxed program stopped answering (timeout, exit, crash, malformed reply)."""


class ArgumentNotPlain(TypeError):
    """The *tests* tried to pass the program something that is not plain data: the test cannot
    run across the boundary (a verifier error, not the program's fault)."""


class CandidateError(Exception):
    """An exception raised by the program under test, carried across as its type name and text."""

    type_name = "Exception"


_ERROR_TYPES: dict[str, type] = {}


def candidate_error(type_name: str, message: str) -> CandidateError:
    """A CandidateError that is also an instance of the builtin exception named `type_name`."""
    base = getattr(builtins, type_name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)) or base is Exception:
        base = None
    type_name, message = str(type_name)[:100], str(message)
    if type_name not in _ERROR_TYPES:
        bases = (CandidateError, base) if base is not None else (CandidateError,)
        _ERROR_TYPES[type_name] = type(f"Candidate{type_name}", bases, {"type_name": type_name})
    try:
        return _ERROR_TYPES[type_name](f"{type_name}: {message}")
    except TypeError:  # a builtin whose constructor needs more arguments (UnicodeDecodeError)
        error = CandidateError(f"{type_name}: {message}")
        error.type_name = type_name
        return error


class Program:
    """A session with a program loaded by `runner.py function`. Calls are bounded by a per-test
    budget that the caller resets with `start_test`."""

    def __init__(self, session: Session, names: dict[str, str], per_test_s: float):
        self.session = session
        self.names = names
        self.per_test_s = per_test_s
        self.test_deadline = time.monotonic() + per_test_s
        self.lost: str | None = None

    def start_test(self) -> None:
        self.test_deadline = time.monotonic() + self.per_test_s

    def call(self, target: str | int, method: str | None, args: tuple, kwargs: dict) -> Any:
        if self.lost:
            raise ProgramLost(self.lost)
        try:
            request = plain.dumps({"op": "call", "target": target, "method": method, "args": list(args),
                                   "kwargs": kwargs, "limit_s": max(0.01, self.test_deadline - time.monotonic())})
        except plain.NotPlainData as e:
            raise ArgumentNotPlain(f"the tests pass the program a value that is not plain data: {e}") from None
        reply = self._exchange(request)
        if "error" in reply:
            raise candidate_error(*reply["error"])
        if "handle" in reply:
            if method is not None or self.names.get(target) != "class" or type(reply["handle"]) is not int:
                self.lost = "program sent an object handle for something that is not a class"
                raise ProgramLost(self.lost)
            return RemoteObject(self, reply["handle"], str(target))
        return reply["ok"]

    def _exchange(self, request: str) -> dict:
        deadline = self.test_deadline + REPLY_MARGIN_S
        try:
            self.session.send(request, deadline)
            reply = plain.loads(self.session.recv(deadline))
        except (ChannelClosed, plain.NotPlainData) as e:
            self.lost = f"program stopped answering: {e}"
            raise ProgramLost(self.lost) from None
        if not isinstance(reply, dict) or not reply.keys() & {"ok", "handle", "error"}:
            self.lost = "program sent a malformed reply"
            raise ProgramLost(self.lost)
        return reply

    def proxies(self) -> dict[str, Any]:
        """One proxy per function or class the program defined, by name."""
        return {name: RemoteFunction(self, name) for name in self.names}


class RemoteFunction:
    def __init__(self, program: Program, name: str):
        self._program, self.__name__ = program, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._program.call(self.__name__, None, args, kwargs)

    def __repr__(self) -> str:
        return f"<sandboxed {self.__name__}>"


class RemoteObject:
    """An instance of one of the program's classes, living in the sandbox."""

    def __init__(self, program: Program, handle: int, class_name: str):
        self._program, self._handle, self._class_name = program, handle, class_name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._program.call(self._handle, name, args, kwargs)

    def __repr__(self) -> str:
        return f"<sandboxed {self._class_name} instance>"


def _first_reply(session: Session, limits: Limits) -> dict:
    try:
        started = plain.loads(session.recv(time.monotonic() + limits.wall_s))
    except (ChannelClosed, plain.NotPlainData) as e:
        raise SandboxFailed(f"the sandbox did not start: {e}; {session.stderr(300).strip()}") from None
    if started != {"started": True}:
        raise SandboxFailed("the sandbox's runner sent no start line")
    try:
        reply = plain.loads(session.recv(time.monotonic() + limits.wall_s))
    except (ChannelClosed, plain.NotPlainData) as e:
        raise ProgramLost(f"program failed to start: {e}; {session.stderr(300).strip()}") from None
    if not isinstance(reply, dict):
        raise ProgramLost("program sent a malformed first reply")
    return reply


@contextmanager
def functions(program: str, setup: str = "", per_test_s: float = 4.0,
              limits: Limits = Limits(wall_s=20)) -> Iterator[Program]:
    """Load `program` (after `setup`, whose names are not exported) in the sandbox.

    Raises CandidateError when the program itself fails to load (a syntax error, an exception
    at import, a timeout) and ProgramLost when the sandbox gives no usable answer.
    """
    files = {"runner.py": RUNNER, "program.py": program, "setup.py": setup}
    with open_python(files, "runner.py", ("function", str(per_test_s)), limits) as session:
        reply = _first_reply(session, limits)
        if "error" in reply:
            raise candidate_error(*reply["error"])
        if not isinstance(reply.get("names"), dict):
            raise ProgramLost("program sent a malformed first reply")
        yield Program(session, reply["names"], per_test_s)


class StdioProgram:
    def __init__(self, session: Session):
        self.session = session

    def run(self, stdin: str, limit_s: float) -> tuple[int | str, str]:
        """(exit status or "timeout", stdout) of one run of the program on `stdin`."""
        deadline = time.monotonic() + limit_s + REPLY_MARGIN_S
        try:
            self.session.send(plain.dumps({"op": "run", "input": stdin, "limit_s": limit_s}), deadline)
            reply = plain.loads(self.session.recv(deadline))
        except (ChannelClosed, plain.NotPlainData) as e:
            raise ProgramLost(f"program stopped answering: {e}") from None
        if not isinstance(reply, dict) or not isinstance(reply.get("out"), str):
            raise ProgramLost("program sent a malformed reply")
        return reply.get("status"), reply["out"]


@contextmanager
def stdio(program: str, limits: Limits = Limits(wall_s=20)) -> Iterator[StdioProgram]:
    files = {"runner.py": RUNNER, "program.py": program}
    with open_python(files, "runner.py", ("stdio",), limits) as session:
        reply = _first_reply(session, limits)
        if "error" in reply:
            raise candidate_error(*reply["error"])
        yield StdioProgram(session)


def call_once(program: str, name: str, args: tuple, kwargs: dict, per_test_s: float = 3.0,
              limits: Limits = Limits(wall_s=10)) -> Any:
    """`name(*args, **kwargs)` of `program`, run in the sandbox: its result as plain data.

    Raises CandidateError (the program raised, or has no such function), ProgramLost, or
    SandboxFailed."""
    with functions(program, "", per_test_s, limits) as loaded:
        if name not in loaded.names:
            raise candidate_error("NameError", f"{name!r} is not defined")
        loaded.start_test()
        return loaded.call(name, None, args, kwargs)
