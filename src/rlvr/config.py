"""Pydantic models of the YAML configs. Unknown keys, wrong types and impossible combinations
are one error naming the key, before any work starts."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rlvr.problems import first_error
from rlvr.settings import Strict


class ConfigError(ValueError):
    """A config problem, one line, naming the key."""


# matmul precision of a training step: bf16 = autocast, with float32 weights and optimizer; auto =
# bf16 where the device computes it natively (CUDA, CPUs with AMX/AVX512-BF16), else fp32
Precision = Literal["fp32", "bf16", "auto"]
DEVICE_PATTERN = r"^(auto|cpu|mps|cuda(:\d+)?)$"  # `auto`: cuda when available, else cpu


class TinyModelSpec(Strict):
    """Build a fresh model and tokenizer instead of loading one (rlvr.models.tiny)."""

    vocab_size: int = 1024  # BPE vocabulary trained on the SFT data
    hidden: int = 128  # hidden size (the shipped tiny reasoner: 256)
    layers: int = 4  # decoder layers
    heads: int = 4  # attention heads


class SFTConfig(Strict):
    model: str | None = None  # a Hugging Face model directory to fine-tune ...
    new_model: TinyModelSpec | None = None  # ... or a fresh tiny model built from the data
    suite: str | None = "synthetic"  # training problems: a suite name ...
    # synthetic suites: the seeds to draw, a list or an inclusive range "1000-1399"
    suite_seeds: list[int] = Field(default_factory=lambda: [0])
    per_task: int = 10  # synthetic suites: problems per task and level
    # synthetic suites: the suite version to draw (rlvr.suites.synthetic.VERSIONS; default the newest).
    # A recipe pins the version it was trained on, so a rebuild draws the same data.
    suite_version: int | None = Field(None, ge=1)
    # synthetic suites: task name -> multiple of per_task (default 1), to give weak tasks more data
    task_weights: dict[str, float] = Field(default_factory=dict)
    data: Path | None = None  # ... or a JSONL/Parquet file of Problems with meta.solution
    output: Path = Path("runs/sft")  # where the trained model is saved (Hugging Face format)
    epochs: float = 1.0  # passes over the examples (fractions allowed)
    lr: float = 1e-3  # peak learning rate (AdamW), after a linear warm-up, then cosine decay
    warmup_steps: int = Field(20, ge=0)  # steps of linear warm-up
    batch_size: int = 16  # examples per optimizer step
    max_len: int = Field(384, ge=2)  # tokens per example (prompt + solution); longer ones are dropped
    weight_decay: float = Field(0.0, ge=0)  # AdamW's decoupled weight decay
    grad_clip: float = Field(1.0, gt=0)  # max gradient norm
    seed: int = 0  # data order and fresh-model initialization
    log_every: int = Field(20, ge=1)  # steps between log lines
    threads: int | None = Field(None, ge=1)  # torch CPU threads (default: all cores)
    # bf16: matmuls under autocast, weights and optimizer in fp32 (about 2x faster on CPUs with
    # AMX/AVX512-BF16 and on GPUs); fp32 everywhere else.
    precision: Precision = "fp32"
    device: str = Field("auto", pattern=DEVICE_PATTERN)  # cuda when available, else cpu
    workers: int = Field(1, ge=0)  # processes that generate and tokenize synthetic data; 0 = one per core
    max_minutes: float | None = Field(None, gt=0)  # stop training (and save) after this long
    # stop (and save) after this many steps, the learning-rate schedule still planned for the whole
    # run: a machine-independent way to cut a run short
    stop_at_step: int | None = Field(None, gt=0)
    # the share of examples (chosen by a hash of seed and problem id) trained without their worked
    # reasoning: an empty thinking block, then the answer. A hybrid thinking / non-thinking model,
    # as Qwen3 is trained. One share for every task, or task name -> share (unnamed tasks: 0).
    answer_only_fraction: float | dict[str, float] = 0.0

    def answer_only_share(self, task: str | None) -> float:
        if isinstance(self.answer_only_fraction, dict):
            return self.answer_only_fraction.get(task or "", 0.0)
        return self.answer_only_fraction

    @field_validator("suite_seeds", mode="before")
    @classmethod
    def _seed_range(cls, value: Any) -> Any:
        if isinstance(value, str):
            first, sep, last = value.partition("-")
            if not (sep and first.strip().isdigit() and last.strip().isdigit()) or int(first) > int(last):
                raise ValueError(f"expected a list of ints or a range 'FIRST-LAST', got {value!r}")
            return list(range(int(first), int(last) + 1))
        return value

    @model_validator(mode="after")
    def _one_source(self) -> SFTConfig:
        if (self.model is None) == (self.new_model is None):
            raise ValueError("give exactly one of 'model' (a directory) or 'new_model' (build a tiny one)")
        if (self.suite is None) == (self.data is None):
            raise ValueError("give exactly one of 'suite' or 'data'")
        if any(w < 0 for w in self.task_weights.values()):
            raise ValueError("'task_weights' must be >= 0")
        self._check_task_names("task_weights", self.task_weights)
        self._check_suite_version()
        shares = self.answer_only_fraction
        if isinstance(shares, dict):
            self._check_task_names("answer_only_fraction", shares)
        if not all(0 <= x <= 1 for x in (shares.values() if isinstance(shares, dict) else [shares])):
            raise ValueError("'answer_only_fraction' must be between 0 and 1")
        if self.lr <= 0 or self.epochs <= 0 or self.batch_size < 1:
            raise ValueError("'lr' and 'epochs' must be > 0 and 'batch_size' >= 1")
        return self

    def _check_suite_version(self) -> None:
        from rlvr.suites.synthetic import VERSIONS

        if self.suite_version is not None and self.suite_version not in VERSIONS:
            raise ValueError(f"'suite_version' {self.suite_version} does not exist; versions: "
                             + "; ".join(f"{v}: {what}" for v, what in VERSIONS.items()))

    def _check_task_names(self, key: str, names: dict[str, float]) -> None:
        if not names:
            return
        from rlvr.suites.synthetic import TASKS

        unknown = set(names) - set(TASKS)
        if unknown or not (self.suite or "").startswith("synthetic"):
            raise ValueError(f"'{key}' names synthetic tasks (suite: synthetic); unknown: "
                             f"{sorted(unknown)}; valid: {sorted(TASKS)}")


def nested(key: str, value: Any) -> dict:
    """A dotted key as nested mappings.

    >>> nested("algo.eps_high", 0.28)
    {'algo': {'eps_high': 0.28}}
    """
    *parents, last = key.split(".")
    out: dict = {last: value}
    for part in reversed(parents):
        out = {part: out}
    return out


def merge(base: dict, overrides: dict) -> dict:
    """`overrides` into `base`, nested mappings merged key by key (so `{"algo": {"eps_high": 0.28}}`
    keeps the file's other algo keys).

    >>> merge({"algo": {"loss": "gspo", "eps_high": 1}}, {"algo": {"eps_high": 2}, "steps": 3})
    {'algo': {'loss': 'gspo', 'eps_high': 2}, 'steps': 3}
    """
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def load_config(path: str | Path, model: type[Strict], overrides: dict[str, Any] | None = None) -> Strict:
    """Read YAML into `model`; errors name the key (e.g. "epochs: Input should be a valid number")."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values")
    merge(raw, overrides or {})
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        key, message = first_error(e)
        raise ConfigError(f"{path}: {key}: {message}" if key else f"{path}: {message}") from None


