"""Rollouts: sample N completions per problem with the policy, score them, form groups."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from rlvr.problems import Problem, Rollout
from rlvr.sampling.base import SamplingParams
from rlvr.scoring import Scorer
from rlvr.seeds import stream_seed


@dataclass
class Group:
    """A problem with its scored rollouts."""

    problem: Problem
    rollouts: list[Rollout]
    truncated: list[bool]

    @property
    def rewards(self) -> list[float]:
        return [r.score.reward for r in self.rollouts]

    @property
    def zero_variance(self) -> bool:
        return max(self.rewards) == min(self.rewards)


@dataclass
class RolloutStats:
    sample_s: float = 0.0
    score_s: float = 0.0
    tokens: int = 0
    groups_drawn: int = 0
    groups_zero_variance: int = 0
    verifier_errors: int = 0  # rollouts left out because their Score is a verifier error
    drawn: list[tuple[str, float, bool]] = field(default_factory=list)  # (domain, reward, correct) of every
    # first-stage rollout, dropped groups too
    extra: dict = field(default_factory=dict)


def draw_problems(problems: list[Problem], count: int, seed: int, step: int, draw: int) -> list[Problem]:
    """The problems of (step, draw): deterministic, so a resumed run draws the same ones."""
    rng = random.Random(f"{seed}/{step}/{draw}")
    return rng.sample(problems, min(count, len(problems)))


def sample_groups(sampler, scorer: Scorer, problems: list[Problem], params: SamplingParams, stats: RolloutStats,
                  prompts: list | None = None, source: str = "policy") -> list[Group]:
    """Sample `params.n` completions per problem, score them, and make groups.

    When sampling runs off the CPU (a GPU, a server), problems go to the sampler a sampler batch
    at a time and each batch is scored in the background while the next one is sampled
    (`stats.score_s` counts only the wait for scores after the last batch). On CPU the verifier
    workers would compete with sampling for the same cores (2 cores, main job: scoring waits
    22 s -> 12 s, sampling 37 s -> 54 s), so there it samples everything, then scores.
    `prompts` (default: each problem's own) is what the sampler sees; the rollouts always record
    the problem's own prompt, so a completion sampled with a hint or feedback in the context is
    trained on without it (`source` marks it; its log-probs stay those of the context it was
    sampled in, the behaviour policy).

    A rollout whose Score is a verifier error (no verdict: the sandbox failed, a worker died,
    bad ground truth) is left out of its group, so it enters neither the advantages nor the
    loss, and is counted in `stats.verifier_errors`; a group left with no rollout is dropped."""
    shown = prompts or [p.sampler_prompt() for p in problems]
    on_cpu = getattr(getattr(sampler, "device", None), "type", None) == "cpu"
    per_batch = max(1, len(problems))
    if not on_cpu:
        per_batch = max(1, getattr(sampler, "batch_size", len(problems) * params.n) // params.n)
    samples, pending = [], []
    with ThreadPoolExecutor(max_workers=1) as background:
        for b, start in enumerate(range(0, len(problems), per_batch)):
            t0 = time.perf_counter()
            batch = sampler.sample(shown[start : start + per_batch], replace(params, seed=params.seed + 7919 * b))
            stats.sample_s += time.perf_counter() - t0
            samples += batch
            pairs = [(p, s.text) for p, group in zip(problems[start : start + per_batch], batch) for s in group]
            pending.append(background.submit(scorer.score_many, pairs))
        t1 = time.perf_counter()
        scores = iter([score for future in pending for score in future.result()])
        stats.score_s += time.perf_counter() - t1
    own_prompts = [sampler.encode(p.sampler_prompt()) for p in problems] if prompts else None
    groups = []
    for i, (problem, group) in enumerate(zip(problems, samples)):
        rollouts = [Rollout(problem_id=problem.id, prompt_ids=own_prompts[i] if own_prompts else s.prompt_ids,
                            completion_ids=s.token_ids, text=s.text, logprobs=s.logprobs, source=source,
                            score=next(scores)) for s in group]
        stats.tokens += sum(len(s.token_ids) for s in group)
        verdicts = [(r, s.finish_reason == "length") for r, s in zip(rollouts, group) if not r.score.error]
        stats.verifier_errors += len(rollouts) - len(verdicts)
        if verdicts:
            groups.append(Group(problem, [r for r, _ in verdicts], [t for _, t in verdicts]))
    return groups


def draw_params(params: SamplingParams, n: int, seed: int, step: int, draw: int,
                purpose: str = "rollout") -> SamplingParams:
    """Sampling parameters of one draw of one step: deterministic, so a resumed run repeats them,
    and a stream of its own for each (purpose, draw) (rlvr.seeds)."""
    return SamplingParams(**{**params.__dict__, "n": n, "seed": stream_seed(seed, step, purpose, draw)})


def collect_groups(sampler, scorer: Scorer, problems: list[Problem], count: int, n: int, params: SamplingParams,
                   step: int, seed: int, dynamic: bool, max_draws: int) -> tuple[list[Group], RolloutStats]:
    """`count` groups of `n` rollouts. With `dynamic`, zero-variance groups are dropped and more
    problems drawn (up to `max_draws` batches), as in DAPO's dynamic sampling."""
    groups: list[Group] = []
    stats = RolloutStats()
    for draw in range(max_draws if dynamic else 1):
        batch = draw_problems(problems, count - len(groups) if dynamic else count, seed, step, draw)
        for made in sample_groups(sampler, scorer, batch, draw_params(params, n, seed, step, draw), stats):
            stats.groups_drawn += 1
            stats.groups_zero_variance += made.zero_variance
            stats.drawn += [(made.problem.domain, r, o.score.correct) for r, o in zip(made.rewards, made.rollouts)]
            if not (dynamic and made.zero_variance):
                groups.append(made)
        if not dynamic or len(groups) >= count:
            break
    return groups[:count] if dynamic else groups, stats
