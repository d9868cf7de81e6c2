"""Settings that would silently give a wrong run are one error naming the key, before any work."""

import pytest
import yaml

from rlvr.config import ConfigError, SFTConfig, TrainConfig, load_config


def load(tmp_path, config_model=TrainConfig, **keys):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(keys))
    return load_config(path, config_model)


@pytest.mark.parametrize("keys, message", [
    ({"learner": {"grad_clip": -1}}, "learner.grad_clip: Input should be greater than 0"),  # gradient ascent
    ({"learner": {"grad_clip": 0}}, "learner.grad_clip: Input should be greater than 0"),  # or no update at all
    ({"rollout": {"temperature": 0}}, "rollout.temperature: Input should be greater than 0"),
    ({"rollout": {"temperature": -1}}, "rollout.temperature: Input should be greater than 0"),
    ({"algo": {"eps_high": -0.5}}, "algo.eps_high: Input should be greater than 0"),
    ({"learner": {"warmup_steps": -5}}, "learner.warmup_steps: Input should be greater than or equal to 0"),
    ({"steps": 0}, "steps: Input should be greater than or equal to 1"),
    ({"steps": -2}, "steps: Input should be greater than or equal to 1"),
    ({"checkpointing": {"every": 0}}, "checkpointing.every: Input should be greater than or equal to 1"),
    ({"rollout": {"prompts_per_step": 0}}, "rollout.prompts_per_step: Input should be greater than or equal to 1"),
    ({"checkpointing": {"keep": 0}}, "checkpointing.keep: Input should be greater than or equal to 1"),
    ({"learner": {"lr": -1e-4}}, "learner.lr: Input should be greater than 0"),
    ({"rollout": {"max_new_tokens": 0}}, "rollout.max_new_tokens: Input should be greater than or equal to 1"),
    ({"lora": {"r": 0}}, "lora.r: Input should be greater than or equal to 1"),
    ({"device": "tpu"}, "device: String should match pattern"),
    ({"algo": {"dual_clip": 0.5}}, "algo.dual_clip: Input should be greater than 1"),
    ({"method": {"name": "guide", "guide": {"gamma_quantile": 2}}}, "method.guide.gamma_quantile"),
    # the flat layout of earlier versions: each old key names where it went
    ({"batch_size": 64}, "batch_size: configs have sections now: write it as rollout.sampler_batch_size"),
    ({"lr": 1e-4}, "lr: configs have sections now: write it as learner.lr"),
    ({"data": "train.jsonl"}, "data: configs have sections now: write it as data.file"),
    ({"eval_n": 8}, "eval_n: configs have sections now: write it as evaluation.n"),
    ({"rollout": {"engine": "sglang"}}, "rollout.engine: Input should be 'auto', 'torch', 'vllm' or 'vllm-server'"),
    ({"rollout": {"engine": "vllm-server"}}, "rollout.server_url: engine vllm-server needs the server's URL"),
    ({"rollout": {"server_url": "http://x:1"}}, "rollout.server_url: only engine vllm-server reads it"),
    ({"rollout": {"engine": "vllm-server", "server_url": "http://x:1"}, "lora": {"r": 8}},
     "rollout.engine: vllm-server does not take LoRA adapters yet"),
    ({"algo": {"rollout_correction": {"method": "mis", "c_min": 3}}}, "algo.rollout_correction: c_min must be < c_max"),
    ({"algo": {"rollout_correction": {"method": "ris"}}}, "algo.rollout_correction.method: Input should be 'tis' or 'mis'"),
])
def test_out_of_range_settings_name_the_key(tmp_path, keys, message):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, **keys)
    assert f"config.yaml: {message}" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("keys, message", [
    ({"grad_clip": 0}, "grad_clip: Input should be greater than 0"),
    ({"warmup_steps": -1}, "warmup_steps: Input should be greater than or equal to 0"),
    ({"device": "tpu"}, "device: String should match pattern"),
])
def test_sft_settings_are_bounded_too(tmp_path, keys, message):
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, SFTConfig, model="tiny-reasoner", **keys)


