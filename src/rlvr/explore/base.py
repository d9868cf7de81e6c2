"""The method interface, the step context methods sample through, and the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlvr.problems import Problem, Rollout
from rlvr.rollouts import Group, RolloutStats, draw_params, sample_groups
from rlvr.sampling.base import SamplingParams
from rlvr.scoring import Scorer


@dataclass
class StepContext:
    """What a method may use during one training step."""

    sampler: Any
    scorer: Scorer
    params: SamplingParams
    n: int  # rollouts per prompt of stage 1
    step: int
    seed: int
    stats: RolloutStats
    model: Any = None
    tokenizer: Any = None

    def sample(self, problems: list[Problem], n: int, draw: int, prompts: list | None = None,
               source: str = "policy") -> list[Group]:
        """Groups of `n` rollouts; `draw` (>= 1) names a random stream of its own, apart from
        stage 1's and repeatable on resume (rlvr.seeds)."""
        if not problems:
            return []
        params = draw_params(self.params, n, self.seed, self.step, draw, purpose="method")
        return sample_groups(self.sampler, self.scorer, problems, params, self.stats, prompts, source)

    def count(self, key: str, value: float = 1) -> None:
        """Add to a per-step counter reported in metrics.jsonl."""
        self.stats.extra[key] = self.stats.extra.get(key, 0) + value


def accuracy(group: Group) -> float:
    return sum(r.score.correct for r in group.rollouts) / len(group.rollouts)


def strictly_mixed(groups: list[Group], ctx: StepContext) -> list[Group]:
    """Groups whose accuracy is strictly between 0 and 1 (the others have no learning signal)."""
    kept = [g for g in groups if 0 < accuracy(g) < 1]
    ctx.count("groups_dropped", len(groups) - len(kept))
    return kept


def with_context(prompt: str | list[dict], extra: str) -> str | list[dict]:
    """The prompt with `extra` (a hint, feedback) appended to its last user turn."""
    if isinstance(prompt, str):
        return f"{prompt}\n\n{extra}"
    messages = [dict(m) for m in prompt]
    last = max(i for i, m in enumerate(messages) if m["role"] == "user")
    messages[last]["content"] = f"{messages[last]['content']}\n\n{extra}"
    return messages


class Method:
    """Plain GRPO-family training, as configured in `algo`: rollouts pass through unchanged."""

    name = "grpo"

    def __init__(self, cfg: Any):
        self.cfg = cfg

    def train_problems(self, problems: list[Problem]) -> list[Problem]:
        return problems

    def expand(self, groups: list[Group], ctx: StepContext) -> list[Group]:
        return groups

    def rehearsal(self, step: int) -> list[Rollout]:
        return []


METHODS: dict[str, type[Method]] = {"grpo": Method}


def register(cls: type[Method]) -> type[Method]:
    if cls.name in METHODS:
        raise ValueError(f"method {cls.name!r} is already registered")
    METHODS[cls.name] = cls
    return cls


def make_method(cfg: Any) -> Method:
    """The method named by `cfg.method.name` (the modules register on import)."""
    from rlvr.explore import ampo, dars, dph, guide, rgr  # noqa: F401 - registration

    return METHODS[cfg.method.name](cfg)
