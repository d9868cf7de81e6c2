"""Pydantic models of the YAML configs. Unknown keys, wrong types and impossible combinations
are one error naming the key, before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ConfigError(ValueError):
    """A config problem, one line, naming the key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TinyModelSpec(Strict):
    """Build a fresh model and tokenizer instead of loading one (rlvr.models.tiny)."""

    vocab_size: int = 1024  # BPE vocabulary trained on the SFT data
    hidden: int = 128
    layers: int = 4
    heads: int = 4


class SFTConfig(Strict):
    model: str | None = None  # a Hugging Face model directory to fine-tune ...
    new_model: TinyModelSpec | None = None  # ... or a fresh tiny model built from the data
    suite: str | None = "synthetic"  # training problems: a suite name ...
    suite_seeds: list[int] = Field(default_factory=lambda: [0])  # synthetic suites: the seeds to draw
    per_task: int = 10  # synthetic suites: problems per task and level
    data: Path | None = None  # ... or a JSONL/Parquet file of Problems with meta.solution
    output: Path = Path("runs/sft")
    epochs: float = 1.0
    lr: float = 1e-3
    warmup_steps: int = 20
    batch_size: int = 16
    max_len: int = 384  # tokens per example (prompt + solution); longer ones are dropped
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    log_every: int = 20
    threads: int | None = None  # torch CPU threads (default: all cores)

    @model_validator(mode="after")
    def _one_source(self) -> SFTConfig:
        if (self.model is None) == (self.new_model is None):
            raise ValueError("give exactly one of 'model' (a directory) or 'new_model' (build a tiny one)")
        if (self.suite is None) == (self.data is None):
            raise ValueError("give exactly one of 'suite' or 'data'")
        if self.lr <= 0 or self.epochs <= 0 or self.batch_size < 1:
            raise ValueError("'lr' and 'epochs' must be > 0 and 'batch_size' >= 1")
        return self


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
    raw.update(overrides or {})
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "config"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {key}: {message}" if key != "config" else f"{path}: {message}") from None
