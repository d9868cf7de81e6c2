import json
import subprocess
import sys

import pytest
import yaml

from rlvr.config import ConfigError, SFTConfig, load_config
from rlvr.train.sft import encode_example, synthetic_training_problems

RLVR = [sys.executable, "-m", "rlvr.cli"]


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_sft_trains_a_fresh_tiny_model_and_masks_the_prompt(tmp_path):
    cfg = {"new_model": {"vocab_size": 400, "hidden": 32, "layers": 1, "heads": 2}, "suite": "synthetic",
           "per_task": 2, "output": str(tmp_path / "m"), "epochs": 3, "batch_size": 8, "lr": 0.005, "log_every": 5}
    path = tmp_path / "sft.yaml"
    path.write_text(json.dumps(cfg))
    result = subprocess.run([*RLVR, "sft", str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    log = json.loads((tmp_path / "m" / "sft_log.json").read_text())
    first, last = sum(log["loss"][:3]) / 3, sum(log["loss"][-3:]) / 3
    assert last < first - 1.0  # it learns
    from transformers import AutoTokenizer

    from rlvr.suites.synthetic import synthetic_suite

    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "m")
    problem = synthetic_suite(per_task=1, levels=(1,))[0]
    ids, labels = encode_example(tokenizer, problem)
    answer = [t for t in labels if t != -100]
    assert labels[0] == -100 and answer[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(answer[:-1]) == problem.meta["solution"]


@pytest.mark.parametrize("cfg, message", [
    ({"suite": "synthetic", "new_model": {}, "bogus": 1}, "bogus"),
    ({"suite": "synthetic"}, "exactly one of 'model'"),
    ({"new_model": {}, "model": "x", "suite": "synthetic"}, "exactly one of 'model'"),
    ({"new_model": {"hidden": "wide"}, "suite": "synthetic"}, "new_model.hidden"),
    ({"new_model": {}, "suite": "synthetic", "task_weights": {"arith": -1}}, "task_weights"),
    ({"new_model": {}, "suite": "synthetic", "answer_only_fraction": 1.5}, "answer_only_fraction"),
    ({"new_model": {}, "suite": "synthetic", "answer_only_fraction": {"arithmetic": 0.5}}, "answer_only_fraction"),
    ({"new_model": {}, "suite": "synthetic", "suite_version": 99}, "'suite_version' 99 does not exist"),
])
def test_bad_sft_configs(tmp_path, cfg, message):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match=message):
        load_config(path, SFTConfig)


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_bf16_autocast_learns_and_saves_float32_weights(tmp_path):
    import torch
    from safetensors.torch import load_file

    from rlvr.train.sft import run_sft

    losses = {}
    for precision in ("fp32", "bf16"):
        cfg = SFTConfig(new_model={"vocab_size": 400, "hidden": 32, "layers": 1, "heads": 2}, per_task=2, epochs=2,
                        batch_size=8, lr=0.005, output=tmp_path / precision, precision=precision, device="cpu")
        run_sft(cfg, log=lambda line: None)
        losses[precision] = json.loads((tmp_path / precision / "sft_log.json").read_text())["loss"]
        weights = load_file(str(tmp_path / precision / "model.safetensors"))
        assert {w.dtype for w in weights.values()} == {torch.float32}
    bf16 = losses["bf16"]
    assert sum(bf16[-3:]) / 3 < sum(bf16[:3]) / 3 - 1.0  # it learns
    assert losses["fp32"][0] != bf16[0]  # same seed and data: only the matmul precision differs
    assert abs(losses["fp32"][0] - bf16[0]) < 0.05


def test_task_weights_scale_each_tasks_share_of_the_training_data():
    base = SFTConfig(new_model={}, per_task=2, suite_seeds=[0, 1])
    weighted = base.model_copy(update={"task_weights": {"arith": 3, "grid": 0}})

    def count(cfg):
        problems = synthetic_training_problems(cfg)
        return {task: sum(p.task == task for p in problems) for task in ("arith", "grid", "linear")}

    assert count(base) == {"arith": 12, "grid": 12, "linear": 12}  # 2 per level x 3 levels x 2 seeds
    assert count(weighted) == {"arith": 36, "grid": 0, "linear": 12}
    with pytest.raises(ValueError, match="task_weights.*unknown: \\['nope'\\]"):  # at validation, before any work
        SFTConfig(new_model={}, task_weights={"nope": 2})
    with pytest.raises(ValueError, match="task_weights"):  # only synthetic suites have tasks
        SFTConfig(new_model={}, suite=None, data="x.jsonl", task_weights={"arith": 2})


def test_data_workers_encode_the_same_examples_and_seed_ranges_parse():
    from transformers import AutoTokenizer

    from rlvr.models import model_path
    from rlvr.train.sft import training_examples

    tokenizer = AutoTokenizer.from_pretrained(model_path("tiny-reasoner"))
    one = SFTConfig(model="tiny-reasoner", per_task=1, suite_seeds="3-4", task_weights={"arith": 2})
    assert one.suite_seeds == [3, 4]
    two = one.model_copy(update={"workers": 2})
    serial, parallel = training_examples(one, tokenizer), training_examples(two, tokenizer)
    assert len(serial) == len(synthetic_training_problems(one)) == 2 * (13 + 1) * 3
    assert all((a == b).all() and pa == pb for (a, pa), (b, pb) in zip(serial, parallel, strict=True))
    ids, prompt_len = serial[0]
    expected_ids, labels = encode_example(tokenizer, synthetic_training_problems(one)[0])
    assert ids.tolist() == expected_ids and labels[prompt_len - 1] == -100 and labels[prompt_len] != -100
    for bad in ("4-3", "a-b", "7"):
        with pytest.raises(ValueError, match="suite_seeds"):
            SFTConfig(model="tiny-reasoner", suite_seeds=bad)


def test_max_minutes_stops_training_early_and_still_saves(tmp_path):
    from rlvr.train.sft import run_sft

    cfg = SFTConfig(new_model={"vocab_size": 400, "hidden": 32, "layers": 1, "heads": 2}, per_task=2,
                    epochs=100_000, batch_size=8, output=tmp_path / "m", device="cpu", max_minutes=0.05)
    # So many epochs that no machine finishes them in the 3 s limit (CI once ran 50 epochs in less).
    lines = []
    run_sft(cfg, log=lines.append)
    log = json.loads((tmp_path / "m" / "sft_log.json").read_text())
    assert 0 < log["steps"] < log["total_steps"] and len(log["loss"]) == log["steps"]
    assert any("max_minutes" in line for line in lines)
    assert (tmp_path / "m" / "model.safetensors").exists()


def test_stop_at_step_cuts_the_run_without_changing_its_schedule(tmp_path):
    from rlvr.train.sft import run_sft

    logs = {}
    for stop in (3, 5):
        cfg = SFTConfig(new_model={"vocab_size": 400, "hidden": 32, "layers": 1, "heads": 2}, per_task=2,
                        epochs=20, batch_size=8, warmup_steps=2, output=tmp_path / f"m{stop}", device="cpu",
                        stop_at_step=stop)
        lines = []
        run_sft(cfg, log=lines.append)
        logs[stop] = json.loads((tmp_path / f"m{stop}" / "sft_log.json").read_text())
        assert logs[stop]["steps"] == stop < logs[stop]["total_steps"]
        assert any(f"stop_at_step ({stop}) reached" in line for line in lines)
    # same seed, same planned schedule: the shorter run is the longer one's beginning
    assert logs[3]["loss"] == logs[5]["loss"][:3] and logs[3]["total_steps"] == logs[5]["total_steps"]


def test_sft_set_overrides_are_yaml_values_and_bad_ones_name_the_key(tmp_path):
    from rlvr.cli import parse_overrides

    assert parse_overrides(["suite_seeds=0-3", "epochs=0.5", "task_weights={arith: 2}"]) == {
        "suite_seeds": "0-3", "epochs": 0.5, "task_weights": {"arith": 2}}
    with pytest.raises(ConfigError, match="--set epochs: expected KEY=VALUE"):
        parse_overrides(["epochs"])
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"new_model": {}, "suite": "synthetic"}))
    result = subprocess.run([*RLVR, "sft", str(path), "--set", "suite_seeds=9-2", "--print-config"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "suite_seeds" in result.stdout + result.stderr
    result = subprocess.run([*RLVR, "sft", str(path), "--set", "suite_seeds=2-4", "--print-config"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and yaml.safe_load(result.stdout)["suite_seeds"] == [2, 3, 4]  # commented YAML


def test_answer_only_examples_keep_the_answer_and_drop_the_reasoning():
    from rlvr.scoring import score
    from rlvr.suites.synthetic import synthetic_suite
    from rlvr.train.sft import answer_only, is_answer_only

    problems = synthetic_suite(per_task=4, seed=11)
    for problem in problems[::7]:
        short = answer_only(problem.meta["solution"])
        assert short.startswith("<think>\n</think>")
        assert short.split("</think>")[1] == problem.meta["solution"].split("</think>")[1]
        assert score(problem, short).reward == 1.0  # the answer still verifies
    cfg = SFTConfig(new_model={}, answer_only_fraction=0.6, seed=3)
    chosen = [is_answer_only(p, cfg) for p in problems]
    assert chosen == [is_answer_only(p, cfg) for p in problems]  # the same on every worker and rerun
    assert 0.5 < sum(chosen) / len(chosen) < 0.7
    assert not any(is_answer_only(p, cfg.model_copy(update={"answer_only_fraction": 0.0})) for p in problems)
    per_task = SFTConfig(new_model={}, answer_only_fraction={"arith": 1.0}, seed=3)
    assert all(is_answer_only(p, per_task) == (p.task == "arith") for p in problems)
    with pytest.raises(ValueError, match="answer_only_fraction"):
        answer_only("no thinking block here")


def test_every_recipe_parses_and_pins_its_precision_and_suite_version():
    from pathlib import Path

    recipes = sorted(Path(__file__).parents[1].glob("recipes/tiny_reasoner*.yaml"))
    assert len(recipes) == 8
    for path in recipes:
        raw = yaml.safe_load(path.read_text())
        assert raw["precision"] in ("fp32", "bf16") and isinstance(raw["suite_version"], int), path.name
        load_config(path, SFTConfig)  # every key valid
