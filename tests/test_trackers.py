import json

import pytest
from pydantic import ValidationError

from rlvr.config import TrainConfig, load_config
from rlvr.train.loop import train
from rlvr.train.trackers import scalars

from .test_train import write_config


def test_scalars_flatten_nested_records_and_drop_text():
    record = {"reward_mean": 0.5, "time_s": {"total": 2.0, "scoring": 0.1}, "note": "x", "lengths": [1, 2],
              "flag": True, "by_domain": {"math": {"pass@1": 0.25}}}
    assert scalars(record) == {"reward_mean": 0.5, "time_s/total": 2.0, "time_s/scoring": 0.1,
                               "by_domain/math/pass@1": 0.25}


def test_a_tracker_without_its_package_is_a_config_error(monkeypatch):
    import rlvr.config

    monkeypatch.setattr(rlvr.config.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValidationError, match=r"trackers: wandb needs the 'wandb' package: pip install 'rlvr\[wandb\]'"):
        TrainConfig(logging={"trackers": ["wandb"]})
    with pytest.raises(ValidationError, match="trackers"):
        TrainConfig(logging={"trackers": ["mlflow"]})


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_tensorboard_and_wandb_receive_the_metrics_rows(tmp_path, tiny_model_dir, rubric_data, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    path = write_config(tmp_path, "tracked", tiny_model_dir, rubric_data, steps=2, eval_suite="synthetic-heldout",
                        eval_problems=4, eval_n=2, trackers=["tensorboard", "wandb"])
    cfg = load_config(path, TrainConfig)
    train(cfg, log=lambda line: None)
    run = tmp_path / "tracked"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "eval" not in r]

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    logged = events.Scalars("reward_mean")
    assert [e.step for e in logged] == [1, 2]
    assert [round(e.value, 6) for e in logged] == [round(r["reward_mean"], 6) for r in steps]
    assert [e.step for e in events.Scalars("time_s/total")] == [1, 2]
    after = events.Scalars("eval_after/pass@1")
    assert after[0].step == 2 and abs(after[0].value - rows[-1]["pass@1"]) < 1e-6
    assert events.Scalars("eval_before/pass@1")[0].step == 0

    # W&B offline: the run file holds the same keys (its reader is not part of the public package).
    files = list((run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1
    data = files[0].read_bytes()
    for key in (b"reward_mean", b"time_s/total", b"eval_after/pass@1", b"eval_before/by_domain/"):
        assert key in data, key
