"""Exploration methods (rlvr.explore) and their losses (rlvr.algo.offpolicy), on hand-computed cases."""

import json
import math

import pytest
import torch

from rlvr.algo.offpolicy import DIVERGENCES, ratio_quantile, shaped_prob_loss, shaped_ratio_loss
from rlvr.config import AlgoConfig, TrainConfig
from rlvr.explore.base import StepContext
from rlvr.explore.dars import extra_rollouts
from rlvr.problems import Problem, Rollout, Score
from rlvr.rollouts import Group, RolloutStats
from rlvr.sampling.base import Sample


class ScriptedSampler:
    """A sampler whose completion depends on the prompt text: `rule(prompt_text, i) -> text`.
    Token ids are the characters' codes; log-probs encode the prompt length, so tests can tell
    which context a completion was sampled in."""

    def __init__(self, rule):
        self.rule, self.calls = rule, []

    def encode(self, prompt):
        return [ord(c) % 97 for c in (prompt if isinstance(prompt, str) else prompt[-1]["content"])]

    def sample(self, prompts, params):
        self.calls.append((prompts, params.n))
        out = []
        for prompt in prompts:
            ids = self.encode(prompt)
            out.append([Sample(text=(t := self.rule(prompt, i)), token_ids=[ord(c) % 97 for c in t],
                               logprobs=[-len(ids) / 100] * len(t), prompt_ids=ids) for i in range(params.n)])
        return out


def math_problem(pid="p", answer="4", hint=None, **meta):
    return Problem(id=pid, domain="math", prompt="Compute 2 + 2.", answer=answer, hint=hint, meta=meta)


def group_of(problem, texts, scorer):
    scores = scorer.score_many([(problem, t) for t in texts])
    rollouts = [Rollout(problem_id=problem.id, prompt_ids=[1, 2], completion_ids=[3, 4], text=t, logprobs=[-1, -1],
                        score=s) for t, s in zip(texts, scores)]
    return Group(problem, rollouts, [False] * len(texts))


def context(sampler, scorer, n=4):
    from rlvr.sampling.base import SamplingParams

    return StepContext(sampler, scorer, SamplingParams(max_new_tokens=8), n, 0, 0, RolloutStats())


def make_cfg(name, **method):
    advantage = "dr_grpo" if name in ("dars", "dars_b", "ampo") else "grpo"
    extra = {"learner": {"minibatch_size": None}} if name == "dars_b" else {}
    return TrainConfig(model="x", method={"name": name, **method}, algo={"advantage": advantage}, **extra)


# ---- DARS

def test_dars_schedules_give_the_worked_values_and_respect_n_max():
    assert [extra_rollouts(c, 8, "et") for c in range(4)] == [24, 11, 3, 1]
    assert [extra_rollouts(c, 8, "hw") for c in range(4)] == [56, 24, 8, 3]
    assert [extra_rollouts(c, 8, "et") for c in range(4, 9)] == [0] * 5
    assert extra_rollouts(0, 8, "hw", n_max=16) == 8
    with pytest.raises(ValueError, match="schedule"):
        extra_rollouts(0, 8, "other")


def test_dars_adds_rollouts_to_hard_prompts_merges_and_drops_all_same_groups(scorer):
    from rlvr.explore.dars import Dars

    hard, easy, never = math_problem("hard"), math_problem("easy"), math_problem("never")
    groups = [group_of(hard, ["\\boxed{4}"] + ["\\boxed{5}"] * 7, scorer),  # 1/8 -> +11 (ET)
              group_of(easy, ["\\boxed{4}"] * 8, scorer),  # 8/8 -> none, dropped (all same)
              group_of(never, ["\\boxed{5}"] * 8, scorer)]  # 0/8 -> +24, still all wrong -> dropped
    sampler = ScriptedSampler(lambda prompt, i: "\\boxed{4}" if i % 2 else "\\boxed{3}")
    ctx = context(sampler, scorer, n=8)
    out = Dars(make_cfg("dars")).expand(groups, ctx)
    assert sorted(n for _, n in sampler.calls) == [11, 24]
    assert [g.problem.id for g in out] == ["hard", "never"]  # 'never' got half right in stage 2
    assert len(out[0].rollouts) == 19 and len(out[1].rollouts) == 32
    assert ctx.stats.extra["dars_extra_rollouts"] == 35 and ctx.stats.extra["groups_dropped"] == 1


