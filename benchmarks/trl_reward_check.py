"""rlvr's TRL reward inside a real GRPOTrainer: the verdicts equal `rlvr train`'s rule.

TRL is not a dependency of rlvr, so this script makes its own virtual environment
(`.bench/trl-venv`: torch==2.13.0 first, then trl, then rlvr from this tree) and runs a few
GRPOTrainer steps there with the shipped tiny reasoner on the held-out synthetic math problems.
The reward function given to TRL is `rlvr.adapters.trl_reward(tokenizer)`, wrapped to record,
for every completion TRL scored: its reward; the reward of rlvr's rule on the completion decoded
as rlvr's samplers decode it (special tokens kept: what `rlvr train` scores); and the reward
of the plain `rlvr_reward` on TRL's own text (thinking tokens stripped). It prints how many
agree and how many TRL's stripped text would have scored otherwise.

    .venv/bin/python benchmarks/trl_reward_check.py [--steps 2] [--prompts 4] [--n 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNNER = r'''
import json, sys, warnings
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer
from rlvr.adapters import rlvr_reward, trl_reward
from rlvr.suites import load_suite

model_dir, out_dir, steps, p, n = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
tokenizer = AutoTokenizer.from_pretrained(model_dir)
problems = [x for x in load_suite("synthetic-heldout") if x.domain == "math"][: p * steps]
data = Dataset.from_dict({"prompt": [[{"role": "user", "content": x.prompt}] for x in problems],
                          "domain": [x.domain for x in problems], "answer": [str(x.answer) for x in problems]})
rule = trl_reward(tokenizer)
records = []

def rlvr(prompts, completions, completion_ids, **columns):
    rewards = rule(prompts=prompts, completions=completions, completion_ids=completion_ids, **columns)
    columns.pop("trainer_state", None)
    full = [tokenizer.decode(ids, skip_special_tokens=False) for ids in completion_ids]
    own = rlvr_reward(prompts=prompts, completions=full, **columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stripped = rlvr_reward(prompts=prompts, completions=[c[0]["content"] if isinstance(c, list) else c
                                                             for c in completions], **columns)
    for r, o, s, text in zip(rewards, own, stripped, full):
        records.append({"trl_reward": r, "rlvr_rule": o, "stripped_text": s, "thinking": "</think>" in text})
    return rewards

cfg = GRPOConfig(output_dir=out_dir, per_device_train_batch_size=p * n, num_generations=n, max_completion_length=160,
                 temperature=1.0, beta=0.0, learning_rate=1e-5, max_steps=steps, logging_steps=1, report_to="none",
                 use_cpu=True, save_strategy="no", seed=0, dataloader_num_workers=0)
model = AutoModelForCausalLM.from_pretrained(model_dir)
GRPOTrainer(model=model, reward_funcs=rlvr, args=cfg, train_dataset=data, processing_class=tokenizer).train()
print("RECORDS " + json.dumps(records))
'''


def ensure_venv() -> Path:
    """TRL's venv of benchmarks/trl_step_time.py, with this tree's rlvr installed in it."""
    from trl_step_time import ensure_trl_venv  # the script's own folder is on sys.path

    python = ensure_trl_venv()
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT)], check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "src" / "rlvr" / "assets" / "tiny-reasoner"))
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--n", type=int, default=4)
    args = parser.parse_args()
    python = ensure_venv()
    version = subprocess.run([str(python), "-c", "import trl; print(trl.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "runner.py").write_text(RUNNER)
        out = subprocess.run([str(python), str(Path(tmp) / "runner.py"), args.model, str(Path(tmp) / "out"),
                              str(args.steps), str(args.prompts), str(args.n)], capture_output=True, text=True)
    lines = [x for x in out.stdout.splitlines() if x.startswith("RECORDS ")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"the GRPOTrainer run failed:\n{out.stderr[-4000:]}")
    records = json.loads(lines[-1][8:])
    agree = sum(r["trl_reward"] == r["rlvr_rule"] for r in records)
    differ = sum(r["stripped_text"] != r["rlvr_rule"] for r in records)
    print(f"TRL {version}, GRPOTrainer, {args.steps} steps x {args.prompts} prompts x {args.n} completions: "
          f"{len(records)} completions scored, {sum(r['thinking'] for r in records)} with a closed thinking block")
    print(f"trl_reward == rlvr train's rule: {agree}/{len(records)}")
    print(f"TRL's stripped text scored otherwise (plain rlvr_reward): {differ}/{len(records)}")
    if agree != len(records):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
