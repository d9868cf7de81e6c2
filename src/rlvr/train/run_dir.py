"""A run's directory as `rlvr train` and `rlvr distill` keep it: config.yaml, metrics.jsonl,
rollouts.jsonl and the trackers (TensorBoard, W&B). One rank writes it (`writes`); on the others
every method is a no-op, so a loop calls them on all ranks alike.

    records = RunDirectory(cfg.output, cfg, writes=ranks.main)
    old = records.earlier_run(resume, overwrite)   # before any work: refuse to mix two runs
    records.create(old)                            # once the config and data are known to be good
    kept = records.metrics_until(step)             # after loading the checkpoint of `step`
    records.truncate(kept, step)                   # drop what was written after that checkpoint
    with records.open():
        records.write(record)                      # metrics.jsonl and the trackers
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from pydantic import BaseModel

from rlvr.train.records import read_metrics, rows_until
from rlvr.train.trackers import Trackers


class RunDirectory:
    def __init__(self, path: Path, config: BaseModel, writes: bool = True):
        self.path, self.writes = Path(path), writes
        self.config = json.loads(config.model_dump_json())
        self.logging = getattr(config, "logging", None)
        self.metrics = self.rollouts = self.trackers = None

    @property
    def rollouts_path(self) -> Path:
        return self.path / "rollouts.jsonl"

    def earlier_run(self, resume: bool, overwrite: bool) -> list[Path]:
        """A new run never mixes with an old one: an existing run here is an error unless `resume`
        or `overwrite`. -> the old run's files that `overwrite` will remove (in `create`, once the
        new run's config and problems are known to be good)."""
        if not self.writes:
            return []
        old = [p for p in self.path.glob("*") if p.name in ("metrics.jsonl", "rollouts.jsonl", "checkpoints")
               or p.name.startswith("eval-")]
        if resume or not old:
            return []
        if not overwrite:
            raise FileExistsError(f"{self.path} holds a run already: --resume it, pass --overwrite, or choose "
                                  "another output")
        return old

    def create(self, old: list[Path]) -> None:
        """The directory, without the `old` run's files, with this run's config.yaml."""
        if not self.writes:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        for p in old:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        (self.path / "config.yaml").write_text(yaml.safe_dump(self.config, sort_keys=False))

    def metrics_until(self, step: int) -> list[dict]:
        """The metrics rows up to `step` (a resumed run drops rows written after its checkpoint)."""
        return [r for r in read_metrics(self.path) if r["step"] <= step and not (r.get("eval") == "after")]

    def truncate(self, kept: list[dict], step: int) -> None:
        """metrics.jsonl as `kept`, rollouts.jsonl up to `step`. Every rank must have read the
        records it needs before the writing rank calls this."""
        if not self.writes:
            return
        (self.path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
        rollouts = rows_until(self.rollouts_path, step)
        if rollouts or self.rollouts_path.exists():
            self.rollouts_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rollouts))

    def open(self) -> RunDirectory:
        """Open metrics.jsonl for appending and start the trackers (a context); rollouts.jsonl is
        opened when the first rollouts are kept (a distillation run has none)."""
        if self.writes:
            self.metrics = open(self.path / "metrics.jsonl", "a")
        names = self.logging.trackers if self.writes and self.logging is not None else []
        project = self.logging.wandb_project if self.logging is not None else "rlvr"
        self.trackers = Trackers(names, self.path, project, self.config)
        return self

    def write(self, record: dict) -> None:
        """One metrics row, flushed, and to the trackers."""
        if self.metrics is not None:
            self.metrics.write(json.dumps(record) + "\n")
            self.metrics.flush()
            self.trackers.log(record)

    def keep_rollouts(self, rows: list[dict]) -> None:
        if self.metrics is None or not rows:  # not the writing rank, or not open
            return
        if self.rollouts is None:
            self.rollouts = open(self.rollouts_path, "a", encoding="utf-8")
        self.rollouts.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        self.rollouts.flush()

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        for f in (self.metrics, self.rollouts):
            if f is not None:
                f.close()
        if self.trackers is not None:
            self.trackers.close()
        self.metrics = self.rollouts = self.trackers = None
