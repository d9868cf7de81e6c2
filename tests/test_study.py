"""`rlvr study explore` end to end on a random tiny model (mechanics: every method runs, the
budget is equal in sampled tokens, the summary is written, a rerun resumes)."""

import json

import pytest

from rlvr.study.explore import StudyConfig, run_config, run_study
from rlvr.train.loop import budget_reached


def test_the_budget_stops_at_the_nearest_step_boundary():
    assert not budget_reached(None, 10**9, 5) and not budget_reached(100, 0, 0)
    assert not budget_reached(100, 70, 2)  # mean step 35: the next one ends at 105, 5 past < 30 below now
    assert budget_reached(100, 80, 2)  # mean 40: the next ends 20 past, stopping leaves 20 below: stop
    assert budget_reached(40_000, 41_000, 1)  # one large step (DARS-B) already past the budget
    assert not budget_reached(40_000, 20_000, 1)


@pytest.mark.slow  # an end-to-end run: deselect with -m "not slow" for a quick loop
def test_study_runs_methods_to_an_equal_token_budget_and_resumes(tmp_path, tiny_model_dir):
    study = StudyConfig(model=str(tiny_model_dir), methods=["grpo", "dars", "dph"], seeds=[0], token_budget=60,
                        eval_problems=3, eval_n=4, prompts_per_step=2, rollouts_per_prompt=2, max_new_tokens=6,
                        workers=1, output=tmp_path / "study")
    summary = run_study(study, log=lambda line: None)
    text = summary.read_text()
    assert "| grpo |" in text and "| dars |" in text and "| dph |" in text and "claims" in text
    for method in study.methods:
        rows = [json.loads(x) for x in (tmp_path / "study" / f"{method}-s0" / "metrics.jsonl").read_text().splitlines()]
        spent = sum(r.get("sampled_tokens", 0) for r in rows)
        steps = [r["sampled_tokens"] for r in rows if "sampled_tokens" in r]
        assert budget_reached(60, spent, len(steps)) and not budget_reached(60, spent - steps[-1], len(steps) - 1)
        assert abs(spent - 60) <= max(steps)  # within one step of the budget, on either side
    stats = json.loads((tmp_path / "study" / "study.json").read_text())
    assert set(stats["methods"]) == {"grpo", "dars", "dph"} and stats["n"] == 4
    assert stats["methods"]["grpo"]["sampled_tokens"][0] == sum(
        json.loads(x).get("sampled_tokens", 0) for x in (tmp_path / "study" / "grpo-s0" / "metrics.jsonl").open())
    assert "| sampled tokens | steps |" in text
    assert (tmp_path / "study" / "pass_at_k.png").exists() and (tmp_path / "study" / "entropy.png").exists()
    logged = []
    run_study(study, log=logged.append)  # everything finished: nothing reruns
    assert all(line.endswith("done") for line in logged if "-s0" in line) and len(logged) == 3


def test_study_configs_follow_the_papers_settings(tmp_path):
    study = StudyConfig(output=tmp_path)
    assert run_config(study, "dars", 0).algo.advantage == "dr_grpo"
    assert run_config(study, "dars_b", 0).learner.minibatch_size is None
    assert run_config(study, "ampo", 0).algo.dual_clip == 10.0
    dph = run_config(study, "dph", 1)
    assert dph.method.dph.data == tmp_path / "dph.json" and dph.algo.eps_high == 0.28 and dph.seed == 1


def test_the_verdict_rule_on_hand_made_numbers():
    from rlvr.study.summary import claims, verdict

    assert verdict(True, 0.05, 0.01) == "**reproduced**"
    assert verdict(False, -0.05, 0.01) == "**not reproduced**"
    assert verdict(True, 0.01, 0.02).startswith("**inconclusive**")  # within the spread over seeds
    assert verdict(True, 0.02, 0.02).startswith("**inconclusive**")  # equal to it: still not a difference
    # GRPO over two seeds: pass@1 0.30 / 0.34 (start 0.25), pass@8 0.50 / 0.50 (start 0.55)
    stats = {"initial": {"pass@1": 0.25, "pass@8": 0.55},
             "methods": {"grpo": {"pass@1": [0.30, 0.34], "pass@8": [0.50, 0.50], "gained": [1, 1]},
                         "guide": {"pass@1": [0.3, 0.3], "pass@8": [0.5, 0.5], "gained": [3, 5]}}}
    lines = claims(stats, 8, 3)
    assert "narrows the gap to pass@8: **reproduced**" in lines[0]  # +7 points > sd 2; gap 30 -> 18
    assert "lowers pass@8: **reproduced**" in lines[1]  # 55 -> 50, seeds agree (sd 0)
    assert "guide solves more problems" in lines[2] and "**reproduced**" in lines[2]  # 4 vs 1, sd 1 and 0


