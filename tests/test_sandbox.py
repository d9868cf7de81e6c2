"""Hostile programs against the sandbox. Every test checks the host afterwards."""

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from rlvr.problems import Problem
from rlvr.sandbox import Limits, backend, run_python

QUICK = Limits(wall_s=5, cpu_s=5)


def leftover(marker: str) -> list[int]:
    """Host processes whose command line contains `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry))
    return found


@pytest.fixture
def host_server():
    """A TCP server on the host's loopback that records whether anyone connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    hits = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                hits.append(1)
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


def test_bubblewrap_is_the_backend_here(bwrap_sandbox):
    # The test command installs bubblewrap; where it cannot run, bwrap_sandbox skips, saying so.
    assert backend() == "bwrap"


@pytest.mark.parametrize("mode", ["bwrap", "fallback"])
def test_no_network_not_even_loopback(mode, host_server, request):
    request.getfixturevalue("fallback_sandbox" if mode == "fallback" else "bwrap_sandbox")
    port, hits = host_server
    program = f"""
import socket
for target in [("127.0.0.1", {port}), ("1.1.1.1", 53)]:
    try:
        socket.create_connection(target, timeout=1)
        print("CONNECTED", target)
    except Exception as e:
        print("blocked", type(e).__name__)
"""
    result = run_python({"m.py": program}, "m.py", limits=QUICK)
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("blocked") == 2 or "sandbox" in result.stderr
    time.sleep(0.3)
    assert hits == []


@pytest.mark.parametrize("mode", ["bwrap", "fallback"])
def test_host_files_hidden_and_writes_stay_private(mode, tmp_path, request):
    request.getfixturevalue("fallback_sandbox" if mode == "fallback" else "bwrap_sandbox")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    target = Path("/tmp") / f"rlvr-pwned-{uuid.uuid4().hex}"
    project_file = Path(__file__).resolve().parent / f"pwned-{uuid.uuid4().hex}"
    program = f"""
import os
for path in [{str(secret)!r}, "/etc/shadow", os.path.expanduser("~/.bashrc"), {str(Path(__file__).resolve())!r}]:
    try:
        print("READ", path, open(path).read()[:20])
    except Exception as e:
        print("denied", type(e).__name__)
for path in [{str(target)!r}, {str(project_file)!r}, "/usr/pwned"]:
    try:
        open(path, "w").write("x")
        print("WROTE", path)
    except Exception as e:
        print("denied", type(e).__name__)
open("scratch.txt", "w").write("ok")  # the private working directory is writable
print("scratch", open("scratch.txt").read())
"""
    result = run_python({"m.py": program}, "m.py", limits=QUICK)
    assert "TOP-SECRET" not in result.stdout and "READ" not in result.stdout
    assert not target.exists() and not project_file.exists() and not Path("/usr/pwned").exists()
    assert "scratch ok" in result.stdout


def test_sandbox_temp_files_are_deleted_afterwards():
    before = {p.name for p in Path("/tmp").glob("rlvr-sbx-*")}
    run_python({"m.py": "open('left.txt', 'w').write('x' * 1000)"}, "m.py", limits=QUICK)
    assert {p.name for p in Path("/tmp").glob("rlvr-sbx-*")} == before


@pytest.mark.parametrize("mode", ["bwrap", "fallback"])
def test_no_host_environment_variables(mode, monkeypatch, request):
    request.getfixturevalue("fallback_sandbox" if mode == "fallback" else "bwrap_sandbox")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    result = run_python({"m.py": "import os\nprint(sorted(os.environ.items()))"}, "m.py", limits=QUICK)
    assert "s3cr3t-value" not in result.stdout
    assert "AWS_SECRET_ACCESS_KEY" not in result.stdout


@pytest.mark.parametrize("mode", ["bwrap", "fallback"])
def test_wall_time_limit(mode, request):
    request.getfixturevalue("fallback_sandbox" if mode == "fallback" else "bwrap_sandbox")
    start = time.monotonic()
    result = run_python({"m.py": "import time\nwhile True:\n    time.sleep(0.01)"}, "m.py", limits=Limits(wall_s=1))
    assert result.timed_out and time.monotonic() - start < 4


def test_cpu_time_limit():
    result = run_python({"m.py": "while True:\n    pass"}, "m.py", limits=Limits(wall_s=20, cpu_s=1))
    assert not result.timed_out and result.returncode != 0 and result.wall_s < 5


@pytest.mark.parametrize("mode", ["bwrap", "fallback"])
def test_memory_limit(mode, request):
    request.getfixturevalue("fallback_sandbox" if mode == "fallback" else "bwrap_sandbox")
    result = run_python(
        {"m.py": "x = bytearray(3 * 2**30)\nprint('allocated')"}, "m.py", limits=Limits(wall_s=10, memory_mb=512)
    )
    assert "allocated" not in result.stdout and result.returncode != 0


def test_file_size_limit():
    program = "f = open('big', 'wb')\nfor _ in range(100):\n    f.write(b'x' * 2**20)\nprint('wrote 100MB')"
    result = run_python({"m.py": program}, "m.py", limits=Limits(wall_s=10, max_file_mb=4))
    assert "wrote 100MB" not in result.stdout and result.returncode != 0


def test_stdout_flood_is_cut_and_flagged():
    result = run_python(
        {"m.py": "while True:\n    print('x' * 10000)"},
        "m.py",
        limits=Limits(wall_s=10, max_file_mb=8, max_output_kb=64),
    )
    assert result.output_truncated and len(result.stdout) <= 64 * 1024


