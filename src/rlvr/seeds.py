"""Independent random streams of a run, derived from (run seed, step, purpose, index).

Every sampling call of a training step gets its own seed, so that a resumed run repeats it and
two calls never share a stream:

- `rollout` (stage 1; index = the draw of dynamic sampling, < 91): seed * 100003 + step * 101 + draw;
- `method` (a method's extra rollouts; index = its draw, from 1): seed * 100003 + step * 101 + 1000
  + draw while draw < 10, which is step + 9's stage-1 formula at draws 92..100, beyond any stage-1
  draw (`max_draws` <= 90): distinct, and the streams every earlier run used;
- anything else, and method draws from 10 on: a hash of the four parts placed in
  [2^62, 2^62 + 2^61), outside both formulas' range. (Method draws from 10 on used to get
  step * 101 + 1000 + draw, the stage-1 stream of step + 10: a DARS run with many extra
  rollouts sampled some of them twice.)

>>> stream_seed(0, 3, "rollout", 1), stream_seed(0, 3, "method", 1)
(304, 1304)
>>> stream_seed(0, 3, "method", 10) >= 2**62 and stream_seed(0, 3, "dph-probe") != stream_seed(0, 3, "dph-keep")
True
"""

from __future__ import annotations

import hashlib

MAX_ROLLOUT_DRAWS = 90  # stage-1 draws per step (TrainConfig.max_draws) that stay apart from method draws
_HASHED_BASE, _HASHED_SPAN = 2**62, 2**61


def stream_seed(run_seed: int, step: int, purpose: str, index: int = 0) -> int:
    """The seed of one random stream of a run; see the module docstring."""
    if purpose == "rollout":
        if not 0 <= index < MAX_ROLLOUT_DRAWS:
            raise ValueError(f"stage-1 draw {index} out of range 0..{MAX_ROLLOUT_DRAWS - 1}")
        return run_seed * 100_003 + step * 101 + index
    if purpose == "method" and 1 <= index < 10:
        return run_seed * 100_003 + step * 101 + 1000 + index
    digest = hashlib.blake2b(f"{run_seed}/{step}/{purpose}/{index}".encode(), digest_size=8).digest()
    return _HASHED_BASE + int.from_bytes(digest, "big") % _HASHED_SPAN