class RolloutCorrection(Strict):
    """Correct the policy loss for the engine-trainer mismatch (rlvr.algo.rollout_correction)."""

    method: Literal["tis", "mis"] = "tis"  # tis: weights min(r, c_max); mis: drop tokens with r outside [c_min, c_max]
    level: Literal["token", "sequence"] = "token"  # one ratio per token, or per sequence (product of its tokens')
    c_min: float = Field(0.5, ge=0)  # mis: the lowest ratio kept
    c_max: float = Field(2.0, gt=0)  # tis: the cap on the weights; mis: the highest ratio kept

    @model_validator(mode="after")
    def _bounds(self) -> RolloutCorrection:
        if self.method == "mis" and self.c_min >= self.c_max:
            raise ValueError("c_min must be < c_max")
        return self


class AlgoConfig(Strict):
    advantage: str = "grpo"  # grpo | dr_grpo | rloo | pass_at_k (rlvr.algo.advantages)
    pass_k: int = Field(4, ge=1)  # pass_at_k advantage: k
    loss: str = "ppo_clip"  # ppo_clip | gspo (rlvr.algo.losses)
    # lower clip: ratio >= 1 - eps_low; unset: the loss's own (ppo_clip 0.2, gspo 3e-4)
    eps_low: float = Field(0.2, gt=0)
    # upper clip: ratio <= 1 + eps_high (DAPO's clip-higher: 0.28); unset: the loss's own (ppo_clip 0.2, gspo 4e-4)
    eps_high: float = Field(0.2, gt=0)
    dual_clip: float | None = Field(None, gt=1)  # c of dual-clip PPO (3..10); None = off
    aggregation: str = "token_mean"  # token_mean | seq_mean_token_mean | token_sum_norm
    kl_estimator: str | None = None  # k1 | k2 | k3; None = no reference model
    kl_coef: float = Field(0.0, ge=0)  # weight of the KL to the reference (needs kl_estimator)
    kl_in_reward: bool = False  # subtract kl_coef * KL from the reward instead of adding to the loss
    entropy_coef: float = Field(0.0, ge=0)  # bonus for the policy's entropy
    # importance weights for the engine-trainer mismatch (tis | mis); null = none. The trainer's
    # log-probs are recomputed and the mismatch logged whenever the engine is not torch, or this is set
    rollout_correction: RolloutCorrection | None = None

    @model_validator(mode="before")
    @classmethod
    def _loss_defaults(cls, data: Any) -> Any:
        """Unset clip bounds take the chosen loss's own defaults (`rlvr.algo.losses.loss_defaults`)."""
        if not isinstance(data, dict):
            return data
        from rlvr.algo.losses import POLICY_LOSSES, loss_defaults

        loss = data.get("loss", "ppo_clip")
        if loss not in POLICY_LOSSES.names():
            return data  # TrainConfig names the key and the valid losses
        own = loss_defaults(loss)
        return {"eps_low": own.eps_low, "eps_high": own.eps_high, **data}


