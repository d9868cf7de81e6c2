import json
import socket

import pytest

from rlvr.problems import Problem
from rlvr.sandbox import core


def make(domain: str, answer=None, **fields) -> Problem:
    return Problem(id=fields.pop("id", "t"), domain=domain, prompt=fields.pop("prompt", "q"), answer=answer, **fields)


@pytest.fixture
def fallback_sandbox(monkeypatch):
    """Force the weaker fallback backend for one test."""
    monkeypatch.setenv("RLVR_SANDBOX", "fallback")
    core.backend.cache_clear()
    yield
    core.backend.cache_clear()


@pytest.fixture
def bwrap_sandbox(monkeypatch):
    """The bubblewrap backend for one test; where bubblewrap cannot create namespaces (a container
    that forbids them), the test is skipped with that reason instead of running the fallback
    under the bwrap label. The skip reasons are printed at the end of the run (-rs)."""
    monkeypatch.delenv("RLVR_SANDBOX", raising=False)
    core.backend.cache_clear()
    if core.backend() != "bwrap":
        pytest.skip("bubblewrap cannot create namespaces on this machine: only the fallback sandbox was tested")
    yield
    core.backend.cache_clear()


@pytest.fixture(scope="session")
def scorer():
    from rlvr.scoring import Scorer

    with Scorer(workers=2) as s:
        yield s


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A random-weight Qwen2 model with a BPE tokenizer (thinking tags in the vocabulary),
    saved in Hugging Face format: mechanics tests only, its text is noise."""
    from rlvr.models.tiny import build_model, build_tokenizer, save
    from rlvr.suites.synthetic import synthetic_suite

    texts = [p.prompt_text() + p.meta["solution"] for p in synthetic_suite(per_task=2)]
    tokenizer = build_tokenizer(texts, vocab_size=512)
    return save(build_model(tokenizer, hidden=32, layers=2, heads=2), tokenizer, tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def rubric_data(tmp_path):
    # A reward a random model can earn: a digit somewhere in the response (rubric-only mode).
    rows = [{"id": f"r{i}", "domain": "math", "prompt": f"Say something about {i}.", "answer": "1",
             "rubric": [{"kind": "regex", "value": "\\d", "weight": 1}], "rubric_combine": {"mode": "rubric"}}
            for i in range(12)]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory):
    """A real vLLM OpenAI-compatible server (the CPU build) with the shipped tiny reasoner, served
    as `tiny`, its development routes on; one per test module, stopped after it (an idle vLLM CPU
    server keeps its cores busy polling, which would slow every later test)."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:  # not importorskip: importing vLLM here changes this process
        pytest.skip("vLLM is not installed: scripts/setup.sh vllm (CI installs it)")
    import os
    import subprocess
    import sys
    import time

    from rlvr.models import model_path

    shipped = model_path("tiny-reasoner")
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "VLLM_SERVER_DEV_MODE": "1", "VLLM_CPU_KVCACHE_SPACE": "1",
           "VLLM_CPU_OMP_THREADS_BIND": "nobind", "OMP_NUM_THREADS": "1"}
    with open(log, "w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(shipped),
                                   "--served-model-name", "tiny", "--dtype", "float32", "--enforce-eager",
                                   "--logprobs-mode", "processed_logprobs", "--max-model-len", "1024",
                                   "--host", "127.0.0.1", "--port", str(port)], stdout=sink, stderr=subprocess.STDOUT,
                                  env=env)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.time() + 240
    while time.time() < deadline:
        if server.poll() is not None:
            pytest.fail(f"vLLM server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(1)
    else:
        server.kill()
        pytest.fail(f"vLLM server did not start in 240 s: {log.read_text()[-2000:]}")
    yield url
    server.terminate()
    server.wait(timeout=30)
