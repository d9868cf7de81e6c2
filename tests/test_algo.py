"""Each estimator/loss against a case computed by hand, plus a GRPO loss/gradient parity check."""

import math

import pytest
import torch

from rlvr.algo.advantages import ADVANTAGES, AdvantageConfig
from rlvr.algo.kl import KL_ESTIMATORS
from rlvr.algo.losses import AGGREGATIONS, POLICY_LOSSES, LossConfig
from rlvr.algo.registry import Registry

R = torch.tensor([1.0, 0, 0, 0, 1, 1, 0, 0])
G = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])


def test_grpo_by_hand():
    # group 0: mean 0.25, population std sqrt(3)/4 -> (1-.25)/(.433) = 1.732, (0-.25)/.433 = -0.577
    a = ADVANTAGES.get("grpo")(R, G)
    assert a[:4].tolist() == pytest.approx([math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3)], abs=1e-4)
    assert a[4:].tolist() == pytest.approx([1, 1, -1, -1], abs=1e-4)


def test_dr_grpo_and_rloo_by_hand():
    assert ADVANTAGES.get("dr_grpo")(R, G).tolist() == pytest.approx([0.75, -0.25, -0.25, -0.25, 0.5, 0.5, -0.5, -0.5])
    # RLOO: r_i - mean(others): 1 - 0 = 1; 0 - 1/3; group 1: 1 - 1/3 = 2/3; 0 - 2/3
    assert ADVANTAGES.get("rloo")(R, G).tolist() == pytest.approx([1, -1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3])


def test_pass_at_k_advantage_by_hand():
    a = ADVANTAGES.get("pass_at_k")(R, G, AdvantageConfig(k=2))
    # group 0: n=4, n_neg=3, k=2: R = 1 - C(3,2)/C(4,2) = 0.5, s = 0.5; A+ = 1, A- = (0.5 - 2/3)/0.5 = -1/3
    assert a[:4].tolist() == pytest.approx([1, -1 / 3, -1 / 3, -1 / 3], abs=1e-5)
    # group 1: n_neg=2: R = 1 - 1/6 = 5/6, s = sqrt(5)/6; A+ = (1/6)/s = 1/sqrt(5), A- = (1/6 - 1/3)/s = -1/sqrt(5)
    assert a[4:].tolist() == pytest.approx([1 / math.sqrt(5)] * 2 + [-1 / math.sqrt(5)] * 2, abs=1e-5)
    all_right = ADVANTAGES.get("pass_at_k")(torch.ones(4), torch.zeros(4, dtype=torch.long), AdvantageConfig(k=2))
    assert all_right.tolist() == [0, 0, 0, 0]


def test_ppo_clip_by_hand():
    old = torch.zeros(1, 4)
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.1, 1.0]]))  # ratios
    mask = torch.tensor([[1.0, 1, 1, 0]])
    loss, m = POLICY_LOSSES.get("ppo_clip")(logp, old, torch.tensor([2.0]), mask, LossConfig(eps_low=0.2, eps_high=0.28))
    # A = 2: max(-2r, -2 clip(r, .8, 1.28)) = [-2.56, -1.0, -2.2, 0(masked)]
    assert loss[0].tolist() == pytest.approx([-2.56, -1.0, -2.2, 0.0])
    assert m["clip_frac_high"] == pytest.approx(1 / 3) and m["clip_frac_low"] == 0
    neg, m = POLICY_LOSSES.get("ppo_clip")(logp, old, torch.tensor([-1.0]), mask, LossConfig())
    # A = -1: max(r, clip(r, .8, 1.2)) = [1.5, 0.8, 1.1]
    assert neg[0, :3].tolist() == pytest.approx([1.5, 0.8, 1.1]) and m["clip_frac_low"] == pytest.approx(1 / 3)


def test_dual_clip_bounds_negative_advantage_losses():
    logp = torch.log(torch.tensor([[10.0, 2.0]]))
    loss, m = POLICY_LOSSES.get("ppo_clip")(logp, torch.zeros(1, 2), torch.tensor([-1.0]), torch.ones(1, 2),
                                            LossConfig(dual_clip=3.0))
    assert loss[0].tolist() == pytest.approx([3.0, 2.0]) and m["dual_clip_frac"] == 0.5


