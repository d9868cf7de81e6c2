"""Guide (adaptive guidance): hinted groups for prompts the policy cannot solve yet.

When all N rollouts of a prompt fail and the problem has a hint (`hint`), N fresh rollouts
are sampled with the hint appended to the prompt, and replace the failed group. They are trained
on the prompt *without* the hint: their old log-probs are those of the hinted context (the
behaviour policy), the new ones are computed without it, and the ratio is shaped as
r / (r + gamma) without clipping (rlvr.algo.offpolicy.shaped_ratio_loss). Only groups with
accuracy strictly between 0 and 1 are kept.
"""

from __future__ import annotations

from pydantic import Field

from rlvr.algo.offpolicy import OffPolicySpec
from rlvr.algo.row_losses import register_row_loss, shaped_ratio_rows
from rlvr.explore.base import (
    Method,
    StepContext,
    accuracy,
    first_conflict,
    no_dynamic_sampling,
    register,
    shaped_offpolicy,
    strictly_mixed,
    with_context,
)
from rlvr.rollouts import Group
from rlvr.settings import Strict


class GuideSettings(Strict):
    """Guide: hints for prompts whose rollouts all fail."""

    gamma_quantile: float = Field(0.9, ge=0, le=1)  # gamma of the shaped ratio r / (r + gamma)


# rollouts sampled with the hint in the context, trained without it
register_row_loss("hint", shaped_ratio_rows)


@register
class Guide(Method):
    name = "guide"
    Settings = GuideSettings
    defaults = {"rollout": {"dynamic_sampling": False}}

    @classmethod
    def conflicts(cls, cfg) -> str | None:
        return first_conflict(no_dynamic_sampling(cfg), shaped_offpolicy(cfg))

    def offpolicy(self) -> OffPolicySpec:
        return OffPolicySpec(gamma_quantile=self.settings.gamma_quantile)

    def expand(self, groups: list[Group], ctx: StepContext) -> list[Group]:
        failed = [i for i, g in enumerate(groups) if accuracy(g) == 0 and g.problem.hint]
        problems = [groups[i].problem for i in failed]
        prompts = [with_context(p.sampler_prompt(), p.hint) for p in problems]
        hinted = ctx.sample(problems, ctx.n, 1, prompts, source="hint")
        for i, group in zip(failed, hinted):
            groups[i] = group
        ctx.count("guide_hinted_groups", len(failed))
        ctx.count("guide_hinted_solved", sum(accuracy(g) > 0 for g in hinted))
        return strictly_mixed(groups, ctx)
