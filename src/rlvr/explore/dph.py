"""DPH-RL (diversity-preserving hybrid RL): mass-covering divergence to the initial policy as
rehearsal, with no reference model in memory.

`prepare` (CLI: `rlvr dph-prepare CONFIG`) samples the initial policy pi_0 `probe` times (4) on
every training prompt; prompts solved every time form the "perfect" set, the rest the
"exploration" set. It samples pi_0 once more on the perfect set and stores the correct samples
with their pi_0 log-probs. Training then draws prompts from the exploration set only, and each
batch takes a chunk of stored samples trained with coef * agg(f(pi_theta / pi_0))
(f: forward KL or JS, rlvr.algo.offpolicy.DIVERGENCES).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Literal

from pydantic import Field

from rlvr.algo.offpolicy import OffPolicySpec
from rlvr.algo.row_losses import register_row_loss, rehearsal_rows
from rlvr.explore.base import Method, register
from rlvr.problems import Problem, Rollout
from rlvr.rollouts import RolloutStats, sample_groups
from rlvr.sampling.base import SamplingParams
from rlvr.scoring import Scorer
from rlvr.seeds import stream_seed
from rlvr.settings import Strict


def prepare(sampler, scorer: Scorer, problems: list[Problem], params: SamplingParams, probe: int, keep: int,
            output: Path, seed: int = 0) -> dict:
    """Split `problems` by pi_0's success and store pi_0's correct samples of the perfect set."""
    stats = RolloutStats()
    probed = sample_groups(sampler, scorer, problems,
                           SamplingParams(**{**params.__dict__, "n": probe, "seed": stream_seed(seed, 0, "dph-probe")}),
                           stats)
    perfect = [g.problem for g in probed if all(r.score.correct for r in g.rollouts)]
    perfect_ids = {p.id for p in perfect}
    again = sample_groups(sampler, scorer, perfect,
                          SamplingParams(**{**params.__dict__, "n": keep, "seed": stream_seed(seed, 0, "dph-keep")}),
                          stats)
    samples = [{"problem_id": r.problem_id, "prompt_ids": r.prompt_ids, "completion_ids": r.completion_ids,
                "logprobs": r.logprobs} for g in again for r in g.rollouts if r.score.correct]
    data = {"perfect": sorted(perfect_ids), "exploration": [p.id for p in problems if p.id not in perfect_ids],
            "samples": samples, "probe": probe}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(output)
    return {"perfect": len(perfect_ids), "exploration": len(data["exploration"]), "samples": len(samples)}


def prepare_for(cfg) -> dict:
    """`prepare` for a training config (TrainConfig with method.dph): its model, prompts and
    sampling settings, into method.dph.data."""
    from rlvr.sampling.torch_backend import TorchSampler
    from rlvr.suites import select_problems

    spec = cfg.method.dph  # this file's DphSettings
    sampler = TorchSampler.from_pretrained(cfg.model, device="cpu", batch_size=cfg.rollout.sampler_batch_size)
    params = SamplingParams(temperature=cfg.rollout.temperature, max_new_tokens=cfg.rollout.max_new_tokens)
    problems = select_problems(cfg.data.suite, cfg.data.file, cfg.data.tasks, cfg.data.domains)
    with Scorer(workers=cfg.rollout.verifier_workers) as scorer:
        return prepare(sampler, scorer, problems, params, spec.probe, spec.keep, spec.data, cfg.seed)


class DphSettings(Strict):
    """DPH-RL: rehearsal of the initial policy's samples."""

    data: Path = Path("runs/dph.json")  # written by `rlvr dph-prepare CONFIG`
    divergence: Literal["forward_kl", "js"] = "forward_kl"  # f of the rehearsal term: forward KL or Jensen-Shannon
    coef: float = Field(0.02, ge=0)  # forward KL: 0.01..0.05; JS: 0.05..0.2
    chunk: int = Field(16, ge=1)  # stored samples of the initial policy per step
    probe: int = Field(4, ge=1)  # dph-prepare: samples per prompt to find the perfect set
    keep: int = Field(4, ge=1)  # dph-prepare: samples per perfect prompt drawn to store (the correct ones are kept)


# stored samples of the initial policy: a term of their own, trained whatever the advantage
register_row_loss("reference", rehearsal_rows, term="rehearsal", uses_advantage=False)


@register
class Dph(Method):
    name = "dph"
    Settings = DphSettings
    study = {"method": {"dph": {"divergence": "forward_kl", "coef": 0.05}}, "algo": {"eps_high": 0.28}}

    @classmethod
    def conflicts(cls, cfg) -> str | None:
        if cfg.algo.kl_estimator:
            return "replaces the reference model by stored samples: remove algo.kl_estimator"
        return None

    def offpolicy(self) -> OffPolicySpec:
        return OffPolicySpec(divergence=self.settings.divergence, divergence_coef=self.settings.coef)

    def __init__(self, cfg):
        super().__init__(cfg)
        path = self.settings.data
        if not path.exists():
            raise FileNotFoundError(f"method.dph.data: {path} does not exist; make it with `rlvr dph-prepare CONFIG`")
        data = json.loads(path.read_text())
        self.exploration = set(data["exploration"])
        self.samples = [Rollout(source="reference", text="", **s) for s in data["samples"]]

    def train_problems(self, problems: list[Problem]) -> list[Problem]:
        kept = [p for p in problems if p.id in self.exploration]
        return kept or problems  # every prompt perfect: nothing left to explore, train on all

    def rehearsal(self, step: int) -> list[Rollout]:
        """`chunk` stored samples of pi_0, deterministic in (seed, step) so a resume repeats them."""
        rng = random.Random(f"dph/{self.cfg.seed}/{step}")
        return rng.sample(self.samples, min(self.settings.chunk, len(self.samples)))
