"""`rlvr study explore`: GRPO and each exploration method from the same tiny-reasoner start, with
the same rollout budget (sampled tokens, not steps), on the same problems, for several seeds.

Layout of the study directory (every part resumable; a rerun skips what is finished):
    initial/            held-out evaluation of the start model (n samples per problem)
    dph.json            DPH-RL's split and stored initial-policy samples
    METHOD-sSEED/       one training run each (rlvr train layout, eval-after/ = held-out evaluation)
    study.md, study.json, pass_at_k.png, entropy.png     the summary (rlvr.study.summary)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import Field

from rlvr.config import Precision, Strict, TrainConfig, merge


def study_methods() -> dict[str, dict[str, Any]]:
    """What each compared run changes in the shared base config: the pass@k advantage, and each
    exploration method with the settings its file gives for the study (`Method.study`: its paper's
    settings where they fit this scale; the method's own `defaults` apply too)."""
    from rlvr.explore import METHODS as EXPLORATION

    runs: dict[str, dict[str, Any]] = {"grpo": {}, "pass_at_k": {"algo": {"advantage": "pass_at_k", "pass_k": 4}}}
    for name, method in EXPLORATION.items():
        if name != "grpo":
            runs[name] = merge({"method": {"name": name}}, copy.deepcopy(method.study))
    return runs


METHODS: dict[str, dict[str, Any]] = study_methods()


class RunSettings(Strict):
    """What every run of a study shares: the start model, seeds, budget and the held-out evaluation."""

    model: str = "tiny-reasoner"
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    token_budget: int = 40_000  # sampled tokens per run (every rollout, extra stages included)
    # held-out problems, evenly spread over tasks and levels: 39 = about one per task and level (52 took the
    # study to 63 min 40 s on 2 cores with the stage-5 model, most of it in the 24 evaluations)
    eval_problems: int = 39
    eval_n: int = 32  # samples per held-out problem: pass@k for k up to this
    prompts_per_step: int = 8
    rollouts_per_prompt: int = 8
    max_new_tokens: int = 96
    lr: float = 1e-4  # 3e-4 collapsed the stage-3 tiny reasoner in the main job (docs/main-job.md)
    precision: Precision = "auto"  # the learner's autocast (as the main job: bf16 where native)
    workers: int | None = None
    output: Path = Path("runs/study")


class StudyConfig(RunSettings):
    methods: list[str] = Field(default_factory=lambda: list(METHODS))


def base_run(study: RunSettings, name: str, seed: int) -> dict[str, Any]:
    """A GRPO run of the study's shared settings into OUTPUT/NAME, as a config dict to change."""
    return {
        "model": study.model, "output": str(study.output / name), "steps": 10_000,
        "token_budget": study.token_budget, "seed": seed,
        "data": {"suite": "synthetic"},
        "evaluation": {"suite": "synthetic-heldout", "before": False, "problems": study.eval_problems,
                       "n": study.eval_n},
        # the study's own settings, all given here so that changes of TrainConfig's defaults leave it as measured
        "rollout": {"prompts_per_step": study.prompts_per_step, "rollouts_per_prompt": study.rollouts_per_prompt,
                    "max_new_tokens": study.max_new_tokens, "verifier_workers": study.workers,
                    "dynamic_sampling": False, "max_draws": 3, "sampler_batch_size": 64, "temperature": 1.0},
        "learner": {"lr": study.lr, "precision": study.precision, "microbatch_size": 32, "minibatch_size": 64,
                    "warmup_steps": 0, "grad_clip": 1.0},
        "checkpointing": {"every": 5, "keep": 1},
    }


def run_config(study: StudyConfig, method: str, seed: int) -> TrainConfig:
    if method not in METHODS:
        raise KeyError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    changes = copy.deepcopy(METHODS[method])
    factor = changes.pop("prompts_per_step_factor", 1)
    base = base_run(study, f"{method}-s{seed}", seed)
    base["rollout"]["prompts_per_step"] *= factor
    base = merge(base, changes)
    if method == "dph":
        base["method"]["dph"]["data"] = str(study.output / "dph.json")
    return TrainConfig.model_validate(base)


def evaluate_initial(cfg: TrainConfig, run_dir: Path, log) -> Path:
    """The start model on the held-out problems of `cfg`, once for every run (same problems, same n)."""
    from rlvr.sampling.torch_backend import TorchSampler
    from rlvr.train.loop import evaluate_with, load_problems

    if not (run_dir / "metrics.json").exists():
        log("evaluating the start model on the held-out problems")
        sampler = TorchSampler.from_pretrained(cfg.model, device="cpu", batch_size=cfg.rollout.sampler_batch_size)
        evaluate_with(sampler, load_problems(cfg)[1], cfg, run_dir)
    return run_dir


def prepare_dph(study: StudyConfig, log) -> None:
    from rlvr.explore.dph import prepare_for

    cfg = run_config(study, "dph", 0)
    if not cfg.method.dph.data.exists():
        log("DPH-RL: sampling the start model on the training prompts")
        log(f"DPH-RL: {prepare_for(cfg)}")


def finished(run_dir: Path) -> bool:
    return (run_dir / "eval-after" / "metrics.json").exists() and (run_dir / "report.md").exists()


def run_all(configs: list[TrainConfig], log) -> None:
    """Train each run in turn; a finished one is skipped, an interrupted one resumed."""
    from rlvr.train.checkpoint import latest_checkpoint
    from rlvr.train.loop import train

    for cfg in configs:
        if finished(cfg.output):
            log(f"{cfg.output.name}: done")
            continue
        resume = latest_checkpoint(cfg.output) is not None
        log(f"{cfg.output.name}: {'resuming' if resume else 'training'}")
        train(cfg, resume=resume, overwrite=not resume, log=lambda line: None)


def run_study(study: StudyConfig, log=print) -> Path:
    """Every (method, seed) run, then the summary; returns the summary's path."""
    from rlvr.study.summary import write_summary

    configs = [run_config(study, m, s) for m in study.methods for s in study.seeds]  # validate all first
    study.output.mkdir(parents=True, exist_ok=True)
    evaluate_initial(run_config(study, "grpo", 0), study.output / "initial", log)
    if "dph" in study.methods:
        prepare_dph(study, log)
    run_all(configs, log)
    return write_summary(study.output, study.methods, study.seeds)