class LoraSpec(Strict):
    """Train low-rank adapters (peft) instead of all weights; needs `pip install 'rlvr[lora]'`."""

    r: int = Field(16, ge=1)  # rank of the adapters
    alpha: int = Field(32, ge=1)  # scale: the update is alpha / r times the adapters' product
    dropout: float = Field(0.0, ge=0, lt=1)  # dropout on the adapters' input
    # the linear layers that get adapters (names as in the model; Qwen2/Llama attention here)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


class MethodSpec(BaseModel):
    """The exploration method (rlvr.explore) and its settings; `grpo` = the algo section alone.

    `name` picks the method; each method's settings sit under its own key (`dars: {schedule: hw}`),
    validated by the settings model its file declares (`Method.Settings`), so that a new method
    needs no change here. Every method's settings are present, with their defaults."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = "grpo"  # the method used: grpo, dars, dars_b, guide, ampo, dph, rgr (rlvr.explore.METHODS)

    @model_validator(mode="before")
    @classmethod
    def _settings(cls, data: Any) -> Any:
        from rlvr.explore import METHODS, settings_models

        if not isinstance(data, dict):
            return data
        name = data.get("name", "grpo")
        if name not in METHODS:
            raise ValueError(f"name: unknown method {name!r}; valid: {', '.join(sorted(METHODS))}")
        models = settings_models()
        unknown = sorted(set(data) - {"name"} - set(models))
        if unknown:
            raise ValueError(f"{unknown[0]}: not a method's settings; valid: {', '.join(sorted(models))}")
        out: dict[str, Any] = {"name": name}
        for key, model in models.items():
            given = data.get(key, {})
            try:
                out[key] = given if isinstance(given, model) else model.model_validate(given)
            except ValidationError as e:
                inner, message = first_error(e)
                raise ValueError(f"{key}.{inner}: {message}") from None
        return out


def missing_package(tracker: str) -> str | None:
    """Why experiment tracker `tracker` cannot run here (its package is not installed), or None."""
    if importlib.util.find_spec(tracker) is None:  # each tracker's package has its name
        return f"trackers: {tracker} needs the '{tracker}' package: pip install 'rlvr[{tracker}]'"
    return None


MAIN_JOB = Path(__file__).parent / "configs" / "main.yaml"  # what `rlvr train` runs without a config


class DataSection(Strict):
    """The training problems: a suite or a file, optionally narrowed to tasks and domains."""

    suite: str | None = "synthetic"  # a suite's name ...
    file: Path | None = None  # ... or a JSONL/Parquet file of Problems (it replaces the suite)
    # only these tasks / domains, in training and in the held-out evaluation; null = all
    tasks: list[str] | None = None
    domains: list[str] | None = None  # e.g. [math, code]; null = all


class RolloutSection(Strict):
    """What each step samples and how it is scored."""

    prompts_per_step: int = Field(16, ge=1)  # groups per step (with dynamic sampling: informative ones)
    rollouts_per_prompt: int = 8  # N, the group size (at least 2)
    max_new_tokens: int = Field(128, ge=1)  # generation budget per rollout
    temperature: float = Field(1.0, gt=0)  # 0 would make every rollout of a group the same
    # drop zero-variance groups and draw more prompts (DAPO); off by default for the methods that
    # drop or refill such groups themselves (their `defaults`)
    dynamic_sampling: bool = True
    max_draws: int = Field(4, ge=1, le=90)  # dynamic sampling: prompt batches drawn per step at most
    sampler_batch_size: int = Field(128, ge=1)  # sequences per sampling forward pass
    # large float32 linears through oneDNN with packed weights while sampling on CPU
    # (rlvr/sampling/prepacked.py); null = on for CPU, off on CUDA
    prepack_linears: bool | None = None
    verifier_workers: int | None = Field(None, ge=1)  # verifier processes (default: all cores)
    # the rollout engine: torch (rlvr's sampler on the trainer's module), vllm (vLLM in this process,
    # weights pushed after every step), vllm-server (a vLLM server at server_url); auto = vllm on
    # CUDA when installed, else torch (on CPU torch is as fast for small models: docs/benchmarks.md)
    engine: Literal["auto", "torch", "vllm", "vllm-server"] = "auto"
    server_url: str | None = None  # vllm-server: the server's base URL, e.g. http://127.0.0.1:8000
    server_model: str | None = None  # vllm-server: the served model's name; null = the server's first
    kv_cache_gib: float = Field(1.0, gt=0)  # vllm on CPU: memory for the KV cache (GiB)
    # vllm on CUDA: the engine's share of GPU memory (the trainer needs the rest)
    gpu_memory_utilization: float = Field(0.4, gt=0, lt=1)
    # vllm: the longest prompt + completion the engine holds; null = max_new_tokens + 512
    max_model_len: int | None = Field(None, ge=2)


class LearnerSection(Strict):
    """How each step's rollouts update the policy."""

    lr: float = Field(1e-4, gt=0)  # AdamW learning rate
    warmup_steps: int = Field(0, ge=0)  # steps of linear warm-up of the learning rate
    grad_clip: float = Field(1.0, gt=0)  # max gradient norm (<= 0 would zero or reverse every update)
    ppo_epochs: int = Field(1, ge=1)  # passes of the learner over each step's batch
    minibatch_size: int | None = Field(128, ge=1)  # rollouts per optimizer step; null = the whole batch
    # rollouts per forward/backward (gradient accumulation); null = minibatch
    microbatch_size: int | None = Field(32, ge=1)
    mask_truncated: bool = True  # overlong responses do not enter the loss
    # the learner runs each distinct prompt once per microbatch and its rollouts on its KV cache
    # (same values and gradients; a group's prompt costs once instead of n times)
    share_prompts: bool = True
    # rollouts whose advantage is 0 have no gradient (without entropy/KL terms): skip their forward.
    # false = run them anyway (what trainers without the shortcut do; for like-for-like timing)
    skip_zero_advantage: bool = True
    # bf16: the forward/backward under bf16 autocast (LM head, log-probs, weights and optimizer stay
    # float32); sampling is unchanged; auto = bf16 where the device computes it natively
    precision: Precision = "auto"
    # with several ranks: fsdp2 shards weights, gradients and AdamW state over the ranks (each keeps
    # one full copy of the weights to sample with); replicate keeps all of them on every rank (as DDP)
    sharding: Literal["fsdp2", "replicate"] = "fsdp2"
    # fsdp2: free each layer's gathered weights after its forward (least memory; the backward
    # gathers them again); false keeps them until its backward (about a third of the traffic)
    reshard_after_forward: bool = True