def test_each_loss_keeps_its_own_clip_range_unless_the_user_sets_one(tmp_path):
    gspo = load(tmp_path, algo={"loss": "gspo"})
    assert (gspo.algo.eps_low, gspo.algo.eps_high) == (3e-4, 4e-4)  # GSPO's sequence-ratio clip, not PPO's 0.2
    assert (load(tmp_path).algo.eps_low, load(tmp_path).algo.eps_high) == (0.2, 0.2)
    mine = load(tmp_path, algo={"loss": "gspo", "eps_high": 1e-3})
    assert (mine.algo.eps_low, mine.algo.eps_high) == (3e-4, 1e-3)


def test_a_missing_model_is_named_before_the_run_directory_exists(tmp_path):
    from rlvr.train.loop import train

    cfg = load(tmp_path, model="/no/such/model", output=str(tmp_path / "run"))
    with pytest.raises(FileNotFoundError, match="model: /no/such/model is neither a shipped model"):
        train(cfg)
    assert not (tmp_path / "run").exists()


def test_set_overrides_nested_keys_and_keeps_the_others(tmp_path):
    from rlvr.cli import parse_overrides

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"algo": {"loss": "gspo", "aggregation": "seq_mean_token_mean"}, "steps": 5}))
    cfg = load_config(path, TrainConfig, parse_overrides(["algo.eps_high=1e-3", "steps=7"]))
    assert (cfg.algo.loss, cfg.algo.aggregation, cfg.algo.eps_low, cfg.algo.eps_high, cfg.steps) == \
        ("gspo", "seq_mean_token_mean", 3e-4, 1e-3, 7)
    with pytest.raises(ConfigError, match="--set steps: expected KEY=VALUE"):
        parse_overrides(["steps"])


def test_one_set_of_defaults_the_main_job():
    from rlvr.config import MAIN_JOB

    main = load_config(MAIN_JOB, TrainConfig)
    assert main.model_dump(exclude={"output"}) == TrainConfig().model_dump(exclude={"output"})


def test_a_data_file_replaces_the_suite_and_its_held_out_evaluation(tmp_path):
    cfg = load(tmp_path, data={"file": str(tmp_path / "train.jsonl")})
    assert (cfg.data.suite, cfg.evaluation.suite) == (None, None)
    asked = load(tmp_path, data={"file": str(tmp_path / "train.jsonl")}, evaluation={"suite": "synthetic-heldout"})
    assert asked.evaluation.suite == "synthetic-heldout"
    with pytest.raises(ConfigError, match="exactly one of 'suite' or 'file'"):
        load(tmp_path, data={"file": str(tmp_path / "train.jsonl"), "suite": "synthetic"})


def test_the_config_reference_is_current_and_every_key_says_what_it_means():
    from pathlib import Path

    from rlvr.config_reference import keys, reference_markdown

    for model in (TrainConfig, SFTConfig):
        assert [k.name for k in keys(model) if not k.note] == []
    doc = Path(__file__).resolve().parents[1] / "docs" / "config.md"
    assert doc.read_text() == reference_markdown() + "\n", "regenerate: python -m rlvr.config_reference > docs/config.md"


def test_print_config_is_yaml_with_a_comment_on_every_key(tmp_path):
    from rlvr.config_reference import commented_yaml

    cfg = load(tmp_path, algo={"loss": "gspo"}, method={"name": "dars"})
    text = commented_yaml(cfg)
    assert yaml.safe_load(text) == yaml.safe_load(yaml.safe_dump(cfg.model_dump(mode="json")))  # still the config
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("- ")]
    assert all("  # " in line for line in lines), [line for line in lines if "  # " not in line]
    assert "  eps_high: 0.0004  # upper clip" in text


def test_an_engine_that_is_not_installed_is_named_before_any_work(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(ConfigError, match="rollout.engine: vllm is not installed here: run scripts/setup.sh vllm"):
        load(tmp_path, rollout={"engine": "vllm"})


def test_an_unreachable_engine_server_is_named_before_the_run_directory(tmp_path):
    from rlvr.sampling.vllm_backend import EngineError
    from rlvr.train.loop import train

    cfg = load(tmp_path, rollout={"engine": "vllm-server", "server_url": "http://127.0.0.1:9"},
               output=str(tmp_path / "run"))
    with pytest.raises(EngineError, match="rollout.server_url: cannot reach http://127.0.0.1:9/v1/models"):
        train(cfg)
    assert not (tmp_path / "run").exists()