# ---- Guide

def test_guide_replaces_failed_groups_with_hinted_ones_trained_without_the_hint(scorer):
    from rlvr.explore.guide import Guide

    problem = math_problem(hint="Hint: 2 + 2 = 4")
    sampler = ScriptedSampler(lambda prompt, i: "\\boxed{4}" if "Hint" in prompt and i < 2 else "\\boxed{5}")
    ctx = context(sampler, scorer)
    out = Guide(make_cfg("guide")).expand([group_of(problem, ["\\boxed{5}"] * 4, scorer)], ctx)
    assert len(out) == 1 and [r.source for r in out[0].rollouts] == ["hint"] * 4
    assert [r.score.correct for r in out[0].rollouts] == [True, True, False, False]
    hinted_prompt = sampler.calls[0][0][0]
    assert "Hint: 2 + 2 = 4" in hinted_prompt
    own = sampler.encode(problem.sampler_prompt())
    assert out[0].rollouts[0].prompt_ids == own  # trained on the prompt without the hint
    assert out[0].rollouts[0].logprobs[0] == pytest.approx(-len(sampler.encode(hinted_prompt)) / 100)  # behaviour


def test_guide_drops_groups_the_hint_does_not_rescue(scorer):
    from rlvr.explore.guide import Guide

    problem = math_problem(hint="Hint: think")
    ctx = context(ScriptedSampler(lambda prompt, i: "\\boxed{5}"), scorer)
    assert Guide(make_cfg("guide")).expand([group_of(problem, ["\\boxed{5}"] * 4, scorer)], ctx) == []


def test_shaped_ratio_loss_and_gamma_by_hand():
    logp = torch.log(torch.tensor([[2.0, 0.5]]))
    old = torch.zeros(1, 2)
    loss = shaped_ratio_loss(logp, old, torch.tensor([1.0]), torch.ones(1, 2), gamma=2.0)
    assert loss.tolist()[0] == pytest.approx([-2 / 4, -0.5 / 2.5])
    ratios = torch.log(torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]]))
    assert float(ratio_quantile(ratios, torch.zeros(1, 11), torch.ones(1, 11), 0.9)) == pytest.approx(10.0)
    assert float(ratio_quantile(torch.full((1, 2), -50.0), torch.zeros(1, 2), torch.ones(1, 2))) == pytest.approx(1e-4)


# ---- AMPO

def test_shaped_prob_loss_by_hand():
    logp = torch.log(torch.tensor([[0.4, 0.1]]))
    loss = shaped_prob_loss(logp, torch.tensor([-1.0]), torch.tensor([[1.0, 0.0]]), beta=0.1)
    assert loss.tolist()[0] == pytest.approx([0.4 / 0.5, 0.0])


def test_answer_span_puts_the_gold_answer_in_place_of_the_teachers():
    from rlvr.explore.ampo import answer_span

    assert answer_span("2 + 2 = 4, so \\boxed{4.0}", "4.0", "4") == ("2 + 2 = 4, so \\boxed{", "4", "}")
    assert answer_span("no answer here", None, "4") == ("", "no answer here", "")


def test_comprehension_is_the_students_mean_probability_of_the_answer_tokens(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.explore.ampo import comprehension

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt, before, answer = [1, 2, 3], "so the result is ", "42"
    head = prompt + tok(before, add_special_tokens=False)["input_ids"]
    body = tok(answer, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=torch.tensor([head + body])).logits[0], -1)
    expected = sum(float(probs[len(head) - 1 + j, t]) for j, t in enumerate(body)) / len(body)
    assert comprehension(model, tok, prompt, before, answer, "") == pytest.approx(expected, rel=1e-5)


