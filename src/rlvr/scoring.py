"""Scoring at scale: verifiers in worker processes with a hard per-item time limit.

Why processes: math-verify (and sympy) can hang on adversarial input and its own timeouts use
signal alarms, which do not work off the main thread. Each item runs in a `pebble` worker
process; one that exceeds its limit is killed and replaced, and the item scores 0 with the
reason "verifier timed out". Code runs one level deeper still, in the sandbox.

>>> from rlvr import Problem, score
>>> score(Problem(id="p", domain="math", prompt="?", answer="2"), "\\\\boxed{2}").reward
1.0
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import resource
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from pebble import ProcessExpired, ProcessPool

from rlvr.problems import Problem, Record, RecordError, Score, completions_of, to_problem

TIMEOUT_S = {"code": 90.0, "simulation": 30.0}  # code: the sandbox has its own, shorter limits
DEFAULT_TIMEOUT_S = 15.0
CHUNK = 16  # items per worker round trip, fast domains only
CHUNK_ALLOWANCE_S = 2.0  # extra seconds a chunk gets per item on top of one item's limit
WORKER_MEMORY_MB = 4096


def _mp_context() -> multiprocessing.context.BaseContext:
    """fork where the OS has it: workers start fast and user scripts need no `__main__` guard
    (forkserver/spawn re-import the main script). forkserver once vLLM runs in this process: a
    worker forked from it would inherit its gigabytes of address space (then over the workers'
    memory limit: allocations fail and C code crashes) and its OpenMP threads. RLVR_MP_CONTEXT
    overrides it."""
    methods = multiprocessing.get_all_start_methods()
    default = "fork" if "fork" in methods else "spawn"
    if "vllm" in sys.modules and "forkserver" in methods:
        default = "forkserver"
    context = multiprocessing.get_context(os.environ.get("RLVR_MP_CONTEXT", default))
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["rlvr.domains"])  # each worker forks with the verifiers imported
    return context


def _init_worker() -> None:
    # Ctrl-C in a terminal reaches the whole process group: only the parent should react (it
    # finishes what is scored and exits cleanly); a worker killed mid-item would record a failure.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    limit = WORKER_MEMORY_MB * 2**20
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass
    import rlvr.domains as domains

    domains.get_verifier("math")  # import every domain once per worker


def score_in_process(problem: Problem | dict, completion: str) -> Score:
    """Score without isolation (what each worker runs). Never raises."""
    from rlvr.domains import GroundTruthError, verify

    try:
        if isinstance(problem, dict):
            problem = Problem.model_validate(problem)
        return verify(problem, completion)
    except GroundTruthError as e:
        return Score(reward=0.0, correct=False, reason=f"bad ground truth: {e}", error=True)
    except Exception as e:  # noqa: BLE001 - a verifier bug must not take the batch down
        return Score(reward=0.0, correct=False, reason=f"verifier crashed: {type(e).__name__}: {e}"[:300], error=True)


def _worker_task(problem: dict, completion: str) -> dict:
    return score_in_process(problem, completion).model_dump()


def _worker_cluster(problem: dict, answers: list) -> list[int]:
    from rlvr.domains.answers import cluster_answers

    return cluster_answers(problem, answers)


def _worker_chunk(items: list[tuple[dict, str]]) -> list[dict]:
    return [score_in_process(p, c).model_dump() for p, c in items]


class Scorer:
    """A pool of verifier processes. Use as a context manager or call `close()`.

    >>> problem = Problem(id="p", domain="math", prompt="1+1?", answer="2")
    >>> with Scorer(workers=2) as scorer:
    ...     [s.reward for s in scorer.score_many([(problem, "\\\\boxed{2}"), (problem, "\\\\boxed{3}")])]
    [1.0, 0.0]
    """

    def __init__(self, workers: int | None = None, timeout_s: float | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.timeout_s = timeout_s
        if _mp_context().get_start_method() == "fork":
            import rlvr.domains as domains

            # Import every verifier here, before any fork: a worker forked later (pebble replaces
            # one that timed out or died) from a parent with running threads (torch, samplers)
            # must not run the import machinery, which can be mid-use in another thread.
            domains.get_verifier("math")
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPool:
        return ProcessPool(max_workers=self.workers, initializer=_init_worker, context=_mp_context())

    def _schedule(self, fn, args: tuple, timeout: float) -> Future:
        """Schedule on the pool; a pool that broke (a replacement worker failed to start) is
        replaced once, so one bad fork never ends a training run."""
        try:
            return self._pool.schedule(fn, args=args, timeout=timeout)
        except RuntimeError:
            self._pool.stop()
            self._pool = self._new_pool()
            return self._pool.schedule(fn, args=args, timeout=timeout)

    def submit(self, problem: Problem, completion: str) -> Future:
        limit = self.timeout_s or TIMEOUT_S.get(problem.domain, DEFAULT_TIMEOUT_S)
        return self._schedule(_worker_task, (problem.model_dump(), completion), limit)

    @staticmethod
    def result(future: Future) -> Score:
        """The Score of a submitted item. A timeout is a wrong answer (the completion made the
        verifier hang, and a policy must not learn that hanging escapes a low reward); a worker
        that died (out of memory, killed) gave no verdict: an error Score."""
        try:
            return Score.model_validate(future.result())
        except FutureTimeout:
            return Score(reward=0.0, correct=False, reason="verifier timed out")
        except ProcessExpired as e:
            return Score(reward=0.0, correct=False, error=True,
                         reason=f"verifier error: scoring process died (exit code {e.exitcode})")
        except Exception as e:  # noqa: BLE001
            return Score(reward=0.0, correct=False, reason=f"scoring failed: {type(e).__name__}: {e}"[:300], error=True)

    def score_many(self, pairs: Iterable[tuple[Problem, str]]) -> list[Score]:
        """Score many items. A completion repeated for the same problem is scored once (a
        verdict is a function of the two, and a sharpened policy repeats itself: after the main
        job, its 116 held-out write_function samples held 46 distinct texts, and each costs a
        sandbox run); each repeat gets its own copy of the Score."""
        pairs = list(pairs)
        slot_of: dict[tuple[int, str], int] = {}
        firsts: list[int] = []  # the index of each distinct item's first occurrence
        slots = []
        for i, (problem, completion) in enumerate(pairs):
            key = (id(problem), completion)
            if key not in slot_of:
                slot_of[key] = len(firsts)
                firsts.append(i)
            slots.append(slot_of[key])
        distinct = self._score_distinct([pairs[i] for i in firsts])
        return [distinct[slot] if firsts[slot] == i else distinct[slot].model_copy(deep=True)
                for i, slot in enumerate(slots)]

    def _score_distinct(self, pairs: list[tuple[Problem, str]]) -> list[Score]:
        """Items of the fast domains travel in chunks (one process round trip per chunk instead
        of per item); a chunk that times out or dies is re-scored item by item, so one bad item
        still costs only its own result."""
        fast = [i for i, (p, _) in enumerate(pairs) if p.domain not in TIMEOUT_S]
        size = max(1, min(CHUNK, len(fast) // (4 * self.workers)))
        chunks = [fast[i : i + size] for i in range(0, len(fast), size)] if size > 1 else []
        chunked = {i for chunk in chunks for i in chunk}
        singles = {i: self.submit(*pairs[i]) for i in range(len(pairs)) if i not in chunked}
        chunk_futures = [self._submit_chunk([pairs[i] for i in chunk]) for chunk in chunks]
        results: dict[int, Score] = {i: self.result(f) for i, f in singles.items()}
        for chunk, future in zip(chunks, chunk_futures):
            try:
                results.update(zip(chunk, (Score.model_validate(d) for d in future.result())))
            except (FutureTimeout, ProcessExpired):
                retry = {i: self.submit(*pairs[i]) for i in chunk}
                results.update({i: self.result(f) for i, f in retry.items()})
        return [results[i] for i in range(len(pairs))]

    def cluster(self, problem: Problem, answers: list) -> list[int]:
        """Cluster ids of extracted answers by the domain's equivalence (for maj@k, Borda).
        If that times out, answers are grouped by their normalized text instead."""
        from rlvr.domains.answers import cluster_answers

        future = self._schedule(_worker_cluster, ({"domain": problem.domain}, answers),
                                DEFAULT_TIMEOUT_S + 0.5 * len(answers))
        try:
            return future.result()
        except (FutureTimeout, ProcessExpired):
            return cluster_answers({"domain": "exact"}, answers)

    def chunk_limit(self, n_items: int) -> float:
        return (self.timeout_s or DEFAULT_TIMEOUT_S) + CHUNK_ALLOWANCE_S * n_items

    def _submit_chunk(self, items: list[tuple[Problem, str]]) -> Future:
        args = ([(p.model_dump(), c) for p, c in items],)
        return self._schedule(_worker_chunk, args, self.chunk_limit(len(items)))

    def close(self) -> None:
        self._pool.stop()
        self._pool.join()

    def __enter__(self) -> Scorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: Scorer | None = None


def shared_scorer() -> Scorer:
    """A process-wide pool, created on first use, closed at exit."""
    global _shared
    if _shared is None:
        _shared = Scorer()
        atexit.register(_shared.close)
    return _shared


def score(problem: Problem, completion: str) -> Score:
    """Score one completion (isolated in a worker process, with a hard time limit)."""
    return score_batch([problem], [completion])[0]


def score_batch(problems: list[Problem], completions: list[str]) -> list[Score]:
    """Score completions[i] against problems[i], in parallel over all cores.

    Inside a daemonic process (a worker of a `multiprocessing.Pool`, as verl's reward managers
    use) no process pool can be started: items are scored one by one in this process, each under
    a SIGALRM limit when this is the main thread (pool workers run tasks there). Code still runs
    in the sandbox, a process of its own (started with subprocess, which daemons may do)."""
    if len(problems) != len(completions):
        raise ValueError(f"{len(problems)} problems but {len(completions)} completions")
    if multiprocessing.current_process().daemon:
        return [score_here(p, c) for p, c in zip(problems, completions)]
    return shared_scorer().score_many(zip(problems, completions))


class _Alarm(BaseException):
    """Raised by SIGALRM; a BaseException so that a verifier's `except Exception` cannot eat it."""


