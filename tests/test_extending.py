"""Adding an exploration method is one file: this test is that file (docs/extending.md)."""

import pytest
import torch
from pydantic import Field

from rlvr.algo.offpolicy import OffPolicySpec
from rlvr.algo.row_losses import ROW_LOSSES, register_row_loss
from rlvr.config import ConfigError, TrainConfig, load_config
from rlvr.explore import METHODS, Method, make_method, register
from rlvr.problems import Problem, Rollout, Score
from rlvr.rollouts import Group
from rlvr.settings import Strict


class KeepFirstSettings(Strict):
    """Keep-first: train on the first k rollouts of each group only (a toy)."""

    k: int = Field(2, ge=2)  # rollouts kept per group


def echo_rows(logp, old_logp, advantages, mask, ctx):
    """The rows it adds (source "echo"): plain REINFORCE, -A * log p, no ratio (a toy loss)."""
    return -advantages[:, None] * logp * mask, {"echo_tokens": float(mask.sum())}


class KeepFirst(Method):
    name = "keep_first"
    Settings = KeepFirstSettings
    defaults = {"rollout": {"dynamic_sampling": False}}

    @classmethod
    def conflicts(cls, cfg):
        return "needs k <= rollouts_per_prompt" if cfg.method.keep_first.k > cfg.rollout.rollouts_per_prompt else None

    def offpolicy(self) -> OffPolicySpec:
        return OffPolicySpec(gamma_quantile=0.5)

    def expand(self, groups, ctx):
        k = self.settings.k
        return [Group(g.problem, g.rollouts[:k], g.truncated[:k]) for g in groups]


@pytest.fixture
def keep_first():
    register(KeepFirst)
    register_row_loss("echo", echo_rows)
    yield KeepFirst
    del METHODS["keep_first"]
    del ROW_LOSSES._items["echo"]


def test_a_new_method_is_configured_checked_and_run_from_its_own_file(keep_first, tmp_path):
    cfg = TrainConfig(method={"name": "keep_first", "keep_first": {"k": 3}})
    assert cfg.method.keep_first.k == 3 and not cfg.rollout.dynamic_sampling  # its settings, its defaults
    assert TrainConfig(method={"name": "keep_first"}).method.keep_first.k == 2
    path = tmp_path / "c.yaml"
    path.write_text("method: {name: keep_first, keep_first: {k: 1}}\n")
    with pytest.raises(ConfigError, match="method.keep_first.k: Input should be greater than or equal to 2"):
        load_config(path, TrainConfig)
    path.write_text("rollout: {rollouts_per_prompt: 4}\nmethod: {name: keep_first, keep_first: {k: 6}}\n")
    with pytest.raises(ConfigError, match="method keep_first: needs k <= rollouts_per_prompt"):
        load_config(path, TrainConfig)
    method = make_method(cfg)
    assert method.offpolicy().gamma_quantile == 0.5
    rollouts = [Rollout(problem_id="p", text=str(i), score=Score(reward=float(i % 2), correct=bool(i % 2)))
                for i in range(8)]
    groups = method.expand([Group(Problem(id="p", domain="math", prompt="q", answer="1"), rollouts, [False] * 8)], None)
    assert [r.text for r in groups[0].rollouts] == ["0", "1", "2"]


def test_the_registry_refuses_duplicates_non_methods_and_unknown_sections(keep_first, tmp_path):
    with pytest.raises(ValueError, match="already registered"):
        register(KeepFirst)
    with pytest.raises(TypeError, match="subclass"):
        register(type("NotAMethod", (), {"name": "nam"}))
    path = tmp_path / "c.yaml"
    path.write_text("method: {name: keep_first, bogus: {k: 3}}\n")
    with pytest.raises(ConfigError, match="method.bogus: not a method's settings; valid: ampo, dars, dph"):
        load_config(path, TrainConfig)


def test_a_new_methods_rows_are_trained_by_the_loss_it_registers(keep_first, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from rlvr.config import AlgoConfig
    from rlvr.train.learner import UpdatePlan, build_batch, update_policy

    def rollout(i, source):
        return Rollout(problem_id="p", prompt_ids=[1, 5], completion_ids=[7 + i, 8], text="", logprobs=[-1.0, -1.0],
                       source=source, score=Score(reward=float(i % 2), correct=bool(i % 2)))

    problem = Problem(id="p", domain="math", prompt="q", answer="1")
    batch = build_batch([Group(problem, [rollout(0, "policy"), rollout(1, "policy"), rollout(2, "echo"),
                                         rollout(3, "echo")], [False] * 4)], AlgoConfig(), False, 0)
    assert batch.sources == ("policy", "echo")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    out = update_policy(model, optimizer, scheduler, batch, AlgoConfig(), UpdatePlan(), OffPolicySpec())
    assert out["echo_tokens"] == 2 * 2  # its function ran, on its two rows' tokens
    unknown = build_batch.__globals__["pad_rollouts"]
    with pytest.raises(KeyError, match="unknown rollout source 'typo'.*echo"):
        unknown([Group(problem, [rollout(0, "typo")], [False])], False, 0)
