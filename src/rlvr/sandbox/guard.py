"""Fallback-mode guard, copied into every sandbox as `_rlvr_guard`.

Installed (only when RLVR_GUARD=1, i.e. without bubblewrap) right before untrusted code runs:
a Python audit hook that refuses network sockets, new processes and native-code loading.
Audit hooks cannot be removed from Python code, but they are not a security boundary against
native code; that is why bubblewrap is preferred and this is documented as the weaker mode.
"""

import os
import sys

_BLOCKED_PREFIXES = ("socket.", "subprocess.", "os.exec", "os.posix_spawn", "os.fork", "os.forkpty",
                     "os.system", "os.spawn", "os.kill", "os.killpg", "ctypes.", "pty.", "_posixsubprocess")
_ALLOWED = {"socket.gethostname"}


_READ_ROOTS = (sys.base_prefix, "/usr/", "/dev/null", "/dev/urandom", os.path.dirname(__file__), os.getcwd())
_WRITE_ROOTS = (os.getcwd(), "/dev/null")


def _hook(event: str, args: tuple) -> None:
    if event in _ALLOWED:
        return
    if event.startswith(_BLOCKED_PREFIXES):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open" and isinstance(args[0], (str, bytes)):
        path = os.path.realpath(os.fsdecode(args[0]))
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        writing = any(c in mode for c in "wax+") or (isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR))
        roots = _WRITE_ROOTS if writing else _READ_ROOTS
        if not path.startswith(roots):
            raise PermissionError(f"sandbox: opening {path} is not allowed")


def maybe_install() -> None:
    if os.environ.get("RLVR_GUARD") == "1":
        sys.addaudithook(_hook)
