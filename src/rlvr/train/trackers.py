"""Optional experiment trackers: TensorBoard and Weights & Biases (extras, off by default).

`metrics.jsonl` stays the record of a run; a tracker receives the same rows, flattened to
scalars ("time_s/total", "reward_by_domain/math"), with the training step as x-axis.
Evaluation rows go under "eval_<label>/...".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


def scalars(record: dict, prefix: str = "") -> dict[str, float]:
    """The numbers of a (nested) metrics record as {"a/b": value}; strings and lists are left out."""
    out: dict[str, float] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(scalars(value, name + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


class Tracker(Protocol):
    def log(self, values: dict[str, float], step: int) -> None: ...
    def close(self) -> None: ...


class TensorBoardTracker:
    def __init__(self, run_dir: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, values: dict[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbTracker:
    """A W&B run in `run_dir/wandb`; offline unless the user is logged in (WANDB_MODE decides)."""

    def __init__(self, run_dir: Path, project: str, config: dict[str, Any]):
        import wandb

        self.run = wandb.init(project=project, name=run_dir.name, dir=str(run_dir), config=config)

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


class Trackers:
    """All trackers of a run behind one `log(record)`; a no-op when none are configured."""

    def __init__(self, names: list[str], run_dir: Path, project: str, config: dict[str, Any]):
        self.active: list[Tracker] = []
        for name in names:
            if name == "tensorboard":
                self.active.append(TensorBoardTracker(run_dir))
            elif name == "wandb":
                self.active.append(WandbTracker(run_dir, project, config))

    def log(self, record: dict) -> None:
        if not self.active:
            return
        step = int(record["step"])
        if record.get("kind") == "eval":  # a held-out evaluation (before, step-N, after)
            values = scalars({k: v for k, v in record.items() if k not in ("step", "eval", "kind")},
                             f"eval_{record['eval']}/")
        else:
            values = scalars({k: v for k, v in record.items() if k not in ("step", "kind")})
        for tracker in self.active:
            tracker.log(values, step)

    def close(self) -> None:
        for tracker in self.active:
            tracker.close()

    def __enter__(self) -> Trackers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