def test_ampo_replaces_k_failed_rollouts_with_the_best_understood_teachers(scorer, monkeypatch, tmp_path):
    import rlvr.explore.ampo as ampo

    pool = tmp_path / "samples.jsonl"
    rows = [{"problem_id": "p", "text": f"teacher {i}: \\boxed{{4}}", "correct": True}
            for i in range(3)] + [{"problem_id": "p", "text": "bad \\boxed{9}", "correct": False}]
    pool.write_text("\n".join(json.dumps(r) for r in rows))
    understood = {"teacher 0": 0.2, "teacher 1": 0.9, "teacher 2": 0.5}
    monkeypatch.setattr(ampo, "comprehension",
                        lambda model, tok, ids, before, answer, after: understood[before.split(":")[0]])

    class Tok:
        eos_token_id = 0

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [ord(c) % 97 for c in text]}

    method = ampo.Ampo(make_cfg("ampo", ampo={"pool": [str(pool)]}))
    ctx = context(None, scorer)
    ctx.tokenizer = Tok()
    failed = group_of(math_problem(), ["\\boxed{5}"] * 4, scorer)
    solved = group_of(math_problem("q"), ["\\boxed{4}", "\\boxed{5}"], scorer)
    out = method.expand([failed, solved], ctx)
    assert [r.source for r in out[0].rollouts] == ["policy", "policy", "teacher", "teacher"]
    assert [r.text.split(":")[0] for r in out[0].rollouts[2:]] == ["teacher 1", "teacher 2"]
    assert all(r.score.correct for r in out[0].rollouts[2:]) and out[0].rollouts[2].completion_ids[-1] == 0
    assert out[1] is solved  # guidance only on demand


def test_ampo_pool_errors_name_the_line(tmp_path):
    from rlvr.explore.ampo import load_pool

    bad = tmp_path / "pool.jsonl"
    bad.write_text('{"problem_id": "p", "text": "x", "correct": true}\nnot json\n')
    with pytest.raises(ValueError, match="pool.jsonl:2"):
        load_pool([bad])
    with pytest.raises(FileNotFoundError, match="method.ampo.pool"):
        load_pool([tmp_path / "missing.jsonl"])


# ---- DPH-RL

def test_divergences_by_hand():
    logp, ref, mask = torch.log(torch.tensor([[2.0, 1.0]])), torch.zeros(1, 2), torch.ones(1, 2)
    assert DIVERGENCES.get("forward_kl")(logp, ref, mask).tolist()[0] == pytest.approx([1 - math.log(2), 0.0])
    js = 2 * math.log(2) - 3 * math.log(1.5)
    assert DIVERGENCES.get("js")(logp, ref, mask).tolist()[0] == pytest.approx([js, 0.0], abs=1e-7)
    huge = DIVERGENCES.get("forward_kl")(torch.tensor([[-100.0]]), torch.zeros(1, 1), torch.ones(1, 1))
    assert float(huge) == pytest.approx(math.exp(-10) + 10 - 1)  # log u clamped to [-10, 10]


def test_dph_prepare_splits_by_initial_success_and_stores_correct_samples(scorer, tmp_path):
    from rlvr.explore.dph import Dph, prepare
    from rlvr.sampling.base import SamplingParams

    easy = Problem(id="easy", domain="math", prompt="Compute 1 + 1.", answer="2")
    mixed = Problem(id="mixed", domain="math", prompt="Compute 2 + 2.", answer="4")
    sampler = ScriptedSampler(lambda prompt, i: "\\boxed{2}" if "1 + 1" in prompt else f"\\boxed{{{3 + i % 2}}}")
    out = tmp_path / "dph.json"
    counts = prepare(sampler, scorer, [easy, mixed], SamplingParams(max_new_tokens=8), 4, 3, out)
    data = json.loads(out.read_text())
    assert counts == {"perfect": 1, "exploration": 1, "samples": 3}
    assert data["perfect"] == ["easy"] and data["exploration"] == ["mixed"]
    assert all(s["problem_id"] == "easy" and len(s["logprobs"]) == len(s["completion_ids"]) for s in data["samples"])
    method = Dph(make_cfg("dph", dph={"data": str(out), "chunk": 2}))
    assert [p.id for p in method.train_problems([easy, mixed])] == ["mixed"]
    first = method.rehearsal(5)
    assert len(first) == 2 and all(r.source == "reference" for r in first)
    assert [r.completion_ids for r in first] == [r.completion_ids for r in method.rehearsal(5)]


def test_dph_without_prepared_data_names_the_command(tmp_path):
    from rlvr.explore.dph import Dph

    with pytest.raises(FileNotFoundError, match="rlvr dph-prepare"):
        Dph(make_cfg("dph", dph={"data": str(tmp_path / "missing.json")}))


# ---- RGR-GRPO

