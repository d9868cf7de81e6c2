"""Exploration methods from the seed papers, each a small class in a file of its own, found by
name (METHODS).

A method changes what the trainer learns from, never the loop itself:
- `expand(groups, ctx)`: after the step's rollouts are sampled and scored, add or replace
  rollouts (DARS: more rollouts for hard prompts; Guide: hinted groups; AMPO: teacher solutions;
  RGR-GRPO: self-refined rollouts) and drop groups that teach nothing;
- `rehearsal(step)`: stored samples of the initial policy to keep close to (DPH-RL);
- `train_problems(problems)`: the prompts the run draws from (DPH-RL: the exploration set;
  RGR-GRPO: problems with their rubric attached).
Its settings, defaults, conflicts and loss parameters are declared in the same file
(`rlvr.explore.base.Method`); docs/extending.md walks through adding one. The per-token losses of
the rollouts they add live in rlvr.algo.offpolicy.
"""

import importlib
import pkgutil

from rlvr.explore.base import METHODS, Method, StepContext, make_method, register, settings_models

for _module in pkgutil.iter_modules(__path__):  # every method file registers itself on import
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["METHODS", "Method", "StepContext", "make_method", "register", "settings_models"]