class EvaluationSection(Strict):
    """The held-out evaluation of a run: before, every few steps, after."""

    suite: str | None = "synthetic-heldout"  # held-out problems; null = none (the default with data.file)
    every: int = Field(0, ge=0)  # steps between evaluations; 0 = only before and after
    problems: int | None = Field(None, ge=1)  # held-out problems per evaluation, evenly spread; None = all
    n: int = Field(4, ge=1)  # samples per held-out problem
    before: bool = True  # evaluate the start model too
    # held-out domains; null = data.domains (train on math, evaluate on all six: [math, code, ...])
    domains: list[str] | None = None


class CheckpointingSection(Strict):
    """Checkpoints: the model in Hugging Face format, optimizer and scheduler, written atomically."""

    every: int = Field(10, ge=1)  # steps between checkpoints (the last step is always saved)
    keep: int = Field(2, ge=1)  # the newest ones kept on disk


class LoggingSection(Strict):
    """What a run records besides metrics.jsonl."""

    trackers: list[Literal["tensorboard", "wandb"]] = Field(default_factory=list)  # extras; metrics.jsonl always
    wandb_project: str = "rlvr"  # the Weights & Biases project, when trackers has wandb
    # rollouts written per step to rollouts.jsonl (prompt, completion, reward, reason), evenly
    # spread over the step's groups: what to read first when a curve moves; -1 = all, 0 = none
    save_rollouts: int = Field(16, ge=-1)