def test_rgr_mixes_rubric_rewards_and_refines_with_the_unmet_criteria(scorer):
    from rlvr.explore.rgr import Rgr

    rubric = [{"id": "s1", "kind": "contains", "value": "= 3", "description": "reaches the intermediate result = 3"},
              {"id": "s2", "kind": "contains", "value": "= 6", "description": "reaches the intermediate result = 6"}]
    problem = Problem(id="p", domain="math", prompt="Compute 1 + 2 + 3.", answer="6", meta={"rubric": rubric})
    method = Rgr(make_cfg("rgr"))
    [attached] = method.train_problems([problem])
    half = scorer.score_many([(attached, "1 + 2 = 3, \\boxed{7}")])[0]
    assert half.reward == pytest.approx(0.5 * 0 + 0.5 * 0.5) and not half.correct
    sampler = ScriptedSampler(lambda prompt, i: "1 + 2 = 3\n3 + 3 = 6\n\\boxed{6}" if "It missed" in prompt
                              else "\\boxed{7}")
    group = group_of(attached, ["1 + 2 = 3, \\boxed{7}", "1 + 2 = 3\n3 + 3 = 6 \\boxed{6}"], scorer)
    ctx = context(sampler, scorer)
    [out] = method.expand([group], ctx)
    feedback_prompt = sampler.calls[0][0][0]
    assert "It missed: reaches the intermediate result = 6" in feedback_prompt and "= 3\n" not in feedback_prompt[-40:]
    assert [r.source for r in out.rollouts] == ["policy", "policy", "refined"]
    assert out.rollouts[-1].score.reward == pytest.approx(1.0)
    assert ctx.stats.extra == {"rgr_refined": 1, "rgr_refined_joined": 1}


# ---- configuration and the learner

