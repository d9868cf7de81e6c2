"""Verifiers, one module per domain, found by name.

Every verifier has the signature `(problem, completion) -> Score` and never raises on model
output: garbage gets reward 0 and a reason. Unusable *ground truth* raises `GroundTruthError`,
which names the problem, because that is the user's data to fix.

>>> from rlvr.problems import Problem
>>> verify(Problem(id="p", domain="math", prompt="1/2?", answer="\\\\frac12"), "\\\\boxed{0.5}").correct
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rlvr.problems import Problem, Score

Verifier = Callable[[Problem, str], Score]
_REGISTRY: dict[str, Verifier] = {}
_MODULES = ("math", "code", "science", "logic", "simulation", "tabular")


class GroundTruthError(ValueError):
    """The problem's answer/tests/rubric cannot be used; the message names the problem."""


def register(domain: str) -> Callable[[Verifier], Verifier]:
    """Decorator: make `fn` the verifier of `domain`. Duplicates are rejected."""

    def add(fn: Verifier) -> Verifier:
        if domain in _REGISTRY:
            raise ValueError(f"a verifier for domain {domain!r} is already registered")
        if not callable(fn):
            raise TypeError(f"verifier for {domain!r} must be callable")
        _REGISTRY[domain] = fn
        return fn

    return add


def get_verifier(domain: str) -> Verifier:
    if domain not in _REGISTRY:
        for name in _MODULES:  # built-in domains register themselves on import
            importlib.import_module(f"rlvr.domains.{name}")
    if domain not in _REGISTRY:
        raise KeyError(f"no verifier for domain {domain!r}; valid: {sorted(_REGISTRY)}")
    return _REGISTRY[domain]


def verify(problem: Problem, completion: str) -> Score:
    """Score one completion in this process: the domain's check, then the rubric if any."""
    from rlvr.domains.rubric import apply_rubric

    score = get_verifier(problem.domain)(problem, completion)
    if problem.rubric:
        score = apply_rubric(problem, completion, score)
    return score


def binary(correct: bool, extracted: object, reason: str, **details: object) -> Score:
    """A 0/1 score."""
    return Score(reward=1.0 if correct else 0.0, correct=correct, extracted=extracted, reason=reason, details=details)


def no_answer(reason: str = "no answer found") -> Score:
    return Score(reward=0.0, correct=False, extracted=None, reason=reason)
