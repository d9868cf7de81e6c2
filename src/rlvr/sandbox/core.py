"""Run a Python program in a sandbox: bubblewrap namespaces, or a documented weaker fallback."""

from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GUARD_MODULE = "_rlvr_guard"
# Copied into every sandbox: the fallback guard, and the plain-data codec rlvr's runners use.
_SUPPORT = {f"{GUARD_MODULE}.py": (Path(__file__).parent / "guard.py").read_text(),
            "_rlvr_plain.py": (Path(__file__).parent / "plain.py").read_text()}
_PRELUDE = f"""import sys, runpy
import {GUARD_MODULE}
{GUARD_MODULE}.maybe_install()
target = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(target, run_name="__main__")
"""
_FIRST_SANDBOX_UID = 200_000  # unprivileged uids with no passwd entry, used only when root


@dataclass(frozen=True)
class Limits:
    """Resource bounds of one sandboxed run."""

    wall_s: float = 10.0  # wall-clock limit of the whole run
    cpu_s: int = 10  # CPU seconds per process (RLIMIT_CPU)
    memory_mb: int = 1024  # address space per process (RLIMIT_AS)
    max_procs: int = 32  # processes the program may run at once (RLIMIT_NPROC)
    max_file_mb: int = 16  # largest file the program may write, stdout included (RLIMIT_FSIZE)
    max_output_kb: int = 1024  # stdout/stderr bytes read back; more is cut and flagged
    tmpfs_mb: int = 64  # size of the private writable /tmp (bwrap)


@dataclass(frozen=True)
class ExecResult:
    """What a sandboxed run did."""

    returncode: int | None  # negative: killed by that signal
    stdout: str
    stderr: str
    timed_out: bool
    output_truncated: bool
    wall_s: float
    backend: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@lru_cache(maxsize=1)
def backend() -> str:
    """'bwrap' when bubblewrap can create namespaces here, else 'fallback'.

    Set RLVR_SANDBOX=fallback to force the fallback (for tests and for hosts where user
    namespaces are forbidden); RLVR_SANDBOX=bwrap makes a missing bubblewrap an error.
    """
    wanted = os.environ.get("RLVR_SANDBOX", "auto")
    if wanted == "fallback":
        return "fallback"
    usable = shutil.which("bwrap") is not None and _bwrap_works()
    if wanted == "bwrap" and not usable:
        raise RuntimeError("RLVR_SANDBOX=bwrap but bubblewrap is missing or cannot create namespaces")
    return "bwrap" if usable else "fallback"


