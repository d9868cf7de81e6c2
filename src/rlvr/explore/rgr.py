"""RGR-GRPO (rubric-guided reinforcement): rubric rewards and guidance by self-refinement.

Rewards: each training problem's rubric (its own `rubric`, or `meta.rubric`, which the synthetic
suite fills with the intermediate results of the worked solution) is scored by the foundation's
rubric scorer and mixed with the final-answer check:
reward = answer_weight * answer_reward + (1 - answer_weight) * rubric_fraction.
The paper's weights are not public; answer_weight 0.5 is our default (config: method.rgr).

Guidance: up to `max_refine` wrong rollouts per step that miss criteria are sent back to the
policy with the unmet criteria listed; a refined rollout that is then correct joins its group as
an off-policy sample, trained on the original prompt with Guide's shaped ratio
(rlvr.algo.offpolicy.shaped_ratio_loss).
"""

from __future__ import annotations

from pydantic import Field

from rlvr.algo.offpolicy import OffPolicySpec
from rlvr.algo.row_losses import register_row_loss, shaped_ratio_rows
from rlvr.explore.base import Method, StepContext, register, shaped_offpolicy, with_context
from rlvr.problems import Problem, Rollout
from rlvr.rollouts import Group
from rlvr.settings import Strict


def unmet_criteria(rollout: Rollout) -> list[dict]:
    return [c for c in (rollout.score.details.get("criteria") or []) if not c["met"]]


def feedback(rollout: Rollout) -> str:
    """The refinement request: the previous attempt and what it missed."""
    missed = "; ".join(c["description"] or c["id"] for c in unmet_criteria(rollout))
    return (f"A previous attempt:\n{rollout.text}\nIt missed: {missed}. "
            "Write a corrected solution.")


class RgrSettings(Strict):
    """RGR-GRPO: rubric rewards and self-refinement."""

    answer_weight: float = Field(0.5, ge=0, le=1)  # reward = w * answer + (1 - w) * rubric fraction
    max_refine: int = Field(16, ge=0)  # wrong rollouts sent back for self-refinement per step
    gamma_quantile: float = Field(0.9, ge=0, le=1)  # gamma of refined rollouts' shaped ratio (as Guide)


# rollouts sampled with the rubric feedback in the context, trained without it
register_row_loss("refined", shaped_ratio_rows)


@register
class Rgr(Method):
    name = "rgr"
    Settings = RgrSettings

    @classmethod
    def conflicts(cls, cfg) -> str | None:
        return shaped_offpolicy(cfg)

    def offpolicy(self) -> OffPolicySpec:
        return OffPolicySpec(gamma_quantile=self.settings.gamma_quantile)

    def train_problems(self, problems: list[Problem]) -> list[Problem]:
        combine = {"mode": "mix", "answer_weight": self.settings.answer_weight}
        return [p.model_copy(update={"rubric": p.rubric or p.meta["rubric"], "rubric_combine": combine})
                if (p.rubric or p.meta.get("rubric")) else p for p in problems]

    def expand(self, groups: list[Group], ctx: StepContext) -> list[Group]:
        wanted = [(gi, r) for gi, g in enumerate(groups) for r in g.rollouts
                  if not r.score.correct and unmet_criteria(r)][: self.settings.max_refine]
        problems = [groups[gi].problem for gi, _ in wanted]
        prompts = [with_context(p.sampler_prompt(), feedback(r)) for p, (_, r) in zip(problems, wanted)]
        refined = ctx.sample(problems, 1, 1, prompts, source="refined")
        joined = 0
        for (gi, _), made in zip(wanted, refined):
            if made.rollouts[0].score.correct:
                g = groups[gi]
                groups[gi] = Group(g.problem, g.rollouts + made.rollouts, g.truncated + made.truncated)
                joined += 1
        ctx.count("rgr_refined", len(wanted))
        ctx.count("rgr_refined_joined", joined)
        return groups