def test_fork_bomb_is_bounded_and_leaves_nothing():
    marker = f"{uuid.uuid4().int % 10**6}.4242"
    program = f"""
import os
try:
    while True:
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "{marker}"])
except OSError as e:
    print("fork refused", e.errno)
"""
    result = run_python({"m.py": program}, "m.py", limits=Limits(wall_s=5, max_procs=16))
    assert "fork refused" in result.stdout
    time.sleep(0.2)
    assert leftover(marker) == []


def test_setsid_double_fork_and_sigterm_ignorers_are_killed():
    marker = f"{uuid.uuid4().int % 10**6}.777"
    program = f"""
import os, signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.execv("/bin/sleep", ["sleep", "{marker}"])
    os._exit(0)
print("parent exits at once")
"""
    result = run_python({"m.py": program}, "m.py", limits=QUICK)
    assert "parent exits" in result.stdout
    time.sleep(0.2)
    assert leftover(marker) == []


def test_fallback_refuses_processes_and_leaves_nothing(fallback_sandbox):
    marker = f"{uuid.uuid4().int % 10**6}.555"
    program = f"import os\nos.execv('/bin/sleep', ['sleep', '{marker}'])"
    result = run_python({"m.py": program}, "m.py", limits=QUICK)
    assert "not allowed" in result.stderr
    assert leftover(marker) == []


def test_killing_its_parent_or_everyone_leaves_the_scorer_alive():
    program = """
import os, signal
for pid in (os.getppid(), 1, -1):
    try:
        os.kill(pid, signal.SIGKILL)
    except Exception as e:
        print("refused", pid, type(e).__name__)
print("still here")
"""
    result = run_python({"m.py": program}, "m.py", limits=QUICK)
    assert result.returncode is not None  # the run ended normally, from the scorer's side
    assert run_python({"m.py": "print('next run fine')"}, "m.py", limits=QUICK).stdout == "next run fine\n"


HOSTILE = [
    "import os\nwhile True:\n    os.fork()",
    "while True:\n    print('x' * 100000)",
    "x = [bytearray(2**27) for _ in range(100)]",
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    "import os\nos.killpg(0, 9)",
    "while True:\n    pass",
]


def test_hostile_items_do_not_disturb_other_items_in_a_batch(scorer):
    good = "```python\ndef add(a, b):\n    return a + b\n```"
    tests = {"style": "asserts", "code": ["assert add(2, 3) == 5"], "wall_s": 4}
    problem = Problem(id="h", domain="code", prompt="add", tests=tests)
    pairs = []
    for hostile in HOSTILE:
        pairs.append((problem, f"```python\n{hostile}\n```"))
        pairs.append((problem, good))
    scores = scorer.score_many(pairs)
    assert [s.reward for s in scores[1::2]] == [1.0] * len(HOSTILE)
    assert [s.reward for s in scores[0::2]] == [0.0] * len(HOSTILE)
    assert scorer.score_many([(problem, good)])[0].reward == 1.0  # the pool still works


NON_ROOT_PROBE = r"""
import importlib.util, os, sys, time, uuid
spec = importlib.util.spec_from_file_location("sbxcore", sys.argv[1])
core = importlib.util.module_from_spec(spec)
sys.modules["sbxcore"] = core
spec.loader.exec_module(core)
assert core.backend() == "bwrap", core.backend()
limits = core.Limits(wall_s=5, max_procs=16)
r = core.run_python({"m.py": "import os, socket\nprint('uid', os.getuid())\ntry:\n"
                     "    socket.create_connection(('1.1.1.1', 53), timeout=1)\n    print('NET')\n"
                     "except OSError:\n    print('nonet')\n"}, "m.py", limits=limits)
print(r.stdout.strip().replace("\n", " "))
marker = f"{uuid.uuid4().int % 10**6}.4343"
bomb = ("import os\ntry:\n    while True:\n        if os.fork() == 0:\n"
        f"            os.execv('/bin/sleep', ['sleep', '{marker}'])\nexcept OSError:\n    print('fork refused')\n")
print(core.run_python({"m.py": bomb}, "m.py", limits=limits).stdout.strip())
time.sleep(0.3)
left = [p for p in os.listdir("/proc") if p.isdigit() and marker.encode() in open(f"/proc/{p}/cmdline", "rb").read()]
print("left", len(left))
"""


def test_unprivileged_user_gets_the_same_isolation():
    # As a normal user bubblewrap makes a user namespace and RLIMIT_NPROC counts the user's own
    # processes; run the sandbox module from a non-root account with the system Python.
    import pwd
    import shutil
    import subprocess

    if os.geteuid() != 0 or not shutil.which("useradd") or not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs root (to create the test user) and the system python3; CI has both")
    user = "rlvrsbx"
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", user], check=True)
    import tempfile

    # A directory the test user can read (pytest's tmp_path is private to root); core.py reads
    # guard.py and plain.py from its own directory, so they travel with it.
    shared = Path(tempfile.mkdtemp(prefix="rlvr-nonroot-"))
    try:
        os.chmod(shared, 0o755)
        sandbox_src = Path(__file__).resolve().parents[1] / "src" / "rlvr" / "sandbox"
        for name in ("core.py", "guard.py", "plain.py"):
            shutil.copy(sandbox_src / name, shared / name)
        (shared / "probe.py").write_text(NON_ROOT_PROBE)
        for f in shared.iterdir():
            os.chmod(f, 0o644)
        command = f"cd /tmp && /usr/bin/python3 {shared / 'probe.py'} {shared / 'core.py'}"
        result = subprocess.run(["su", user, "-s", "/bin/sh", "-c", command], capture_output=True, text=True,
                                timeout=120)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    uid = pwd.getpwnam(user).pw_uid
    assert f"uid {uid} nonet" in result.stdout
    assert "fork refused" in result.stdout and "left 0" in result.stdout