def test_gspo_sequence_ratio_by_hand():
    logp = torch.tensor([[0.1, 0.3, 5.0]])  # third token masked out
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    loss, _ = POLICY_LOSSES.get("gspo")(logp, torch.zeros(1, 3), torch.tensor([1.0]), mask,
                                        LossConfig(eps_low=0.5, eps_high=0.5))
    s = math.exp(0.2)  # exp(mean of 0.1, 0.3)
    assert loss[0].tolist() == pytest.approx([-s, -s, 0.0])


def test_aggregations_by_hand():
    loss = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    assert AGGREGATIONS.get("token_mean")(loss, mask).item() == pytest.approx(10 / 4)
    assert AGGREGATIONS.get("seq_mean_token_mean")(loss, mask).item() == pytest.approx((2 + 4) / 2)
    assert AGGREGATIONS.get("token_sum_norm")(loss, mask, LossConfig(max_len=5)).item() == pytest.approx(10 / 10)


def test_kl_estimators_by_hand():
    logp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])  # p/q = 2
    assert KL_ESTIMATORS.get("k1")(logp, ref).item() == pytest.approx(math.log(2))
    assert KL_ESTIMATORS.get("k2")(logp, ref).item() == pytest.approx(math.log(2) ** 2 / 2)
    assert KL_ESTIMATORS.get("k3")(logp, ref).item() == pytest.approx(0.5 - math.log(0.5) - 1)
    assert KL_ESTIMATORS.get("k3")(ref, ref).item() == 0.0


def test_registry_rejects_duplicates_and_lists_names():
    reg = Registry("thing")
    reg.register("a")(lambda: 0)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(lambda: 1)
    with pytest.raises(TypeError):
        reg.register("b")(3)
    with pytest.raises(KeyError, match="valid: a"):
        reg.get("zzz")
    with pytest.raises(KeyError, match="grpo"):
        ADVANTAGES.get("ppo")


def reference_grpo_token_mean_loss(logp, old_logp, rewards, group_size, mask, eps=0.2):
    """Written independently of rlvr: plain loops, the textbook formulas."""
    total, count = 0.0, 0.0
    for i in range(logp.shape[0]):
        g = i // group_size
        group = rewards[g * group_size : (g + 1) * group_size]
        mean = sum(group) / len(group)
        std = (sum((x - mean) ** 2 for x in group) / len(group)) ** 0.5
        adv = (rewards[i] - mean) / (std + 1e-6)
        for t in range(logp.shape[1]):
            if mask[i, t] > 0:
                ratio = torch.exp(logp[i, t] - old_logp[i, t])
                total = total + torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - eps, 1 + eps))
                count += 1
    return total / count


