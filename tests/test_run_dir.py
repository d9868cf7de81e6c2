"""The run directory that rlvr train and rlvr distill share: refusal to mix runs, truncation on
resume, and a non-writing rank that writes nothing."""

import json

import pytest

from rlvr.config import TrainConfig
from rlvr.train.records import read_metrics
from rlvr.train.run_dir import RunDirectory


def lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_run_directory_refuses_to_mix_runs_and_truncates_on_resume(tmp_path):
    cfg = TrainConfig.model_validate({"output": str(tmp_path / "run")})
    records = RunDirectory(cfg.output, cfg)
    records.create(records.earlier_run(resume=False, overwrite=False))
    assert (cfg.output / "config.yaml").exists()
    with records.open():
        for step in (1, 2, 3):
            records.write({"kind": "step", "step": step})
            records.keep_rollouts([{"step": step, "text": f"rollout {step}"}])
        records.write({"kind": "eval", "step": 3, "eval": "after"})
    with pytest.raises(FileExistsError, match="holds a run already"):
        RunDirectory(cfg.output, cfg).earlier_run(resume=False, overwrite=False)

    resumed = RunDirectory(cfg.output, cfg)  # from the checkpoint of step 2
    assert resumed.earlier_run(resume=True, overwrite=False) == []
    resumed.truncate(resumed.metrics_until(2), 2)
    assert [r["step"] for r in read_metrics(cfg.output)] == [1, 2]
    assert [r["step"] for r in lines(resumed.rollouts_path)] == [1, 2]

    again = RunDirectory(cfg.output, cfg)
    old = again.earlier_run(resume=False, overwrite=True)
    assert {p.name for p in old} == {"metrics.jsonl", "rollouts.jsonl"}
    assert (cfg.output / "metrics.jsonl").exists()  # removed only by create
    again.create(old)
    assert not (cfg.output / "metrics.jsonl").exists() and not again.rollouts_path.exists()


def test_a_rank_that_does_not_write_leaves_the_directory_alone(tmp_path):
    cfg = TrainConfig.model_validate({"output": str(tmp_path / "run")})
    other = RunDirectory(cfg.output, cfg, writes=False)
    other.create(other.earlier_run(resume=False, overwrite=False))
    other.truncate([], 0)
    with other.open():
        other.write({"kind": "step", "step": 1})
        other.keep_rollouts([{"step": 1}])
    assert not cfg.output.exists()
    quiet = RunDirectory(tmp_path / "quiet", cfg)  # no rollouts kept: no rollouts.jsonl (a distillation run)
    quiet.create([])
    with quiet.open():
        quiet.write({"kind": "step", "step": 1})
    assert not quiet.rollouts_path.exists() and len(read_metrics(quiet.path)) == 1
