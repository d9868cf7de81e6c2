"""Rollouts: sample N completions per problem with the policy, score them, form groups."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from rlvr.problems import Problem, Rollout
from rlvr.sampling.base import SamplingParams
from rlvr.scoring import Scorer


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
    extra: dict = field(default_factory=dict)


def draw_problems(problems: list[Problem], count: int, seed: int, step: int, draw: int) -> list[Problem]:
    """The problems of (step, draw): deterministic, so a resumed run draws the same ones."""
    rng = random.Random(f"{seed}/{step}/{draw}")
    return rng.sample(problems, min(count, len(problems)))


def collect_groups(sampler, scorer: Scorer, problems: list[Problem], count: int, n: int, params: SamplingParams,
                   step: int, seed: int, dynamic: bool, max_draws: int) -> tuple[list[Group], RolloutStats]:
    """`count` groups of `n` rollouts. With `dynamic`, zero-variance groups are dropped and more
    problems drawn (up to `max_draws` batches), as in DAPO's dynamic sampling."""
    groups: list[Group] = []
    stats = RolloutStats()
    for draw in range(max_draws if dynamic else 1):
        batch = draw_problems(problems, count - len(groups) if dynamic else count, seed, step, draw)
        t0 = time.perf_counter()
        prompts = [p.sampler_prompt() for p in batch]
        step_params = SamplingParams(**{**params.__dict__, "n": n, "seed": seed * 100_003 + step * 101 + draw})
        samples = sampler.sample(prompts, step_params)
        t1 = time.perf_counter()
        scores = scorer.score_many([(p, s.text) for p, group in zip(batch, samples) for s in group])
        stats.sample_s += t1 - t0
        stats.score_s += time.perf_counter() - t1
        k = 0
        for problem, group in zip(batch, samples):
            rollouts = []
            for s in group:
                rollouts.append(Rollout(problem_id=problem.id, prompt_ids=s.prompt_ids, completion_ids=s.token_ids,
                                        text=s.text, logprobs=s.logprobs, source="policy", score=scores[k]))
                k += 1
                stats.tokens += len(s.token_ids)
            made = Group(problem, rollouts, [s.finish_reason == "length" for s in group])
            stats.groups_drawn += 1
            stats.groups_zero_variance += made.zero_variance
            if not (dynamic and made.zero_variance):
                groups.append(made)
        if not dynamic or len(groups) >= count:
            break
    return groups[:count] if dynamic else groups, stats