def _bwrap_works() -> bool:
    try:
        probe = subprocess.run(
            [*_bwrap_prefix(Path("/nonexistent")), "/bin/true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _python() -> tuple[str, Path]:
    """The base interpreter (not the venv: the sandbox sees no site-packages) and its prefix."""
    exe = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    return exe, Path(sys.base_prefix).resolve()


def _bwrap_prefix(code_dir: Path, tmpfs_mb: int = 64) -> list[str]:
    """bwrap arguments: fresh namespaces, the interpreter read-only, a private tmpfs."""
    as_root = os.geteuid() == 0
    # As root we keep the host user namespace so that the program can then drop to an
    # unprivileged uid (setpriv), which makes RLIMIT_NPROC apply; otherwise bwrap maps us.
    ns = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if not as_root:
        ns.insert(0, "--unshare-user")
    args = [shutil.which("bwrap") or "bwrap", *ns, "--die-with-parent", "--new-session", "--clearenv"]
    args += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    if os.path.exists("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    _, prefix = _python()
    if not str(prefix).startswith("/usr/"):
        # Parents of the mount point are made world-traversable: bwrap would copy /root's 0700.
        for parent in reversed(prefix.parents[:-1]):
            args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(prefix), str(prefix)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(tmpfs_mb * 2**20), "--tmpfs", "/tmp", "--chdir", "/tmp"]
    if code_dir.exists():
        args += ["--ro-bind", str(code_dir), "/code"]
    args += ["--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp"]
    args += ["--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    if as_root:
        uid = str(_FIRST_SANDBOX_UID + uuid.uuid4().int % 60_000)
        args += ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--no-new-privs"]
    else:
        args += ["--"]
    return args


def _set_limits(limits: Limits, nproc: int) -> None:
    """Runs in the child between fork and exec (preexec_fn): only cheap system calls."""
    mem = limits.memory_mb * 2**20
    fsize = limits.max_file_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _own_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _write_code(code_dir: Path, files: dict[str, str]) -> None:
    code_dir.mkdir(mode=0o755)
    os.chmod(code_dir, 0o755)  # mkdtemp parents are 0700: the sandbox uid must read this
    for name, text in {**files, **_SUPPORT, "_rlvr_prelude.py": _PRELUDE}.items():
        path = code_dir / name
        if path.resolve().parent != code_dir.resolve():
            raise ValueError(f"sandbox file name must be a plain name: {name!r}")
        path.write_text(text)
        os.chmod(path, 0o644)


def _read_capped(path: Path, cap: int) -> tuple[str, bool]:
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    return data[:cap].decode("utf-8", "replace"), len(data) > cap


def _command(host_dir: Path, files: dict[str, str], entry: str, args: tuple[str, ...], limits: Limits,
             trusted_entry: bool) -> tuple[list[str], dict]:
    """Write `files` under host_dir/code and build the sandboxed command line; returns it with
    the Popen settings (cwd, env) and what cleanup needs (token, nproc, backend)."""
    kind = backend()
    code_dir = host_dir / "code"
    _write_code(code_dir, files)
    exe, _ = _python()
    if kind == "bwrap":
        code_path = "/code"
        prefix = _bwrap_prefix(code_dir, limits.tmpfs_mb)
        run = {"cwd": None, "env": {}, "token": None, "kind": kind,
               "nproc": limits.max_procs + (0 if os.geteuid() == 0 else _own_process_count())}
    else:
        code_path = str(code_dir)
        prefix = []
        work = host_dir / "work"
        work.mkdir()
        token = uuid.uuid4().hex
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "RLVR_GUARD": "1", "RLVR_SANDBOX_TOKEN": token}
        run = {"cwd": str(work), "env": env, "token": token, "kind": kind,
               "nproc": limits.max_procs + _own_process_count()}
    target = [f"{code_path}/{entry}"]
    if not trusted_entry:
        target.insert(0, f"{code_path}/_rlvr_prelude.py")
    # -S: no site-packages (the program gets the standard library only); -B: no .pyc.
    return [*prefix, exe, "-S", "-B", *target, *args], run


def run_python(
    files: dict[str, str],
    entry: str,
    args: tuple[str, ...] = (),
    stdin: str = "",
    limits: Limits = Limits(),
    trusted_entry: bool = False,
) -> ExecResult:
    """Run `entry` (one of `files`) with Python in the sandbox and collect its output.

    `trusted_entry=True` is for rlvr's own runners, which install the fallback guard
    themselves right before they run untrusted code (they may need os.fork first); any other
    entry runs behind a prelude that installs it first. The directory with `files` is visible
    to the program read-only at /code (bwrap) and deleted afterwards, like everything else.
    """
    host_dir = Path(tempfile.mkdtemp(prefix="rlvr-sbx-"))
    try:
        cmd, run = _command(host_dir, files, entry, args, limits, trusted_entry)
        (host_dir / "stdin").write_text(stdin)
        return _execute(cmd, host_dir, limits, run)
    finally:
        shutil.rmtree(host_dir, ignore_errors=True)


def _popen(cmd: list[str], run: dict, limits: Limits, **streams) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=run["cwd"], env=run["env"], start_new_session=True,
                            preexec_fn=lambda: _set_limits(limits, run["nproc"]), **streams)


def _end(proc: subprocess.Popen, run: dict) -> None:
    """Kill the program's whole process tree and reap it."""
    _kill_group(proc.pid)
    proc.wait()
    if run["token"] is not None:
        _sweep(run["token"])


def _execute(cmd: list[str], host_dir: Path, limits: Limits, run: dict) -> ExecResult:
    out_path, err_path = host_dir / "stdout", host_dir / "stderr"
    start = time.monotonic()
    timed_out = False
    with open(host_dir / "stdin", "rb") as fin, open(out_path, "wb") as fout, open(err_path, "wb") as ferr:
        proc = _popen(cmd, run, limits, stdin=fin, stdout=fout, stderr=ferr)
        try:
            timed_out = not _wait_exit(proc, limits.wall_s)
        finally:
            _end(proc, run)
    wall = time.monotonic() - start
    cap = limits.max_output_kb * 1024
    stdout, cut_out = _read_capped(out_path, cap)
    stderr, cut_err = _read_capped(err_path, cap)
    return ExecResult(
        returncode=None if timed_out else proc.returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        output_truncated=cut_out or cut_err,
        wall_s=wall,
        backend=run["kind"],
    )


class SandboxFailed(RuntimeError):
    """The sandbox did not start (before any program code ran): a verifier error, no verdict."""


class ChannelClosed(Exception):
    """The sandboxed process stopped answering: it exited, was killed, timed out, or sent
    more than a message may hold. Whatever it was doing counts as failed."""


class Session:
    """A sandboxed process the caller talks to in lines: requests on its stdin, replies on its
    stdout. Made by `open_python`; every wait is bounded by a deadline (time.monotonic())."""

    def __init__(self, proc: subprocess.Popen, limits: Limits, err_path: Path, started: float):
        self._proc = proc
        self._buffer = b""
        self._err_path = err_path
        self.max_line = limits.max_output_kb * 1024 * 16
        self.deadline = started + limits.wall_s  # the whole session's limit
        os.set_blocking(proc.stdout.fileno(), False)

    def send(self, line: str, deadline: float) -> None:
        data = memoryview((line + "\n").encode())
        fd = self._proc.stdin.fileno()
        os.set_blocking(fd, False)
        while data:
            self._wait(fd, select.POLLOUT, deadline)
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError) as e:
                raise ChannelClosed("the sandboxed process closed its input") from e

    def recv(self, deadline: float) -> str:
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            if len(self._buffer) > self.max_line:
                raise ChannelClosed(f"reply longer than {self.max_line} bytes")
            self._wait(fd, select.POLLIN, deadline)
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                raise ChannelClosed(f"the sandboxed process exited (code {self._proc.poll()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def _wait(self, fd: int, event: int, deadline: float) -> None:
        left = min(deadline, self.deadline) - time.monotonic()
        poller = select.poll()
        poller.register(fd, event)
        if left <= 0 or not poller.poll(left * 1000):
            raise ChannelClosed("timed out")

    def stderr(self, limit: int = 2000) -> str:
        """The tail of what the process wrote to stderr so far."""
        try:
            with open(self._err_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - limit))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


