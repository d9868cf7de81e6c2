import json

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