def score_here(problem: Problem, completion: str, timeout_s: float | None = None) -> Score:
    """Score in this process: the time limit by SIGALRM, enforced only on the main thread."""
    limit = timeout_s or TIMEOUT_S.get(problem.domain, DEFAULT_TIMEOUT_S)
    if threading.current_thread() is not threading.main_thread():
        return score_in_process(problem, completion)

    def alarm(signum, frame):
        raise _Alarm()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return score_in_process(problem, completion)
    except _Alarm:
        return Score(reward=0.0, correct=False, reason="verifier timed out")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class ScoredRecord:
    """One input line with its scores (or the reason it could not be scored)."""

    where: str
    data: dict[str, Any] | None
    domain: str | None = None
    scores: list[Score] = field(default_factory=list)
    error: str | None = None


def score_records(records: Iterable[Record], scorer: Scorer, window: int = 64) -> Iterator[ScoredRecord]:
    """Score a stream of records, yielding them in input order with at most `window` in flight,
    so memory does not grow with the input. Bad records come back with `error` set."""
    pending: deque[tuple[ScoredRecord, list[Future]]] = deque()
    for record in records:
        pending.append(_submit_record(record, scorer))
        while len(pending) > window:
            yield _collect(*pending.popleft())
    while pending:
        yield _collect(*pending.popleft())


def _submit_record(record: Record, scorer: Scorer) -> tuple[ScoredRecord, list[Future]]:
    out = ScoredRecord(where=record.where, data=record.data, error=record.error)
    if record.error or record.data is None:  # unreadable, or a blank line
        return out, []
    try:
        problem = to_problem(record.data, record.where)
        completions = completions_of(record.data, record.where)
    except RecordError as e:
        out.error = e.message
        return out, []
    out.domain = problem.domain
    return out, [scorer.submit(problem, c) for c in completions]


def _collect(out: ScoredRecord, futures: list[Future]) -> ScoredRecord:
    out.scores = [Scorer.result(f) for f in futures]
    bad = [s for s in out.scores if s.error]
    if bad and out.error is None:
        out.error = bad[0].reason
    return out