@contextmanager
def open_python(files: dict[str, str], entry: str, args: tuple[str, ...] = (), limits: Limits = Limits(),
                trusted_entry: bool = True) -> Iterator[Session]:
    """Start `entry` in the sandbox and talk to it; on leaving, its whole process tree is killed
    and its files deleted. Nothing of the caller's is shared with it but the two pipes."""
    host_dir = Path(tempfile.mkdtemp(prefix="rlvr-sbx-"))
    try:
        cmd, run = _command(host_dir, files, entry, args, limits, trusted_entry)
        err_path = host_dir / "stderr"
        with open(err_path, "wb") as ferr:
            try:
                proc = _popen(cmd, run, limits, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=ferr)
            except OSError as e:  # no interpreter, no bwrap, no processes left to start
                raise SandboxFailed(f"the sandbox did not start: {e}") from None
        try:
            yield Session(proc, limits, err_path, time.monotonic())
        finally:
            _end(proc, run)
            proc.stdin.close()
            proc.stdout.close()
    finally:
        shutil.rmtree(host_dir, ignore_errors=True)


def _wait_exit(proc: subprocess.Popen, timeout: float) -> bool:
    """True if the process exited within `timeout`. Waits on a pidfd where the OS has one:
    Popen.wait(timeout) polls with sleeps of up to 50 ms, which would dominate short runs."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    finally:
        os.close(pidfd)


def _kill_group(pgid: int) -> None:
    # With bwrap, killing bwrap (the group leader) makes the namespace's init die, which makes
    # the kernel SIGKILL every process in the PID namespace, escaped sessions included.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _sweep(token: str, rounds: int = 20) -> None:
    """Fallback only: kill every process whose environment carries this run's token.

    Repeats until a full pass finds none, so that a process forking while we kill is caught.
    """
    marker = f"RLVR_SANDBOX_TOKEN={token}".encode()
    for _ in range(rounds):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        os.kill(int(entry), signal.SIGKILL)
                        found = True
            except (OSError, ProcessLookupError):
                continue
        if not found:
            return
        time.sleep(0.01)
