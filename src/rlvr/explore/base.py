"""The method interface, the step context methods sample through, and the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rlvr.algo.offpolicy import OffPolicySpec
from rlvr.problems import Problem, Rollout
from rlvr.rollouts import Group, RolloutStats, draw_params, sample_groups
from rlvr.sampling.base import SamplingParams
from rlvr.scoring import Scorer
from rlvr.settings import Strict


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


class NoSettings(Strict):
    """A method without settings of its own."""


class Method:
    """Plain GRPO-family training, as configured in `algo`: rollouts pass through unchanged.

    A method is one file that subclasses this and declares, besides what it does to a step
    (`expand`, `rehearsal`, `train_problems`):
    - `Settings`: its settings model, read from the config's `method.<settings_key>` section;
    - `defaults`: values it needs elsewhere in the config, used where the user set none;
    - `conflicts(cfg)`: why a config cannot run with it (checked before any work), or None;
    - `offpolicy()`: the parameters of the loss terms of the rollouts it adds (rlvr.algo.offpolicy);
    - `study`: the config changes `rlvr study explore` makes for it (its paper's settings at our scale).
    `@register` puts it in METHODS; every module of this package is imported, so a new file is found.
    """

    name: ClassVar[str] = "grpo"
    Settings: ClassVar[type[Strict]] = NoSettings
    settings_key: ClassVar[str | None] = None  # the config section of its settings (default: its name)
    defaults: ClassVar[dict[str, Any]] = {}
    study: ClassVar[dict[str, Any]] = {}

    def __init__(self, cfg: Any):
        self.cfg = cfg

    @classmethod
    def section(cls) -> str:
        return cls.settings_key or cls.name

    @property
    def settings(self) -> Any:
        """This method's settings in the run's config."""
        return getattr(self.cfg.method, self.section())

    @classmethod
    def conflicts(cls, cfg: Any) -> str | None:
        return None

    def offpolicy(self) -> OffPolicySpec:
        return OffPolicySpec()

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
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise TypeError(f"method {cls!r} must subclass rlvr.explore.Method")
    METHODS[cls.name] = cls
    return cls


def settings_models() -> dict[str, type[Strict]]:
    """Config section -> settings model, for every registered method that has settings."""
    return {cls.section(): cls.Settings for cls in METHODS.values() if cls.Settings.model_fields}


def make_method(cfg: Any) -> Method:
    """The method named by `cfg.method.name`."""
    return METHODS[cfg.method.name](cfg)


# Shared conflict checks: each returns why a config cannot run with the method, or None.
def needs_dr_grpo(cfg: Any) -> str | None:
    if cfg.algo.advantage != "dr_grpo":
        return "uses the advantage r - mean: set algo.advantage: dr_grpo"
    return None


def no_dynamic_sampling(cfg: Any) -> str | None:
    if cfg.rollout.dynamic_sampling:
        return "drops all-same groups itself: set rollout.dynamic_sampling: false"
    return None


def shaped_offpolicy(cfg: Any) -> str | None:
    if cfg.algo.loss != "ppo_clip":
        return "shapes per-token off-policy ratios: algo.loss must be ppo_clip"
    if cfg.algo.advantage == "pass_at_k":
        return "mixes off-policy rollouts into groups: algo.advantage pass_at_k is not supported"
    return None


def first_conflict(*reasons: str | None) -> str | None:
    return next((r for r in reasons if r), None)
