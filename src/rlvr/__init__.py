"""rlvr: verifiable rewards, pass@k-first evaluation and RLVR training for reasoning models."""

from rlvr.problems import Problem, Rollout, Score, read_problems
from rlvr.scoring import Scorer, score, score_batch

__all__ = ["Problem", "Rollout", "Score", "Scorer", "read_problems", "score", "score_batch"]
__version__ = "0.1.0"
