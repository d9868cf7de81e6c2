"""Distillation: each loss against a hand computation, and `rlvr distill` end to end."""

import math

import pytest
import torch

from rlvr.distill.losses import DIVERGENCES, DistillLossConfig, on_policy_advantages, sequence_nll


def kl(p: list[float], q: list[float]) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q))


# two tokens' logits over a 3-entry vocabulary; by hand: softmax(log p) = p
STUDENT = [[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]]
TEACHER = [[0.25, 0.25, 0.5], [0.6, 0.3, 0.1]]


def logits(rows: list[list[float]], temperature: float = 1.0) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64).log() * temperature  # softmax(z / tau) = the row


def test_forward_and_reverse_kl_are_the_hand_computed_divergences():
    got_fwd = DIVERGENCES.get("forward_kl")(logits(STUDENT), logits(TEACHER))
    got_rev = DIVERGENCES.get("reverse_kl")(logits(STUDENT), logits(TEACHER))
    for i in range(2):
        assert float(got_fwd[i]) == pytest.approx(kl(TEACHER[i], STUDENT[i]), rel=1e-6)
        assert float(got_rev[i]) == pytest.approx(kl(STUDENT[i], TEACHER[i]), rel=1e-6)


def test_the_temperature_softens_both_and_scales_by_its_square():
    cfg = DistillLossConfig(temperature=2.0)
    got = DIVERGENCES.get("forward_kl")(logits(STUDENT, 2.0), logits(TEACHER, 2.0), cfg)
    assert float(got[0]) == pytest.approx(4 * kl(TEACHER[0], STUDENT[0]), rel=1e-6)


def test_generalized_jsd_by_hand_and_its_limits():
    beta = 0.3
    got = DIVERGENCES.get("gjsd")(logits(STUDENT), logits(TEACHER), DistillLossConfig(beta=beta))
    for i in range(2):
        m = [beta * s + (1 - beta) * t for s, t in zip(STUDENT[i], TEACHER[i])]
        assert float(got[i]) == pytest.approx(beta * kl(STUDENT[i], m) + (1 - beta) * kl(TEACHER[i], m), rel=1e-6)
    sym = DIVERGENCES.get("gjsd")(logits(STUDENT), logits(TEACHER), DistillLossConfig(beta=0.5))
    swapped = DIVERGENCES.get("gjsd")(logits(TEACHER), logits(STUDENT), DistillLossConfig(beta=0.5))
    assert torch.allclose(sym, swapped)  # beta 0.5: symmetric
    small = DIVERGENCES.get("gjsd")(logits(STUDENT), logits(TEACHER), DistillLossConfig(beta=1e-4))
    assert float(small[0]) / 1e-4 == pytest.approx(kl(STUDENT[0], TEACHER[0]), rel=1e-2)  # -> beta * reverse KL
    with pytest.raises(ValueError, match="beta"):
        DIVERGENCES.get("gjsd")(logits(STUDENT), logits(TEACHER), DistillLossConfig(beta=1.0))


