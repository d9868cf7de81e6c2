"""Exploration methods from the seed papers, each a small class found by name (METHODS).

A method changes what the trainer learns from, never the loop itself:
- `expand(groups, ctx)`: after the step's rollouts are sampled and scored, add or replace
  rollouts (DARS: more rollouts for hard prompts; Guide: hinted groups; AMPO: teacher solutions;
  RGR-GRPO: self-refined rollouts) and drop groups that teach nothing;
- `rehearsal(step)`: stored samples of the initial policy to keep close to (DPH-RL);
- `train_problems(problems)`: the prompts the run draws from (DPH-RL: the exploration set;
  RGR-GRPO: problems with their rubric attached).
The per-token losses of the rollouts they add live in rlvr.algo.offpolicy.
"""

from rlvr.explore.base import METHODS, Method, StepContext, make_method

__all__ = ["METHODS", "Method", "StepContext", "make_method"]