# Where each key of the flat layout went: a config that still uses one fails naming the new key.
FLAT_KEYS = {
    "suite": "data.suite", "tasks": "data.tasks", "domains": "data.domains",
    "eval_suite": "evaluation.suite", "eval_every": "evaluation.every", "eval_problems": "evaluation.problems",
    "eval_n": "evaluation.n", "eval_before": "evaluation.before",
    "prompts_per_step": "rollout.prompts_per_step", "rollouts_per_prompt": "rollout.rollouts_per_prompt",
    "max_new_tokens": "rollout.max_new_tokens", "temperature": "rollout.temperature",
    "dynamic_sampling": "rollout.dynamic_sampling", "max_draws": "rollout.max_draws",
    "batch_size": "rollout.sampler_batch_size", "prepack_linears": "rollout.prepack_linears",
    "workers": "rollout.verifier_workers",
    "lr": "learner.lr", "warmup_steps": "learner.warmup_steps", "grad_clip": "learner.grad_clip",
    "ppo_epochs": "learner.ppo_epochs", "minibatch_size": "learner.minibatch_size",
    "microbatch_size": "learner.microbatch_size", "mask_truncated": "learner.mask_truncated",
    "share_prompts": "learner.share_prompts", "skip_zero_advantage": "learner.skip_zero_advantage",
    "precision": "learner.precision",
    "save_every": "checkpointing.every", "keep_checkpoints": "checkpointing.keep",
    "trackers": "logging.trackers", "wandb_project": "logging.wandb_project", "save_rollouts": "logging.save_rollouts",
}