def test_sequence_nll_and_on_policy_advantages():
    nll = sequence_nll(logits(STUDENT), torch.tensor([0, 2]))
    assert nll.tolist() == pytest.approx([-math.log(0.5), -math.log(0.7)])
    student = torch.tensor([[-1.0, -2.0, -0.5]])
    teacher = torch.tensor([[-0.5, -3.0, -0.5]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    adv = on_policy_advantages(student, teacher, mask, coef=2.0, verifier=torch.tensor([0.5]), verifier_coef=1.0)
    assert adv.tolist() == [[2 * 0.5 + 0.5, 2 * -1.0 + 0.5, 0.0]]  # teacher likes token 1 more, token 2 less


def config(tmp_path, teacher, name: str, **changes):
    from rlvr.distill.config import DistillConfig

    base = {"teacher": str(teacher), "new_student": {"hidden": 16, "layers": 1, "heads": 2}, "per_task": 1,
            "steps": 4, "batch_size": 6, "microbatch_size": 4, "max_new_tokens": 12, "lr": 3e-3, "seed": 1,
            "output": str(tmp_path / name), "evaluation": {"problems": 4, "n": 2, "before": False},
            "checkpointing": {"every": 2}, "verifier_workers": 1}
    base.update(changes)
    return DistillConfig.model_validate(base)


def steps(run_dir) -> list[dict]:
    from rlvr.train.records import read_metrics, steps_of

    return steps_of(read_metrics(run_dir))


def weights(run_dir) -> dict:
    from safetensors.torch import load_file

    latest = (run_dir / "checkpoints" / "latest").read_text().strip()
    return load_file(str(run_dir / "checkpoints" / latest / "model.safetensors"))


def test_a_student_that_is_its_teacher_has_zero_divergence_and_zero_distillation_reward(tmp_path, tiny_model_dir):
    from rlvr.distill.run import distill

    for loss in ("forward_kl", "reverse_kl", "gjsd"):
        cfg = config(tmp_path, tiny_model_dir, loss, loss=loss, student=str(tiny_model_dir), new_student=None, steps=1,
                     evaluation={"suite": None})
        distill(cfg, log=lambda line: None)
        assert abs(steps(cfg.output)[0]["loss"]) < 1e-5, loss
    cfg = config(tmp_path, tiny_model_dir, "on_policy", loss="on_policy", student=str(tiny_model_dir),
                 new_student=None, steps=1, rollouts_per_prompt=2, evaluation={"suite": None})
    distill(cfg, log=lambda line: None)
    row = steps(cfg.output)[0]
    assert abs(row["reverse_kl_estimate"]) < 1e-5 and row["sampled_tokens"] > 0 and "reward_mean" in row


def test_distillation_lowers_the_divergence_and_resumes_exactly(tmp_path, tiny_model_dir):
    from rlvr.distill.run import distill

    # every step on the same 12 sequences (batch = all problems): the loss must fall
    whole = config(tmp_path, tiny_model_dir, "whole", steps=6, batch_size=64, microbatch_size=16)
    report = distill(whole, log=lambda line: None)
    losses = [r["loss"] for r in steps(whole.output)]
    assert losses[-1] < 0.9 * losses[0], losses
    assert report.read_text().startswith("# rlvr distill") and (whole.output / "eval-after" / "metrics.json").exists()
    # stopped after step 4 and resumed to 6: the weights of the uninterrupted run
    parts = config(tmp_path, tiny_model_dir, "parts", steps=4, batch_size=64, microbatch_size=16,
                   evaluation={"suite": None})
    distill(parts, log=lambda line: None)
    distill(parts.model_copy(update={"steps": 6}), resume=True, log=lambda line: None)
    resumed, uninterrupted = weights(parts.output), weights(whole.output)
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in uninterrupted)
    assert [r["step"] for r in steps(parts.output)] == [1, 2, 3, 4, 5, 6]


def test_stored_teacher_logits_give_the_live_teachers_loss_and_free_the_teacher(tmp_path, tiny_model_dir):
    from rlvr.distill.run import distill, load_problems, setup

    live = config(tmp_path, tiny_model_dir, "live", steps=1, evaluation={"suite": None})
    stored = config(tmp_path, tiny_model_dir, "stored", steps=1, precompute_teacher=True, evaluation={"suite": None})
    for cfg in (live, stored):
        distill(cfg, log=lambda line: None)
    assert steps(stored.output)[0]["loss"] == pytest.approx(steps(live.output)[0]["loss"], rel=1e-3)  # float16 storage
    (tmp_path / "again").mkdir()
    state, _ = setup(stored.model_copy(update={"output": tmp_path / "again"}), None, load_problems(stored), print)
    assert state.teacher is None and state.cache  # the run holds the student alone
    top = config(tmp_path, tiny_model_dir, "top", steps=1, precompute_teacher=True, teacher_top_k=8,
                 evaluation={"suite": None})
    distill(top, log=lambda line: None)
    values, indices = next(iter(torch.load(top.output / "teacher-logits.pt").values()))
    assert values.shape[1] == indices.shape[1] == 8


def test_on_policy_distillation_trains_on_a_file_of_problems_without_solutions(tmp_path, tiny_model_dir):
    import json

    from rlvr.distill.run import distill

    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps({"id": f"m{i}", "domain": "math", "prompt": f"What is {i} + 1?",
                                        "answer": str(i + 1)}) + "\n" for i in range(6)))
    cfg = config(tmp_path, tiny_model_dir, "file", loss="on_policy", data=str(data), suite=None, steps=2,
                 rollouts_per_prompt=2, verifier_coef=1.0, evaluation={"suite": None})
    distill(cfg, log=lambda line: None)
    assert [r["step"] for r in steps(cfg.output)] == [1, 2]
    with pytest.raises(ValueError, match="reference solution"):  # the ground truth is what the default trains on
        distill(config(tmp_path, tiny_model_dir, "gt", data=str(data), suite=None), log=lambda line: None)


