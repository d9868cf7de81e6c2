"""AMPO (adaptive multi-teacher policy optimization): teacher solutions on demand.

Only when all N on-policy rollouts of a prompt fail, k of them are replaced by teacher
solutions from the problem's pool. The pool holds up to `pool_size` solutions per problem: the
problem's `teachers` (the synthetic suite writes each worked solution in a second
style) and/or solutions from `method.ampo.pool`, samples.jsonl files as `rlvr eval` writes them,
one per teacher model (their correct completions are taken).

Selection by comprehension: the gold answer is put in place of the solution's final answer and
the solution is scored by the *student's* mean probability of those answer tokens given the
teacher's reasoning; the top k are taken. The advantage is r - mean over the mixed group; teacher
tokens are trained with -A p / (p + beta) (rlvr.algo.offpolicy.shaped_prob_loss), no clipping.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import torch
from pydantic import Field

from rlvr.algo.offpolicy import OffPolicySpec
from rlvr.algo.row_losses import register_row_loss, shaped_prob_rows
from rlvr.eval.samples import read_samples
from rlvr.explore.base import Method, StepContext, accuracy, first_conflict, needs_dr_grpo, register, shaped_offpolicy
from rlvr.problems import Problem, Rollout
from rlvr.rollouts import Group
from rlvr.settings import Strict


def load_pool(paths: list[Path]) -> dict[str, list[str]]:
    """problem id -> correct teacher completions from samples.jsonl files of `rlvr eval` (one per
    teacher: any Hugging Face model or OpenAI-compatible endpoint `rlvr eval` can sample)."""
    pool: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        for row in read_samples(path, "method.ampo.pool"):
            if row["correct"]:
                pool[row["problem_id"]].append(row["text"])
    return pool


def answer_span(text: str, extracted, gold) -> tuple[str, str, str]:
    """(before, answer, after): the last occurrence of the extracted answer, replaced by the gold
    answer when it is a string; the whole text as the "answer" when it cannot be found."""
    found = str(extracted) if extracted is not None else ""
    at = text.rfind(found) if found else -1
    if at < 0:
        return "", text, ""
    answer = gold if isinstance(gold, str) and gold else found
    return text[:at], answer, text[at + len(found):]


@torch.no_grad()
def comprehension(model, tokenizer, prompt_ids: list[int], before: str, answer: str, after: str) -> float:
    """The student's mean token probability of `answer` given the prompt and the teacher's reasoning."""
    encode = lambda s: tokenizer(s, add_special_tokens=False)["input_ids"] if s else []  # noqa: E731
    head, body = prompt_ids + encode(before), encode(answer)
    ids = torch.tensor([head + body], device=next(model.parameters()).device)
    logits = model(input_ids=ids).logits[0, len(head) - 1 : len(head) + len(body) - 1].float()
    probs = torch.softmax(logits, dim=-1).gather(1, torch.tensor(body, device=ids.device)[:, None])
    return float(probs.mean())


class AmpoSettings(Strict):
    """AMPO: teacher solutions for prompts whose rollouts all fail."""

    replace: int = Field(2, ge=1)  # k: failed rollouts replaced by teacher solutions
    pool: list[Path] = Field(default_factory=list)  # samples.jsonl of `rlvr eval` runs of teacher models
    pool_size: int = Field(4, ge=1)  # teacher solutions per problem at most
    beta: float = Field(0.1, gt=0)  # f(p) = p / (p + beta) on teacher tokens


register_row_loss("teacher", shaped_prob_rows)  # teacher solutions, not sampled by the policy


@register
class Ampo(Method):
    name = "ampo"
    Settings = AmpoSettings
    defaults = {"algo": {"advantage": "dr_grpo"}}
    study = {"algo": {"dual_clip": 10.0}}

    @classmethod
    def conflicts(cls, cfg) -> str | None:
        return first_conflict(needs_dr_grpo(cfg), shaped_offpolicy(cfg))

    def offpolicy(self) -> OffPolicySpec:
        return OffPolicySpec(beta=self.settings.beta)

    def __init__(self, cfg):
        super().__init__(cfg)
        self.pool = load_pool(self.settings.pool)

    def teachers(self, problem: Problem) -> list[str]:
        texts = list(problem.teachers or []) + self.pool.get(problem.id, [])
        return texts[: self.settings.pool_size]

    def expand(self, groups: list[Group], ctx: StepContext) -> list[Group]:
        spec = self.settings
        for gi, g in enumerate(groups):
            texts = self.teachers(g.problem)
            if accuracy(g) > 0 or not texts:
                continue
            scores = ctx.scorer.score_many([(g.problem, t) for t in texts])
            prompt_ids = g.rollouts[0].prompt_ids
            ranked = sorted(((comprehension(ctx.model, ctx.tokenizer, prompt_ids,
                                            *answer_span(t, s.extracted, g.problem.answer)), t, s)
                             for t, s in zip(texts, scores) if s.correct), key=lambda x: -x[0])
            chosen = ranked[: spec.replace]
            keep = len(g.rollouts) - len(chosen)
            teacher = [Rollout(problem_id=g.problem.id, prompt_ids=prompt_ids, source="teacher", text=t, score=s,
                               completion_ids=ctx.tokenizer(t, add_special_tokens=False)["input_ids"]
                               + [ctx.tokenizer.eos_token_id]) for _, t, s in chosen]
            groups[gi] = Group(g.problem, g.rollouts[:keep] + teacher, g.truncated[:keep] + [False] * len(teacher))
            ctx.count("ampo_teacher_rollouts", len(teacher))
        return groups
