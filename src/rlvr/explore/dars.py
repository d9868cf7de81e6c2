"""DARS (difficulty adaptive rollout sampling) and DARS-B (breadth).

Stage 1 samples N rollouts per prompt. Prompts with accuracy a < 0.5 get dN more in stage 2;
both stages merge into one group, all-right / all-wrong groups are dropped, and the advantage is
r - mean (algo.advantage: dr_grpo). DARS-B is the same rollouts with very large prompt batches
and one optimizer step per epoch over the whole batch (minibatch_size: null; the gradient is
accumulated over microbatches).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Literal

from pydantic import Field

from rlvr.explore.base import (
    Method,
    StepContext,
    accuracy,
    first_conflict,
    needs_dr_grpo,
    no_dynamic_sampling,
    register,
    strictly_mixed,
)
from rlvr.rollouts import Group
from rlvr.settings import Strict


class DarsSettings(Strict):
    """DARS and DARS-B: difficulty-adaptive rollout sampling."""

    schedule: Literal["et", "hw"] = "et"  # equal treatment | hardness weighted
    n_max: int | None = Field(None, ge=1)  # rollouts per prompt at most (default: 32 for et, 64 for hw)


def extra_rollouts(correct: int, n: int, schedule: str = "et", n_max: int | None = None) -> int:
    """dN of stage 2 for a prompt with `correct` of `n` stage-1 rollouts right.

    a = correct / n (a = 0 counts as 0.5 / n), S(a) = 2a(1 - a), A_peak = n / 2;
    equal treatment: dN = ceil((A_peak - n S(a)) / S(a)), at most n_max - n (n_max = 32);
    hardness weighted: dN = ceil((2(1 - a) A_peak - n S(a)) / S(a)), at most n_max - n (n_max = 64).

    >>> [extra_rollouts(c, 8, "et") for c in range(4)], [extra_rollouts(c, 8, "hw") for c in range(4)]
    ([24, 11, 3, 1], [56, 24, 8, 3])
    >>> extra_rollouts(4, 8)
    0
    """
    if schedule not in ("et", "hw"):
        raise ValueError(f"DARS schedule must be 'et' or 'hw', got {schedule!r}")
    a = correct / n
    if a >= 0.5:
        return 0
    a = a or 0.5 / n
    s = 2 * a * (1 - a)
    peak = n / 2
    target = peak if schedule == "et" else 2 * (1 - a) * peak
    cap = (n_max or (32 if schedule == "et" else 64)) - n
    return max(0, min(cap, math.ceil((target - n * s) / s - 1e-9)))


@register
class Dars(Method):
    name = "dars"
    Settings = DarsSettings
    defaults = {"rollout": {"dynamic_sampling": False}, "algo": {"advantage": "dr_grpo"}}
    study = {}

    @classmethod
    def conflicts(cls, cfg) -> str | None:
        return first_conflict(needs_dr_grpo(cfg), no_dynamic_sampling(cfg))

    def expand(self, groups: list[Group], ctx: StepContext) -> list[Group]:
        spec = self.settings
        by_count: dict[int, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            extra = extra_rollouts(round(accuracy(g) * len(g.rollouts)), len(g.rollouts), spec.schedule, spec.n_max)
            if extra:
                by_count[extra].append(i)
        for draw, (extra, members) in enumerate(sorted(by_count.items()), start=1):
            more = ctx.sample([groups[i].problem for i in members], extra, draw)
            for i, added in zip(members, more):
                groups[i] = Group(groups[i].problem, groups[i].rollouts + added.rollouts,
                                  groups[i].truncated + added.truncated)
            ctx.count("dars_extra_rollouts", extra * len(members))
        return strictly_mixed(groups, ctx)


@register
class DarsBreadth(Dars):
    name = "dars_b"
    settings_key = "dars"  # the same settings as DARS
    defaults = {**Dars.defaults, "learner": {"minibatch_size": None}}
    # very large prompt batches, two epochs, one optimizer step per epoch (the paper's breadth)
    study = {"learner": {"minibatch_size": None, "ppo_epochs": 2}, "prompts_per_step_factor": 4}

    @classmethod
    def conflicts(cls, cfg) -> str | None:
        if cfg.learner.minibatch_size is not None:
            return "takes one optimizer step per epoch over the whole batch: set learner.minibatch_size: null"
        return super().conflicts(cfg)