def test_sequence_kd_on_the_samples_of_an_rlvr_eval_run(tmp_path, tiny_model_dir):
    import json

    from transformers import AutoTokenizer
    from typer.testing import CliRunner

    from rlvr.cli import app
    from rlvr.distill.run import distill, fixed_sequences, load_problems
    from rlvr.sampling.thinking import Thinking, encode_prompt

    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps({"id": f"m{i}", "domain": "math", "prompt": f"What is {i} + 1?",
                                        "answer": str(i + 1)}) + "\n" for i in range(3)))
    evaluated = tmp_path / "teacher-eval"
    result = CliRunner().invoke(app, ["eval", "--model", str(tiny_model_dir), "--data", str(data), "--n", "2", "--k",
                                      "1", "--max-new-tokens", "8", "--thinking", "empty", "-o", str(evaluated)])
    assert result.exit_code == 0, result.stdout
    samples = evaluated / "samples.jsonl"
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    for row in rows:  # the random teacher solves nothing: say it solved m1, to see the filter
        row["correct"] = row["problem_id"] == "m1"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))

    cfg = config(tmp_path, tiny_model_dir, "kd", loss="forward_kl", sequences="teacher", teacher_samples=[str(samples)],
                 data=str(data), suite=None, steps=2, precompute_teacher=True, evaluation={"suite": None})
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    problems = load_problems(cfg)
    kept = fixed_sequences(cfg, problems, tokenizer, None, log=lambda line: None)
    assert list(kept) == ["m1"] and [s.index for s in kept["m1"]] == [0, 1]
    prompt = encode_prompt(tokenizer, problems[1].prompt, Thinking("empty"))  # the mode the samples were drawn in
    for seq, row in zip(kept["m1"], [r for r in rows if r["problem_id"] == "m1"]):
        assert seq.ids[: seq.prompt_len] == prompt
        completion = seq.ids[seq.prompt_len :]
        ends = row["finish_reason"] != "length"
        assert (completion[-1] == tokenizer.eos_token_id) == ends
        assert tokenizer.decode(completion[:-1] if ends else completion) == row["text"]
    everything = fixed_sequences(cfg.model_copy(update={"teacher_samples_correct_only": False}), problems, tokenizer,
                                 None, log=lambda line: None)
    assert {k: len(v) for k, v in everything.items()} == {"m0": 2, "m1": 2, "m2": 2}
    distill(cfg, log=lambda line: None)  # trains on m1's two samples; their logits stored apart
    assert [r["step"] for r in steps(cfg.output)] == [1, 2]
    assert set(torch.load(cfg.output / "teacher-logits.pt")) == {"m1#0", "m1#1"}
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "x9", "domain": "math", "prompt": "1?", "answer": "1"}) + "\n")
    with pytest.raises(ValueError, match="no correct samples of this run's problems among 6 rows"):
        distill(cfg.model_copy(update={"data": other, "output": tmp_path / "none"}), log=lambda line: None)
    with pytest.raises(ValueError, match="sequences: teacher"):
        config(tmp_path, tiny_model_dir, "x", teacher_samples=[str(samples)])


def test_bad_distillation_configs_are_one_clear_error(tmp_path, tiny_model_dir):
    from pydantic import ValidationError

    from rlvr.distill.run import distill
    from rlvr.models.tiny import build_model, build_tokenizer, save

    with pytest.raises(ValidationError, match="exactly one of student"):
        config(tmp_path, tiny_model_dir, "x", student=str(tiny_model_dir))
    with pytest.raises(ValidationError, match="give the problems"):
        config(tmp_path, tiny_model_dir, "x", suite=None)
    with pytest.raises(ValidationError, match="needs the teacher live"):
        config(tmp_path, tiny_model_dir, "x", loss="on_policy", precompute_teacher=True)
    other = build_tokenizer(["completely different words here"] * 4, vocab_size=300)
    student = save(build_model(other, hidden=16, layers=1, heads=2), other, tmp_path / "other")
    with pytest.raises(ValueError, match="different vocabularies"):
        distill(config(tmp_path, tiny_model_dir, "x", student=str(student), new_student=None), log=print)


