import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from safetensors.torch import load_file

RLVR = [sys.executable, "-m", "rlvr.cli"]


def sections(flat: dict) -> dict:
    """A config written with the old flat key names, in the sectioned layout (tests stay short)."""
    from rlvr.config import FLAT_KEYS, merge, nested

    out: dict = {}
    for key, value in flat.items():
        merge(out, nested("data.file" if key == "data" else FLAT_KEYS.get(key, key), value))
    return out


def write_config(tmp_path, name, model, data, **extra):
    cfg = {"model": str(model), "suite": None, "data": str(data), "eval_suite": None, "output": str(tmp_path / name),
           "steps": 4, "prompts_per_step": 4, "rollouts_per_prompt": 4, "max_new_tokens": 10,
           "mask_truncated": False, "lr": 0.01, "save_every": 1, "workers": 1, "dynamic_sampling": False,
           "batch_size": 64, "minibatch_size": 64, "microbatch_size": None, "precision": "fp32", **extra}
    path = tmp_path / f"{name}.yaml"
    path.write_text(json.dumps(sections(cfg)))  # JSON is YAML
    return path


def rlvr_in_process(*args):
    """`rlvr ARGS` through the CLI in this process (no interpreter start-up): exit code, stdout, stderr."""
    from typer.testing import CliRunner

    from rlvr.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def final_weights(run_dir):
    latest = (run_dir / "checkpoints" / "latest").read_text().strip()
    return load_file(str(run_dir / "checkpoints" / latest / "model.safetensors")), latest


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_changes_weights_and_logs_metrics(tmp_path, tiny_model_dir, rubric_data, precision):
    cfg = write_config(tmp_path, "run", tiny_model_dir, rubric_data, precision=precision, microbatch_size=4)
    result = subprocess.run([*RLVR, "train", str(cfg)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    for key in ("reward_mean", "reward_std", "reward_by_domain", "pass@1_batch", "zero_variance_frac",
                "clip_frac_low", "clip_frac_high", "entropy", "response_len_mean", "truncated_frac",
                "sample_tok_s", "train_tok_s", "time_s"):
        assert key in rows[-1], key
    assert set(rows[-1]["time_s"]) == {"sampling", "scoring", "recomputing_logprobs", "learning", "pushing_weights",
                                       "communication", "total"}
    assert rows[-1]["time_s"]["pushing_weights"] < 0.01 and rows[-1]["time_s"]["communication"] == 0  # torch, 1 rank
    samples = [json.loads(x) for x in (tmp_path / "run" / "rollouts.jsonl").read_text().splitlines()]
    assert {s["step"] for s in samples} <= {1, 2, 3, 4} and samples  # what the curve was made of, readable
    assert set(samples[0]) >= {"problem_id", "prompt", "completion", "reward", "correct", "reason"}
    weights, latest = final_weights(tmp_path / "run")
    start = load_file(str(tiny_model_dir / "model.safetensors"))
    assert latest == "step-4"
    assert any(not torch.equal(weights[k], start[k]) for k in start)
    assert {w.dtype for w in weights.values()} == {torch.float32}  # bf16 is autocast only
    assert (tmp_path / "run" / "report.md").exists() and (tmp_path / "run" / "training.png").exists()
    # a run directory or its `latest` pointer stands for the newest checkpoint wherever a model is named
    from rlvr.models import model_path

    newest = tmp_path / "run" / "checkpoints" / "step-4"
    assert model_path(tmp_path / "run") == model_path(tmp_path / "run" / "checkpoints" / "latest") == newest
    assert model_path(tiny_model_dir) == tiny_model_dir


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_killed_and_resumed_run_ends_with_the_same_weights(tmp_path, tiny_model_dir, rubric_data):
    straight = write_config(tmp_path, "straight", tiny_model_dir, rubric_data)
    subprocess.run([*RLVR, "train", str(straight)], check=True, capture_output=True, timeout=300)
    killed = write_config(tmp_path, "killed", tiny_model_dir, rubric_data)
    proc = subprocess.Popen([*RLVR, "train", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    pointer = tmp_path / "killed" / "checkpoints" / "latest"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (pointer.exists() and pointer.read_text().strip() == "step-2"):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _, at_kill = final_weights(tmp_path / "killed")
    assert at_kill in ("step-2", "step-3")  # killed mid-run, with a complete checkpoint
    resumed = subprocess.run([*RLVR, "train", "--resume", str(tmp_path / "killed")], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    a, _ = final_weights(tmp_path / "straight")
    b, latest = final_weights(tmp_path / "killed")
    assert latest == "step-4"
    assert all(torch.equal(a[k], b[k]) for k in a)
    rollouts = [(tmp_path / run / "rollouts.jsonl").read_text() for run in ("straight", "killed")]
    assert rollouts[0] == rollouts[1]  # the rows after the checkpoint were dropped, then written again


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_skipping_zero_advantage_rollouts_does_not_change_training(tmp_path, tiny_model_dir, rubric_data):
    # skip_zero_advantage: false runs every rollout through the model (for like-for-like timing
    # against other trainers); the weights must end the same, since those rows have no gradient.
    weights, all_same = [], []
    for skip in (True, False):
        cfg = write_config(tmp_path, f"skip{skip}", tiny_model_dir, rubric_data, steps=3, skip_zero_advantage=skip,
                           save_every=3)
        subprocess.run([*RLVR, "train", str(cfg)], check=True, capture_output=True, timeout=300)
        weights.append(final_weights(tmp_path / f"skip{skip}")[0])
        rows = [json.loads(x) for x in (tmp_path / f"skip{skip}" / "metrics.jsonl").read_text().splitlines()]
        all_same.append(sum(r["zero_variance_frac"] for r in rows))
    assert all_same[0] == all_same[1] > 0  # same samples, and some groups had zero advantage
    a, b = weights
    # Adam turns float-noise gradient differences into updates of ~1e-5 here; a rollout with a
    # real gradient left out would move weights by about the learning rate (1e-2)
    assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in a)
    from rlvr.config import TrainConfig
    from rlvr.train.loop import update_plan

    assert not update_plan(TrainConfig(learner={"skip_zero_advantage": False})).skip_zero_advantage


@pytest.mark.parametrize("amx, avx512_bf16, chosen", [(False, False, "fp32"), (True, False, "bf16"),
                                                      (False, True, "bf16")])
def test_auto_precision_picks_bf16_only_where_the_cpu_has_it(monkeypatch, amx, avx512_bf16, chosen):
    # On an AVX2-only CPU bf16 autocast is emulated: 20x slower than fp32 for an SFT step here.
    from rlvr.config import TrainConfig
    from rlvr.models import precision_note, resolve_precision
    from rlvr.train.loop import update_plan

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    assert resolve_precision("auto", "cpu") == chosen
    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    assert update_plan(TrainConfig(learner={"precision": "auto"}, device="cpu")).bf16 == (chosen == "bf16")
    assert precision_note("auto", "cpu") == f"precision: auto -> {chosen} on cpu"
    assert (precision_note("bf16", "cpu") is not None) == (chosen == "fp32")  # the warning: emulated bf16


@pytest.mark.parametrize("override, message", [
    ({"bogus": 1}, "bogus: Extra inputs are not permitted"),
    ({"steps": "many"}, "steps: Input should be a valid integer"),
    ({"rollouts_per_prompt": 1}, "at least 2 rollouts"),
    ({"algo": {"kl_coef": 0.1}}, "kl_estimator"),
    ({"algo": {"advantage": "ppo"}}, "algo.advantage: unknown 'ppo'; valid: dr_grpo, grpo, pass_at_k, rloo"),
    ({"precision": "fp16"}, "precision: Input should be 'fp32', 'bf16' or 'auto'"),
])
def test_bad_configs_name_the_key_before_any_work(tmp_path, tiny_model_dir, rubric_data, override, message):
    cfg = write_config(tmp_path, "bad", tiny_model_dir, rubric_data, **override)
    code, _, stderr = rlvr_in_process("train", cfg)
    assert code == 2 and message in stderr, stderr
    assert not (tmp_path / "bad").exists()


def test_tasks_and_domains_choose_training_and_held_out_problems(tmp_path, tiny_model_dir, rubric_data):
    from rlvr.config import TrainConfig
    from rlvr.train.loop import load_problems

    train, held_out = load_problems(TrainConfig(data={"tasks": ["arith", "table_qa"], "domains": ["math"]}))
    assert {p.task for p in train} == {"arith"} and {p.task for p in held_out} == {"arith"}
    assert len(held_out) > 0 and all(p.id.endswith("-heldout") for p in held_out)
    cfg = write_config(tmp_path, "bad", tiny_model_dir, rubric_data, tasks=["nope"])
    code, _, stderr = rlvr_in_process("train", cfg)
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "tasks: no problem has task nope" in errors[0], stderr
    assert not (tmp_path / "bad").exists()  # nothing written before the problems are known
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metrics.jsonl").write_text('{"step": 1}\n')  # an earlier run that --overwrite would replace
    code, _, stderr = rlvr_in_process("train", cfg, "--overwrite")
    assert code == 2 and "tasks: no problem has task nope" in stderr
    assert (tmp_path / "bad" / "metrics.jsonl").read_text() == '{"step": 1}\n'  # a bad config removes nothing
    code, _, stderr = rlvr_in_process("train", cfg)
    assert code == 2 and "holds a run already" in stderr  # checked before problems are loaded


def test_resume_of_a_directory_that_is_no_run_says_so(tmp_path):
    (tmp_path / "notes").mkdir()
    code, _, stderr = rlvr_in_process("train", "--resume", tmp_path / "notes")
    assert code == 2, stderr
    assert "is not a run directory of rlvr train (it has no config.yaml)" in " ".join(stderr.split())
    assert list((tmp_path / "notes").iterdir()) == []  # nothing written there


def test_print_config_shows_defaults(tmp_path, tiny_model_dir, rubric_data):
    cfg = write_config(tmp_path, "p", tiny_model_dir, rubric_data)
    code, stdout, _ = rlvr_in_process("train", cfg, "--print-config")
    assert code == 0 and "eps_high: 0.2" in stdout and "aggregation: token_mean" in stdout


def test_kl_in_reward_lowers_rewards_by_the_reference_kl(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from rlvr.config import AlgoConfig
    from rlvr.problems import Problem, Rollout, Score
    from rlvr.rollouts import Group
    from rlvr.train.forward import policy_logprobs
    from rlvr.train.learner import build_batch

    reference = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    rollouts = [Rollout(problem_id="p", prompt_ids=[1, 5, 6], completion_ids=[7, 8, 9], text="x",
                        logprobs=[-1.0, -2.0, -3.0], score=Score(reward=1.0, correct=True)),
                Rollout(problem_id="p", prompt_ids=[1, 5, 6], completion_ids=[7, 9], text="y",
                        logprobs=[-0.5, -0.5], score=Score(reward=0.0, correct=False))]
    group = Group(Problem(id="p", domain="math", prompt="q", answer="1"), rollouts, [False, False])
    algo = AlgoConfig(kl_estimator="k1", kl_coef=0.1, kl_in_reward=True, advantage="dr_grpo")
    batch = build_batch([group], algo, True, 0, reference)
    with torch.no_grad():
        ref, _ = policy_logprobs(reference, batch.input_ids, batch.attention_mask, batch.loss_mask, 1.0)
    expected_kl = ((batch.old_logp - ref) * batch.loss_mask).sum(dim=1)
    assert torch.allclose(batch.rewards, torch.tensor([1.0, 0.0]) - 0.1 * expected_kl, atol=1e-6)
    plain = build_batch([group], AlgoConfig(advantage="dr_grpo"), True, 0, reference)
    assert plain.rewards.tolist() == [1.0, 0.0]


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_held_out_evaluation_before_and_after_lands_in_the_report(tmp_path, tiny_model_dir, rubric_data):
    cfg = write_config(tmp_path, "ev", tiny_model_dir, rubric_data, steps=2, eval_suite="synthetic-heldout",
                       eval_problems=6, eval_n=2, eval_every=1)
    result = subprocess.run([*RLVR, "train", str(cfg)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "ev"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["kind"], r.get("eval")) for r in rows] == [("eval", "before"), ("step", None), ("eval", "step-1"),
                                                           ("step", None), ("eval", "after")]  # one shape per kind
    assert rows[2]["step"] == 1 and "pass@1" in rows[2] and "reward_mean" not in rows[2]
    report = (run / "report.md").read_text()
    assert "before | pass@1 after" in report and (run / "before_after.png").exists()


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_lora_trains_only_adapters_and_resumes(tmp_path, tiny_model_dir, rubric_data):
    lora = {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    cfg = write_config(tmp_path, "lora", tiny_model_dir, rubric_data, steps=2, lora=lora)
    result = subprocess.run([*RLVR, "train", str(cfg)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    latest = tmp_path / "lora" / "checkpoints" / "step-2"
    adapters = load_file(str(latest / "adapter_model.safetensors"))
    assert adapters and all("lora_" in k for k in adapters)
    assert any(float(v.abs().sum()) > 0 for k, v in adapters.items() if "lora_B" in k)  # B starts at 0: it learned
    saved = tmp_path / "lora" / "config.yaml"  # --resume reads the run's own config: extend it by one step
    saved.write_text(saved.read_text().replace("steps: 2", "steps: 3"))
    resumed = subprocess.run([*RLVR, "train", "--resume", str(tmp_path / "lora")], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "step 3/3" in resumed.stderr + resumed.stdout and "step 1/3" not in resumed.stderr + resumed.stdout
    resumed_adapters = load_file(str(tmp_path / "lora" / "checkpoints" / "step-3" / "adapter_model.safetensors"))
    assert set(resumed_adapters) == set(adapters)
    # the run directory is a model for rlvr eval: its latest checkpoint, adapters on their base
    evaluated = subprocess.run([*RLVR, "eval", "--model", str(tmp_path / "lora"), "--data", str(rubric_data), "--n", "2",
                                "--k", "1,2", "--max-new-tokens", "8", "-o", str(tmp_path / "lora-eval")],
                               capture_output=True, text=True, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads((tmp_path / "lora-eval" / "metrics.json").read_text())["n"] == 2
    from rlvr.sampling.torch_backend import TorchSampler

    loaded = TorchSampler.from_pretrained(tmp_path / "lora", device="cpu").model  # what rlvr eval samples from
    trained = {n: p for n, p in loaded.named_parameters() if "lora_B" in n}
    assert trained and any(float(p.abs().sum()) > 0 for p in trained.values())  # the adapters, not the bare base


def test_train_without_a_config_is_the_main_job():
    out = subprocess.run([*RLVR, "train", "--print-config"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    shown = yaml.safe_load(out.stdout)
    assert shown["model"] == "tiny-reasoner" and shown["rollout"]["dynamic_sampling"] is True
    assert shown["evaluation"]["suite"] == "synthetic-heldout"


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_a_new_run_never_mixes_with_an_old_one(tmp_path, tiny_model_dir, rubric_data):
    cfg = write_config(tmp_path, "twice", tiny_model_dir, rubric_data, steps=1)
    assert rlvr_in_process("train", cfg)[0] == 0
    code, _, stderr = rlvr_in_process("train", cfg)
    assert code == 2 and "--overwrite" in stderr and "Traceback" not in stderr
    debug = subprocess.run([*RLVR, "train", str(cfg)], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "RLVR_DEBUG": "1"})  # the whole traceback, from a real process
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "FileExistsError" in debug.stderr
    code, _, stderr = rlvr_in_process("train", cfg, "--overwrite")
    assert code == 0, stderr
    rows = (tmp_path / "twice" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [1]


def _two_rollout_group():
    from rlvr.problems import Problem, Rollout, Score
    from rlvr.rollouts import Group

    rollouts = [Rollout(problem_id="p", prompt_ids=[1, 5, 6], completion_ids=[7, 8, 9], text="x",
                        logprobs=[-1.0, -2.0, -3.0], score=Score(reward=1.0, correct=True)),
                Rollout(problem_id="p", prompt_ids=[1, 5, 6], completion_ids=[7, 9], text="y",
                        logprobs=[-0.5, -0.5], score=Score(reward=0.0, correct=False))]
    return Group(Problem(id="p", domain="math", prompt="q", answer="1"), rollouts, [False, False])


def test_token_sum_norm_divides_by_the_generation_budget_not_the_padded_width(tiny_model_dir):
    import copy
    from dataclasses import replace

    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM

    from rlvr.config import AlgoConfig
    from rlvr.train.learner import OffPolicySpec, UpdatePlan, build_batch, update_policy

    algo = AlgoConfig(advantage="dr_grpo", aggregation="token_sum_norm")
    batch = build_batch([_two_rollout_group()], algo, True, 0)
    wider = replace(batch, **{k: F.pad(getattr(batch, k), (0, 7)) for k in
                              ("input_ids", "attention_mask", "loss_mask", "old_logp")})  # 7 more padding columns
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    losses = []
    for b in (batch, wider):
        policy = copy.deepcopy(model)
        optimizer = torch.optim.SGD(policy.parameters(), lr=0.0)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
        out = update_policy(policy, optimizer, scheduler, b, algo, UpdatePlan(max_new_tokens=50), OffPolicySpec(),
                            None, torch.Generator().manual_seed(0))
        losses.append(out["loss"])
    assert losses[0] == pytest.approx(losses[1], rel=1e-6) and losses[0] != 0.0


def test_each_policy_loss_clips_with_its_own_defaults_unless_set():
    from rlvr.config import AlgoConfig
    from rlvr.train.learner import UpdatePlan, loss_config

    gspo = loss_config(AlgoConfig(loss="gspo"), UpdatePlan())
    ppo = loss_config(AlgoConfig(), UpdatePlan())
    assert (gspo.eps_low, gspo.eps_high) == (3e-4, 4e-4) and (ppo.eps_low, ppo.eps_high) == (0.2, 0.2)
    mine = loss_config(AlgoConfig(loss="gspo", eps_high=1e-3), UpdatePlan())
    assert (mine.eps_low, mine.eps_high) == (3e-4, 1e-3)


def test_metrics_rows_of_older_runs_are_read_with_one_shape_per_kind(tmp_path):
    from rlvr.train.records import evals_of, read_metrics, steps_of

    old = [{"step": 0, "eval": "before", "pass@1": 0.2},
           {"step": 1, "reward_mean": 0.5, "eval": {"eval": "step-1", "pass@1": 0.3}},
           {"step": 2, "reward_mean": 0.6}, {"step": 2, "eval": "after", "pass@1": 0.4}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in steps_of(rows)] == [1, 2] and all("eval" not in r for r in steps_of(rows))
    assert [(r["eval"], r["step"], r["pass@1"]) for r in evals_of(rows)] == \
        [("before", 0, 0.2), ("step-1", 1, 0.3), ("after", 2, 0.4)]


def test_rollout_rows_keep_an_even_sample_of_each_step():
    from rlvr.train.loop import rollout_rows

    group = _two_rollout_group()
    assert len(rollout_rows(0, [group] * 4, -1)) == 8 and rollout_rows(0, [group], 0) == []
    rows = rollout_rows(2, [group] * 4, 3)
    assert len(rows) == 3 and rows[0]["step"] == 3 and rows[0]["completion"] == "x" and rows[0]["reward"] == 1.0


def test_rows_of_advantage_zero_skip_the_model_only_when_no_term_gives_them_a_gradient():
    from rlvr.config import AlgoConfig
    from rlvr.train.learner import terms_without_advantage

    reference = object()
    assert terms_without_advantage(AlgoConfig(), reference) == []
    assert terms_without_advantage(AlgoConfig(entropy_coef=0.01)) == ["entropy"]
    kl = AlgoConfig(kl_estimator="k3", kl_coef=0.1)
    assert terms_without_advantage(kl, reference) == ["kl"] and terms_without_advantage(kl) == []
    assert terms_without_advantage(AlgoConfig(kl_estimator="k1", kl_coef=0.1, kl_in_reward=True), reference) == []
