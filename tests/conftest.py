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


@pytest.fixture(scope="session")
def scorer():
    from rlvr.scoring import Scorer

    with Scorer(workers=2) as s:
        yield s