def test_grpo_token_mean_loss_and_gradients_match_a_reference():
    torch.manual_seed(0)
    b, t, group = 8, 6, 4
    old = torch.randn(b, t, dtype=torch.float64) * 0.3 - 2
    base = (old + torch.randn(b, t, dtype=torch.float64) * 0.3).detach()
    rewards = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    mask = (torch.rand(b, t) > 0.2).double()
    ours_logp = base.clone().requires_grad_(True)
    adv = ADVANTAGES.get("grpo")(torch.tensor(rewards, dtype=torch.float64), torch.arange(b) // group)
    per_token, _ = POLICY_LOSSES.get("ppo_clip")(ours_logp, old, adv, mask, LossConfig())
    ours = AGGREGATIONS.get("token_mean")(per_token, mask)
    ours.backward()
    ref_logp = base.clone().requires_grad_(True)
    ref = reference_grpo_token_mean_loss(ref_logp, old, rewards, group, mask)
    ref.backward()
    assert ours.item() == pytest.approx(ref.item(), abs=1e-6)
    assert torch.allclose(ours_logp.grad, ref_logp.grad, atol=1e-6)


def test_rollout_corrections_by_hand():
    from rlvr.algo.rollout_correction import ROLLOUT_CORRECTIONS, mismatch_metrics

    # trainer / engine probabilities of 3 sampled tokens (row 0) and 2 (row 1, one padding slot)
    trainer = torch.log(torch.tensor([[0.5, 0.9, 0.3], [0.2, 0.4, 1.0]]))
    engine = torch.log(torch.tensor([[0.1, 0.9, 0.6], [0.4, 0.4, 1.0]]))
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    # token ratios r = 5, 1, 0.5 | 0.5, 1
    tis, kept = ROLLOUT_CORRECTIONS.get("tis")(trainer, engine, mask, "token", 0.0, 2.0)
    assert torch.allclose(tis, torch.tensor([[2.0, 1.0, 0.5], [0.5, 1.0, 0.0]])) and torch.equal(kept, mask)
    # sequence ratios: 5 * 1 * 0.5 = 2.5 -> capped at 2; 0.5 * 1 = 0.5
    seq, _ = ROLLOUT_CORRECTIONS.get("tis")(trainer, engine, mask, "sequence", 0.0, 2.0)
    assert torch.allclose(seq, torch.tensor([[2.0, 2.0, 2.0], [0.5, 0.5, 0.0]]))
    mis, kept = ROLLOUT_CORRECTIONS.get("mis")(trainer, engine, mask, "token", 0.6, 2.0)
    assert torch.allclose(mis, torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]))
    assert torch.equal(kept, torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]))
    mis_seq, kept = ROLLOUT_CORRECTIONS.get("mis")(trainer, engine, mask, "sequence", 0.4, 2.0)
    assert torch.equal(kept, torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]))  # 2.5 out, 0.5 in
    assert torch.allclose(mis_seq, torch.tensor([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0]]))

    m = mismatch_metrics(trainer, engine, mask, tis, mask)
    ratios = torch.tensor([5.0, 1.0, 0.5, 0.5, 1.0])
    assert m["mismatch_ratio_min"] == pytest.approx(0.5) and m["mismatch_ratio_max"] == pytest.approx(5.0)
    assert m["mismatch_ratio_mean"] == pytest.approx(1.6)
    assert m["mismatch_abs_logp_max"] == pytest.approx(math.log(5))
    assert m["mismatch_kl"] == pytest.approx(float((ratios - 1 - ratios.log()).mean()), rel=1e-6)
    w = torch.tensor([2.0, 1.0, 0.5, 0.5, 1.0])
    assert m["mismatch_ess"] == pytest.approx(float(w.sum() ** 2 / (5 * (w**2).sum())), rel=1e-6)
    assert m["mismatch_masked"] == 0.0
    assert mismatch_metrics(trainer, engine, mask, mis, kept)["mismatch_masked"] == pytest.approx(3 / 5)


def test_the_correction_stage_recomputes_old_logprobs_and_weights_the_policy_loss(tiny_model_dir):
    """Behaviour log-probs from an 'engine' that is off by log 3 on one token: the stage replaces
    them with the trainer's, weights that token min(r, c_max), and with no mismatch changes nothing."""
    from transformers import AutoModelForCausalLM

    from rlvr.config import AlgoConfig, RolloutCorrection
    from rlvr.problems import Problem, Rollout, Score
    from rlvr.rollouts import Group
    from rlvr.train.forward import policy_logprobs
    from rlvr.train.learner import UpdatePlan, build_batch, correct_engine_mismatch

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    prompt, completions = [1, 5, 6], [[7, 8, 9], [10, 11]]
    rollouts = []
    for i, completion in enumerate(completions):
        ids = torch.tensor([prompt + completion])
        logp, _ = policy_logprobs(model, ids, torch.ones_like(ids), torch.ones(1, ids.shape[1] - 1), 1.0, False)
        own = logp[0, len(prompt) - 1 :].tolist()
        rollouts.append(Rollout(problem_id="p", prompt_ids=prompt, completion_ids=completion, text="", logprobs=own,
                                score=Score(reward=float(i), correct=bool(i))))
    rollouts[0].logprobs[1] -= math.log(3)  # the engine gave that token a third of the trainer's probability
    group = Group(Problem(id="p", domain="math", prompt="q", answer="1"), rollouts, [False, False])
    batch = build_batch([group], AlgoConfig(), False, 0)
    metrics = correct_engine_mismatch(model, batch, UpdatePlan(), RolloutCorrection(method="tis", c_max=2.0))
    assert metrics["mismatch_ratio_max"] == pytest.approx(3.0, rel=1e-4)
    assert metrics["mismatch_abs_logp_max"] == pytest.approx(math.log(3), rel=1e-4)
    weights = batch.is_weight[batch.loss_mask.bool()]
    assert sorted(weights.tolist())[-1] == pytest.approx(2.0)  # r = 3, capped at 2
    assert torch.isclose(weights, torch.ones(1), atol=1e-5).sum() == 4  # the others: no mismatch, weight 1
    p = len(prompt) - 1
    assert batch.old_logp[0, p + 1] == pytest.approx(rollouts[0].logprobs[1] + math.log(3), abs=1e-5)
