"""`rlvr study domains`: Guru's cross-domain question at our scale. From the same start (the
shipped tiny reasoner), GRPO on all six domains, on math + code + science, on logic + simulation
+ tabular and on each domain alone, at an equal sampled-token budget and several seeds; every run
is evaluated on all six held-out domains, and the summary is the transfer matrix (rlvr.study.transfer).

Layout of the study directory (resumable; a rerun skips what is finished):
    initial/            held-out evaluation of the start model
    SET-sSEED/          one training run each (rlvr train layout, eval-after/ = held-out evaluation)
    study.md, study.json, transfer.png      the summary
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from rlvr.config import TrainConfig, merge
from rlvr.study.explore import RunSettings, base_run, evaluate_initial, run_all

DOMAINS = ("math", "code", "science", "logic", "simulation", "tabular")
COMMON = ("math", "code", "science")  # frequent in pretraining corpora (Guru's grouping)
RARE = ("logic", "simulation", "tabular")  # rare in pretraining corpora


def default_sets() -> dict[str, list[str]]:
    return {"all": list(DOMAINS), "math+code+science": list(COMMON), "logic+simulation+tabular": list(RARE),
            **{d: [d] for d in DOMAINS}}


class DomainStudyConfig(RunSettings):
    # train set name -> its domains; every run is evaluated on all six
    train_sets: dict[str, list[str]] = Field(default_factory=default_sets)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    # about 15 steps of 8 prompts x 8 rollouts; 27 runs of about 70 s each on 2 cores (docs/studies.md)
    token_budget: int = 96_000
    eval_problems: int = 120  # spread over the six held-out domains in proportion to their size
    eval_n: int = 8
    output: Path = Path("runs/study-domains")

    @field_validator("train_sets")
    @classmethod
    def _known_domains(cls, sets: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, domains in sets.items():
            unknown = sorted(set(domains) - set(DOMAINS))
            if unknown or not domains:
                raise ValueError(f"train set {name!r}: {', '.join(unknown) or 'no domains'}; "
                                 f"valid domains: {', '.join(DOMAINS)}")
        return sets


def run_config(study: DomainStudyConfig, train_set: str, seed: int) -> TrainConfig:
    if train_set not in study.train_sets:
        raise KeyError(f"unknown train set {train_set!r}; valid: {', '.join(study.train_sets)}")
    changes = {"data": {"domains": study.train_sets[train_set]}, "evaluation": {"domains": list(DOMAINS)}}
    return TrainConfig.model_validate(merge(base_run(study, f"{train_set}-s{seed}", seed), changes))


def run_domain_study(study: DomainStudyConfig, log=print) -> Path:
    """Every (train set, seed) run, then the transfer matrix; returns the summary's path."""
    from rlvr.study.transfer import write_transfer_summary

    configs = [run_config(study, name, s) for name in study.train_sets for s in study.seeds]  # validate all first
    study.output.mkdir(parents=True, exist_ok=True)
    evaluate_initial(configs[0], study.output / "initial", log)
    run_all(configs, log)
    return write_transfer_summary(study.output, study.train_sets, study.seeds)