@pytest.mark.parametrize("cfg, message", [
    ({"method": {"name": "dars"}, "algo": {"advantage": "grpo"}}, "set algo.advantage: dr_grpo"),
    ({"method": {"name": "dars"}, "algo": {"advantage": "dr_grpo"}, "rollout": {"dynamic_sampling": True}},
     "dynamic_sampling"),
    ({"method": {"name": "guide"}, "algo": {"loss": "gspo"}}, "ppo_clip"),
    ({"method": {"name": "rgr"}, "algo": {"advantage": "pass_at_k"}}, "pass_at_k"),
    ({"method": {"name": "dph"}, "algo": {"kl_estimator": "k3"}}, "kl_estimator"),
    ({"method": {"name": "dars_b"}, "learner": {"minibatch_size": 64}}, "minibatch_size: null"),
    ({"method": {"name": "nope"}}, "name: unknown method 'nope'; valid: ampo, dars"),
])
def test_refused_combinations_are_named_at_validation(cfg, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        TrainConfig(model="x", **cfg)


def test_a_method_brings_its_own_defaults_for_settings_left_unset():
    dars = TrainConfig(method={"name": "dars"})
    assert dars.algo.advantage == "dr_grpo" and not dars.rollout.dynamic_sampling  # it drops all-same groups itself
    assert TrainConfig().rollout.dynamic_sampling and TrainConfig().algo.advantage == "grpo"
    assert TrainConfig(method={"name": "ampo"}).algo.advantage == "dr_grpo"


def mixed_batch(aggregation: str):
    """On-policy, hinted, teacher and rehearsal rows of different lengths; one group all right (A = 0)."""
    from rlvr.train.learner import build_batch

    def rollout(i, source):
        return Rollout(problem_id="p", prompt_ids=[1, 5, 6 + i], completion_ids=[7 + i, 8, 9][: 2 + i % 2], text="",
                       logprobs=[-1.0 - 0.1 * i] * (2 + i % 2), source=source,
                       score=Score(reward=float(i % 2), correct=bool(i % 2)))
    problem = math_problem()
    groups = [Group(problem, [rollout(i, s) for i, s in enumerate(["policy", "policy", "hint", "teacher"])],
                    [False] * 4), Group(problem, [rollout(i + 4, "policy") for i in range(3)], [False] * 3),
              Group(problem, [rollout(2 * i + 1, "policy") for i in range(2)], [False] * 2)]  # all right: A = 0
    return build_batch(groups, AlgoConfig(advantage="dr_grpo", aggregation=aggregation), False, 0,
                       rehearsal=[rollout(9, "reference")])


def policy_gradient(model_dir, batch, aggregation: str, **options) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    from rlvr.train.learner import OffPolicySpec, UpdatePlan, update_policy

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    update_policy(model, optimizer, scheduler, batch, AlgoConfig(aggregation=aggregation),
                  UpdatePlan(grad_clip=1e9, **options), OffPolicySpec(divergence_coef=0.5),
                  generator=torch.Generator().manual_seed(0))
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("aggregation", ["token_mean", "seq_mean_token_mean", "token_sum_norm"])
def test_gradient_accumulation_over_microbatches_equals_one_full_batch(tiny_model_dir, aggregation):
    """DARS-B's whole-batch step: microbatches of 2 (length-sorted, each cut to its longest row)
    give the gradient of the batch at once, with on-policy, hinted, teacher and rehearsal rows
    mixed; skipping zero-advantage rows too."""
    batch = mixed_batch(aggregation)
    assert (batch.advantages == 0).sum() >= 2
    grads = [policy_gradient(tiny_model_dir, batch, aggregation, microbatch=micro, skip_zero_advantage=skip)
             for micro, skip in ((None, False), (2, False), (2, True), (None, True))]
    assert grads[0].abs().sum() > 0
    for other in grads[1:]:  # microbatches, and skipping rows whose advantage is 0, change nothing
        assert torch.allclose(grads[0], other, atol=1e-6)


def shared_prompt_batch():
    """Two groups whose rollouts share their prompt (one hinted row trained without its hint), of
    different completion lengths, and a rehearsal row with a prompt of its own."""
    from rlvr.train.learner import build_batch

    def rollout(prompt, i, source="policy"):
        completion = [7 + i, 8, 9, 10, 11][: 1 + i % 4]
        return Rollout(problem_id="p", prompt_ids=prompt, completion_ids=completion, text="",
                       logprobs=[-1.0 - 0.1 * i] * len(completion), source=source,
                       score=Score(reward=float(i % 2), correct=bool(i % 2)))
    short, long = [1, 5, 6], [1, 5, 7, 8, 9, 12]
    groups = [Group(math_problem(), [rollout(short, i) for i in range(3)], [False] * 3),
              Group(math_problem(), [rollout(long, i) for i in range(3)] + [rollout(long, 5, "hint")], [False] * 4)]
    return build_batch(groups, AlgoConfig(advantage="dr_grpo"), False, 0, rehearsal=[rollout([2, 3], 2, "reference")])


def test_shared_prompt_forward_equals_whole_rows(tiny_model_dir):
    """Each prompt run once, its KV cache shared by its rollouts: the same log-probs, entropies and
    gradients as running every row whole, also when a microbatch splits a group."""
    from transformers import AutoModelForCausalLM

    from rlvr.train.forward import policy_logprobs, shared_prompt_logprobs

    batch = shared_prompt_batch()
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float64)
    whole = policy_logprobs(model, batch.input_ids, batch.attention_mask, batch.loss_mask, 0.8)
    shared = shared_prompt_logprobs(model, batch.input_ids, batch.attention_mask, batch.prompt_len,
                                    batch.loss_mask, 0.8)
    assert batch.loss_mask.sum() == (1 + 2 + 3) * 2 + 2 + 3  # every completion token is trained
    for a, b in zip(whole, shared):
        assert (a[batch.loss_mask == 0] == 0).all() and (b[batch.loss_mask == 0] == 0).all()
        assert torch.allclose(a, b, atol=1e-9)
    grads = [policy_gradient(tiny_model_dir, batch, "token_mean", share_prompts=share, microbatch=micro,
                             skip_zero_advantage=False)
             for share, micro in ((False, None), (True, None), (True, 3), (True, 2))]
    assert grads[0].abs().sum() > 0
    for other in grads[1:]:
        assert torch.allclose(grads[0], other, atol=1e-6)


def test_bf16_learner_gradient_is_close_to_float32(tiny_model_dir):
    batch = mixed_batch("token_mean")
    fp32 = policy_gradient(tiny_model_dir, batch, "token_mean")
    bf16 = policy_gradient(tiny_model_dir, batch, "token_mean", bf16=True)
    assert not torch.equal(fp32, bf16)  # the decoder really ran in bf16
    assert torch.nn.functional.cosine_similarity(fp32, bf16, dim=0) > 0.99
