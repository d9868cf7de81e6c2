"""Decontamination: drop training problems that overlap evaluation problems.

A training problem is a hit when
- its prompt shares an n-gram of tokens (lower-cased words and single symbols, so `3 + 4` and
  `3 - 4` differ) with an evaluation prompt. n = 13 by default: the n of GPT-3's decontamination
  (Brown et al. 2020, appendix C). A prompt shorter than n tokens takes part whole: it is a hit when
  its tokens appear, in order and contiguous, in the other prompt;
- or its question and its answer both equal an evaluation problem's (normalized): the same item
  under another wording of the instructions cannot hide then.
Every hit is reported with both texts and what matched.

On templated data any n-gram rule over-reports: the synthetic suite's prompts that differ only in
their numbers share most of their 13-grams, so a training seed "overlaps" the held-out split by
this measure although the split is disjoint by construction (by prompt hash). Natural-language
benchmarks (MATH, AIME, GPQA, HumanEval) are what the rule is for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rlvr.data.records import Row, normalized, tokens
from rlvr.problems import Problem


@dataclass
class Hit:
    row: Row
    against: Problem
    reason: str  # "13-gram: ...", "contained: ...", "question and answer"


@dataclass
class DecontaminationResult:
    kept: list[Row] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)


class EvalIndex:
    """The evaluation problems' n-grams, short prompts and (question, answer) keys."""

    def __init__(self, problems: list[Problem], n: int = 13):
        if n < 1:
            raise ValueError("decontaminate: n must be >= 1")
        self.n = n
        self.problems = problems
        self.grams: dict[tuple[str, ...], list[int]] = {}  # n-gram -> the evaluation problems with it
        self.short: list[tuple[str, Problem]] = []  # prompts under n tokens, as " t1 t2 ... "
        self.texts: list[tuple[str, Problem]] = []
        self.pairs: dict[tuple[str, str], Problem] = {}
        for index, problem in enumerate(problems):
            toks = tokens(problem.prompt_text())
            joined = f" {' '.join(toks)} "
            if len(toks) < n:
                self.short.append((joined, problem))
            for gram in {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}:
                self.grams.setdefault(gram, []).append(index)
            self.texts.append((joined, problem))
            if problem.answer is not None:
                self.pairs.setdefault((normalized(problem.prompt_text()), normalized(str(problem.answer))), problem)

    def match(self, problem: Problem) -> tuple[Problem, str] | None:
        toks = tokens(problem.prompt_text())
        shared: Counter = Counter()
        example: dict[int, tuple[str, ...]] = {}
        for gram in {tuple(toks[i : i + self.n]) for i in range(len(toks) - self.n + 1)}:
            for index in self.grams.get(gram, ()):
                shared[index] += 1
                example.setdefault(index, gram)
        if shared:  # report the evaluation problem it shares the most n-grams with
            index, count = shared.most_common(1)[0]
            return self.problems[index], f"{self.n}-gram: {' '.join(example[index])} ({count} shared)"
        joined = f" {' '.join(toks)} "
        for short, other in self.short:  # an evaluation prompt shorter than n inside this one
            if short.strip() and short in joined:
                return other, f"contained: {short.strip()}"
        if len(toks) < self.n:  # this prompt is short: inside an evaluation prompt
            for text, other in self.texts:
                if joined.strip() and joined in text:
                    return other, f"contained: {joined.strip()}"
        if problem.answer is not None:
            key = (normalized(problem.prompt_text()), normalized(str(problem.answer)))
            if key in self.pairs:
                return self.pairs[key], "question and answer"
        return None


def decontaminate(rows: list[Row], evaluation: list[Problem], n: int = 13) -> DecontaminationResult:
    index = EvalIndex(evaluation, n)
    result = DecontaminationResult()
    for row in rows:
        found = index.match(row.problem)
        if found is None:
            result.kept.append(row)
        else:
            result.hits.append(Hit(row, *found))
    return result