def test_distill_study_runs_each_loss_and_temperature_and_scores_fidelity(tmp_path, tiny_model_dir):
    import json

    from rlvr.study.distill import DistillStudyConfig, run_distill_study

    study = DistillStudyConfig(teacher=str(tiny_model_dir), students={"small": {"hidden": 16, "layers": 1,
                               "heads": 2}, "smaller": {"hidden": 8, "layers": 1, "heads": 2}}, base_sft_steps=2,
                               losses=["sft", "forward_kl", "on_policy"], temperatures=[1.0, 2.0], seeds=[0],
                               steps=2, batch_size=4, max_new_tokens=8, eval_problems=4, eval_n=2,
                               fidelity_problems=4, workers=1, output=tmp_path / "study")
    text = run_distill_study(study, log=lambda line: None).read_text()
    for row in ("| small | base |", "| small | sft |", "| small | forward_kl τ=1 |", "| smaller | forward_kl τ=2 |", "| smaller | on_policy |"):
        assert row in text, row
    assert text.index("| small | base |") < text.index("| small | sft |") < text.index("| smaller | base |")
    per_domain = text.split("Held-out pass@1 per domain")[1].split("## ")[0]
    evaluated = json.loads((tmp_path / "study" / "smaller-on_policy-s0" / "eval-after" / "metrics.json").read_text())
    assert all(f" {d} |" in per_domain.splitlines()[2] for d in evaluated["by_domain"])
    assert "| smaller | on_policy |" in per_domain
    scores = json.loads((tmp_path / "study" / "small-forward_kl-t2-s0" / "fidelity.json").read_text())
    assert 0 <= scores["agreement"] <= 1 and scores["forward_kl"] >= 0 and scores["tokens"] > 0
    logged = []
    run_distill_study(study, log=logged.append)
    assert all(line.endswith("done") for line in logged) and len(logged) == 8  # the bases are not scored again


def test_spearman_on_hand_made_ranks():
    from rlvr.study.distill import spearman

    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [1, 1, 1]) == 0.0  # no variation: no correlation


def test_distill_claims_do_not_judge_fidelity_when_no_setting_solves_anything():
    from rlvr.study.distill import claims

    cells = {("s", name): [{"pass@1": 0.0, "agreement": a}] for name, a in
             (("sft", 0.5), ("forward_kl τ=1", 0.6), ("forward_kl τ=2", 0.4))}
    assert "**inconclusive** (every setting has pass@1 0.0" in claims(cells, ["s"])[-1]
    cells[("s", "sft")] = [{"pass@1": 0.1, "agreement": 0.5}]
    assert "Spearman" in claims(cells, ["s"])[-1]


def test_a_difference_within_the_evaluations_sampling_error_is_inconclusive():
    from rlvr.study.distill import judge

    # pass@1 about 0.05 over 48 problems: two means differ by chance by up to sqrt(2 * .05 * .95 / 48) = 4.4 points
    assert "sampling error, ±4.4" in judge(True, 0.03, 0.01, 0.05, 48, 2)
    assert judge(True, 0.06, 0.01, 0.05, 48, 2) == "**reproduced**"
    assert judge(False, 0.03, 0.0, 0.05, 4800, 2) == "**not reproduced**"  # many problems: a real difference
    assert "spread over seeds" in judge(True, 0.03, 0.05, 0.05, 48, 2)


def test_the_fidelity_claim_is_judged_within_each_student():
    from rlvr.study.distill import claims

    def cells(slope: float) -> dict:  # the big student: more faithful and more accurate than the small one
        out = {}
        for size, agree0, acc0 in (("big", 0.8, 0.3), ("small", 0.6, 0.1)):
            for i, name in enumerate(("sft", "forward_kl τ=1", "forward_kl τ=2", "forward_kl τ=5")):
                out[(size, name)] = [{"pass@1": acc0 + slope * 0.01 * i, "agreement": agree0 + 0.01 * i}]
        return out

    against = claims(cells(-1.0), ["big", "small"])[-1]  # within a student, more fidelity, less accuracy
    assert "big alone -1.00, small alone -1.00" in against and "**reproduced**" in against
    assert "= +0.5" in against  # pooled, the size difference alone correlates them
    assert "**not reproduced**" in claims(cells(1.0), ["big", "small"])[-1]


def test_the_distillation_recipe_parses():
    from pathlib import Path

    from rlvr.config import load_config
    from rlvr.distill.config import DistillConfig

    cfg = load_config(Path(__file__).parents[1] / "recipes" / "distill_tiny_reasoner.yaml", DistillConfig)
    assert cfg.loss == "forward_kl" and cfg.temperature == 2.0 and cfg.new_student.hidden == 128