class TrainConfig(Strict):
    """`rlvr train`'s config, one section per component. One set of defaults: the main job's
    (src/rlvr/configs/main.yaml, which says why each value)."""

    model: str = "tiny-reasoner"  # Hugging Face model directory or a shipped model's name (policy and reference)
    output: Path = Path("runs/train")  # the run directory (metrics, checkpoints, evaluations, report)
    steps: int = Field(30, ge=1)  # at most; see token_budget
    # stop once this many tokens were sampled for training (equal-budget studies)
    token_budget: int | None = Field(None, ge=1)
    seed: int = 0  # problems drawn, sampling streams and batch order
    # cuda when available, else cpu (weights and updates in float32); or cpu, cuda, cuda:N, mps
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    lora: LoraSpec | None = None  # LoRA adapters via peft; None = full fine-tuning
    data: DataSection = DataSection()  # the training problems
    rollout: RolloutSection = RolloutSection()  # sampling and scoring of each step
    algo: AlgoConfig = AlgoConfig()  # advantage, policy loss, aggregation, KL and entropy terms
    method: MethodSpec = MethodSpec()
    learner: LearnerSection = LearnerSection()  # the policy update
    evaluation: EvaluationSection = EvaluationSection()  # held-out evaluation
    checkpointing: CheckpointingSection = CheckpointingSection()
    logging: LoggingSection = LoggingSection()

    @model_validator(mode="before")
    @classmethod
    def _defaults_that_depend(cls, data: Any) -> Any:
        """Flat keys of the old layout are refused, naming their section. A data file replaces the
        suite, and is not evaluated on the synthetic held-out suite unless asked; a method's
        `defaults` (e.g. DARS: no dynamic sampling, the dr_grpo advantage) apply to the keys the
        user left unset."""
        if not isinstance(data, dict):
            return data
        old = [k for k in data if k in FLAT_KEYS] + (["data"] if isinstance(data.get("data"), (str, Path)) else [])
        if old:
            key = old[0]
            raise ValueError(f"{key}: configs have sections now: write it as {FLAT_KEYS.get(key, 'data.file')}")
        data = copy.deepcopy(data)
        section = data.get("data")
        if isinstance(section, dict) and section.get("file") is not None:
            section.setdefault("suite", None)
            if isinstance(data.get("evaluation", {}), dict):
                data.setdefault("evaluation", {}).setdefault("suite", None)
        method = data["method"].get("name") if isinstance(data.get("method"), dict) else None
        from rlvr.explore import METHODS

        if method in METHODS:  # the method's own defaults for keys the user left unset
            data = merge(copy.deepcopy(METHODS[method].defaults), data)
        return data

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        for tracker in self.logging.trackers:
            if reason := missing_package(tracker):
                raise ValueError(reason)
        if (self.data.suite is None) == (self.data.file is None):
            raise ValueError("data: give exactly one of 'suite' or 'file'")
        if self.rollout.rollouts_per_prompt < 2:
            raise ValueError("rollout.rollouts_per_prompt: group advantages need at least 2 rollouts per prompt")
        if self.algo.kl_estimator is None and self.algo.kl_coef > 0:
            raise ValueError("algo.kl_coef > 0 needs algo.kl_estimator (k1, k2 or k3)")
        if self.algo.advantage == "pass_at_k" and self.algo.pass_k > self.rollout.rollouts_per_prompt:
            raise ValueError("algo.pass_k must be <= rollout.rollouts_per_prompt")
        from rlvr.algo.advantages import ADVANTAGES
        from rlvr.algo.kl import KL_ESTIMATORS
        from rlvr.algo.losses import AGGREGATIONS, POLICY_LOSSES

        for key, registry, name in (("algo.advantage", ADVANTAGES, self.algo.advantage),
                                    ("algo.loss", POLICY_LOSSES, self.algo.loss),
                                    ("algo.aggregation", AGGREGATIONS, self.algo.aggregation)):
            if name not in registry.names():
                raise ValueError(f"{key}: unknown {name!r}; valid: {', '.join(registry.names())}")
        if engine_problem := self._engine_problem():
            raise ValueError(engine_problem)
        if self.algo.kl_estimator and self.algo.kl_estimator not in KL_ESTIMATORS.names():
            raise ValueError(f"algo.kl_estimator: unknown {self.algo.kl_estimator!r}; valid: k1, k2, k3")
        from rlvr.explore import METHODS

        conflict = METHODS[self.method.name].conflicts(self)
        if conflict:
            raise ValueError(f"method.name: method {self.method.name}: {conflict}")
        return self

    def _engine_problem(self) -> str | None:
        """Why the rollout engine cannot run this config (what can be known without the model)."""
        engine = self.rollout.engine
        if engine == "vllm" and importlib.util.find_spec("vllm") is None:
            return "rollout.engine: vllm is not installed here: run scripts/setup.sh vllm (or use engine torch)"
        if engine in ("vllm", "vllm-server") and self.lora is not None:
            return f"rollout.engine: {engine} does not take LoRA adapters yet; use engine torch with lora"
        if engine == "vllm-server" and not self.rollout.server_url:
            return "rollout.server_url: engine vllm-server needs the server's URL (http://HOST:PORT)"
        if engine != "vllm-server" and self.rollout.server_url:
            return f"rollout.server_url: only engine vllm-server reads it (engine is {engine})"
        return None