def test_domain_study_trains_each_set_evaluates_all_six_domains_and_resumes(tmp_path, tiny_model_dir):
    from rlvr.study.domains import DOMAINS, DomainStudyConfig, run_domain_study

    study = DomainStudyConfig(model=str(tiny_model_dir), train_sets={"math": ["math"], "logic+tabular":
                              ["logic", "tabular"]}, seeds=[0], token_budget=40, eval_problems=12, eval_n=2,
                              prompts_per_step=2, rollouts_per_prompt=2, max_new_tokens=6, workers=1,
                              output=tmp_path / "domains")
    summary = run_domain_study(study, log=lambda line: None)
    text = summary.read_text()
    assert "| math |" in text and "| logic+tabular |" in text and "claims" in text
    trained = [json.loads(x) for x in (tmp_path / "domains" / "math-s0" / "rollouts.jsonl").open()]
    assert trained and {r["domain"] for r in trained} == {"math"}  # trained on its set only
    evaluated = [json.loads(x) for x in (tmp_path / "domains" / "math-s0" / "eval-after" / "samples.jsonl").open()]
    assert {r["domain"] for r in evaluated} == set(DOMAINS)  # evaluated on all six
    stats = json.loads((tmp_path / "domains" / "study.json").read_text())
    assert set(stats["gain"]) == {"math", "logic+tabular"} and set(stats["gain"]["math"]) == set(DOMAINS)
    assert (tmp_path / "domains" / "transfer.png").exists()
    logged = []
    run_domain_study(study, log=logged.append)
    assert logged == ["math-s0: done", "logic+tabular-s0: done"]


def test_domain_study_rejects_an_unknown_domain_before_any_run():
    from rlvr.study.domains import DomainStudyConfig

    with pytest.raises(ValueError, match="chemistry"):
        DomainStudyConfig(train_sets={"x": ["math", "chemistry"]})


def test_transfer_claims_on_hand_made_gains():
    from rlvr.study.domains import COMMON, DOMAINS, RARE, default_sets
    from rlvr.study.transfer import claims

    def gains(common: float, rare: float) -> dict:  # two seeds, +-0.01 apart
        return {d: {1: [v - 0.01, v + 0.01]} for d, v in [(d, common) for d in COMMON] + [(d, rare) for d in RARE]}

    # Guru's picture: common domains gain from the rare ones' training, rare ones need their own data
    matrix = {"all": gains(0.10, 0.10), "math+code+science": gains(0.10, 0.0), "logic+simulation+tabular":
              gains(0.05, 0.10), **{d: {e: {1: [0.0, 0.0]} for e in DOMAINS} for d in DOMAINS}}
    for d in DOMAINS:
        matrix[d][d] = {1: [0.08, 0.10]}
    lines = claims(matrix, default_sets())
    assert len(lines) == 4 and all("**reproduced**" in line for line in lines), lines
    # no transfer at all: the first two claims fail
    matrix["logic+simulation+tabular"] = gains(-0.05, 0.10)
    lines = claims(matrix, default_sets())
    assert "**not reproduced**" in lines[0] and "**not reproduced**" in lines[1]


def test_thinking_study_compares_modes_at_equal_token_budgets(tmp_path, tiny_model_dir):
    from rlvr.study.thinking import ThinkingStudyConfig, run_thinking_study

    study = ThinkingStudyConfig(model=str(tiny_model_dir), modes=["on", "empty", "budget:4"], problems=6, n=4,
                                max_new_tokens=10, workers=1, output=tmp_path / "thinking")
    text = run_thinking_study(study, log=lambda line: None).read_text()
    assert "| on |" in text and "| empty |" in text and "| budget:4 |" in text and "equal token budgets" in text
    stats = json.loads((tmp_path / "thinking" / "study.json").read_text())
    on, empty = stats["modes"]["on"]["overall"], stats["modes"]["empty"]["overall"]
    assert set(on["pass"]) == {"1", "2", "3", "4"} and on["tokens"] > 0 and empty["tokens"] > 0
    assert (tmp_path / "thinking" / "budget-4" / "samples.jsonl").exists()
    assert (tmp_path / "thinking" / "pass_at_k_tokens.png").exists()
    logged = []
    run_thinking_study(study, log=logged.append)
    assert logged == ["on: done", "empty: done", "budget:4: done"]


def test_equal_budget_matching_on_hand_made_curves():
    from rlvr.study.thinking import matched

    thinking = {"tokens": 100.0, "pass": {1: 0.3, 4: 0.5}}
    short = {"tokens": 20.0, "pass": {k: 0.1 * k for k in range(1, 21)}}
    assert matched(thinking, short, 4, 64) == (20, 0.5, 2.0)  # 400 tokens buy 20 short answers
    assert matched(thinking, short, 1, 64) == (5, 0.3, 0.5)
    assert matched(thinking, short, 4, 8) == (8, 0.5, 0.8)  # capped at the n = 8 samples drawn
    assert matched(thinking, {"tokens": 20.0, "pass": {}}, 4, 8) is None
