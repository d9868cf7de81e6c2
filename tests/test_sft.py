import json
import subprocess
import sys

import pytest

from rlvr.config import ConfigError, SFTConfig, load_config
from rlvr.train.sft import encode_example

RLVR = [sys.executable, "-m", "rlvr.cli"]


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
])
def test_bad_sft_configs(tmp_path, cfg, message):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match=message):
        load_config(path, SFTConfig)
