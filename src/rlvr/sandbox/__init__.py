"""The only place where untrusted (model-written) code runs.

`run_python(files, entry)` executes a Python program in an isolated process tree and returns
an `ExecResult`. Two backends, chosen by `backend()`:

- **bwrap** (bubblewrap, preferred): new network, PID, IPC and UTS namespaces; the host file
  system is not visible except the interpreter's directories, read-only; a private tmpfs is the
  only writable place; no host environment variables; when run as root the program drops to an
  unprivileged uid so process limits apply. Killing the PID namespace's init kills every
  process the program started, including ones that called setsid or double-forked.
- **fallback** (no bubblewrap): resource limits, a new session, a Python audit hook that refuses
  sockets, subprocesses, forks and ctypes, and a sweep that kills every process carrying this
  run's token. Weaker: it relies on the interpreter's audit hooks; see docs/rewards.md.
"""

from rlvr.sandbox.core import ExecResult, Limits, backend, run_python

__all__ = ["ExecResult", "Limits", "backend", "run_python"]
