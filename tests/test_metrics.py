from math import comb

import numpy as np
import pytest

from rlvr.eval.aggregate import aggregate, problem_metrics
from rlvr.eval.metrics import bootstrap_ci, borda_pick, maj_at_k, majority_pick, pass_at_k, self_certainty


@pytest.mark.parametrize("n, c, k", [(16, 3, 1), (16, 3, 4), (16, 3, 14), (16, 0, 4), (16, 16, 4), (10, 5, 5), (200, 7, 100)])
def test_pass_at_k_equals_the_combinatorial_form(n, c, k):
    expected = 1 - comb(n - c, k) / comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_hand_cases_and_errors():
    assert pass_at_k(4, 2, 1) == 0.5
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)  # C(2,2)/C(4,2)
    assert pass_at_k(4, 2, 3) == 1.0  # n - c < k
    with pytest.raises(ValueError):
        pass_at_k(4, 2, 5)
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)


def test_majority_and_tie_rule():
    assert majority_pick([2, 1, 1, 2, 3]) == 0  # clusters 2 and 1 tie at 2: the first seen (2) wins
    assert majority_pick([-1, 4, -1]) == 1
    assert majority_pick([-1, -1]) == -1
    assert maj_at_k([0, 1, 1, 1], [True, False, False, False], 4) == 0.0
    assert maj_at_k([0, 1, 1, 1], [False, True, True, True], 4) == 1.0
    # k=2: blocks [0,1] (tie -> 0, right) and [1,1] (1, wrong)
    assert maj_at_k([0, 1, 1, 1], [True, False, False, False], 2) == 0.5


def test_self_certainty_matches_the_kl_definition():
    logits = np.array([2.0, 0.5, -1.0, 0.0])
    logp = logits - np.log(np.exp(logits).sum())
    kl = float(-(logp.mean()) - np.log(4))  # KL(U || p) = -(1/V) sum log p - log V
    lse = float(np.log(np.exp(logits).sum()))
    assert self_certainty(lse, float(logits.mean()), 4) == pytest.approx(kl)


def test_borda_voting_by_hand():
    # certainty ranks: s3 (0.9) > s0 (0.8) > s1 (0.5) > s2 (0.1); N = 4
    certainty, clusters = [0.8, 0.5, 0.1, 0.9], [0, 1, 1, 0]
    # p=0.5: cluster 0 gets 4^.5 + 3^.5 = 3.73; cluster 1 gets 2^.5 + 1 = 2.41 -> s3
    assert borda_pick(certainty, clusters, 0.5) == 3
    # p=0 is plain majority: 2 vs 2, tie -> the cluster of the most certain sample
    assert borda_pick(certainty, clusters, 0.0) == 3
    assert borda_pick([0.9, 0.1, 0.2], [0, 1, 1], 0.5) == 2  # two mid votes beat one top vote


def test_bootstrap_interval_contains_the_mean_and_shrinks():
    rng = np.random.default_rng(0)
    small = rng.random(20)
    large = rng.random(2000)
    lo, hi = bootstrap_ci(small)
    assert lo <= small.mean() <= hi
    lo2, hi2 = bootstrap_ci(large)
    assert hi2 - lo2 < hi - lo


def _rows(correct, clusters, certainty=None):
    return [{"sample": i, "correct": c, "reward": float(c), "cluster": cl,
             "self_certainty": None if certainty is None else certainty[i]}
            for i, (c, cl) in enumerate(zip(correct, clusters))]


def test_problem_metrics_and_aggregation_labels():
    a = problem_metrics(_rows([True, False, False, False], [0, 1, 1, 1], [0.9, 0.1, 0.2, 0.3]), [1, 4])
    assert (a["pass@1"], a["pass@4"], a["avg@n"], a["maj@4"], a["bon_verifier"]) == (0.25, 1.0, 0.25, 0.0, 1.0)
    assert a["bon_certainty"] == 0.0  # 3 weak votes for the wrong answer beat the single top vote
    b = problem_metrics(_rows([True] * 4, [0] * 4), [1, 4])
    assert "bon_certainty" not in b  # no certainty recorded: not reported
    m = aggregate([("math", "t1", a), ("math", "t1", b), ("code", "t2", b)], [1, 4], n=4)
    assert m["overall"]["averaging"] == "micro over problems" and m["overall_macro"]["averaging"] == "macro over tasks"
    assert m["overall"]["pass@1"] == pytest.approx((0.25 + 1 + 1) / 3)
    assert m["overall_macro"]["pass@1"] == pytest.approx(((0.25 + 1) / 2 + 1) / 2)
    assert m["by_domain"]["math"]["problems"] == 2 and m["by_task"]["t2"]["pass@4"] == 1.0
    assert len(m["overall"]["pass@4_ci"]) == 2


def test_thinking_skipped_is_the_share_of_empty_thinking_blocks():
    from rlvr.sampling.thinking import skipped_thinking

    assert skipped_thinking("<think>\n</think>\n\n\\boxed{3}") and skipped_thinking(" </think> 3")
    assert not skipped_thinking("<think>\nx = 3\n</think>\n\n\\boxed{3}") and not skipped_thinking("\\boxed{3}")
    texts = ["<think>\n</think>\n\\boxed{1}", "<think>\n1 + 1 = 2\n</think>\n\\boxed{2}", "<think></think>2", "2"]
    rows = [{**row, "text": text} for row, text in zip(_rows([False, True, True, False], [0, 1, 1, 2]), texts)]
    assert problem_metrics(rows, [1])["thinking_skipped"] == 0.5
    m = aggregate([("math", "t", problem_metrics(rows, [1])), ("math", "t", problem_metrics(_rows([True], [0]), [1]))],
                  [1], n=4)
    assert m["overall"]["thinking_skipped"] == 0.25 and m["by_domain"]["math"]["thinking_skipped"] == 0.25


def test_verifier_errors_are_left_out_of_pass_at_k_and_counted():
    # 4 samples, 2 without a verdict: pass@k over the other 2 (1 right); k=4 > 2 verdicts: left out
    rows = _rows([True, False, False, False], [0, 1, 1, 1])
    rows[2]["error"] = rows[3]["error"] = True
    a = problem_metrics(rows, [1, 2, 4])
    assert (a["pass@1"], a["pass@2"], a["avg@n"], a["verifier_errors"]) == (0.5, 1.0, 0.5, 2)
    assert "pass@4" not in a and "maj@4" not in a
    none = problem_metrics([{**r, "error": True} for r in _rows([True] * 4, [0] * 4)], [1, 4])
    assert none == {"verifier_errors": 4, "problems_without_verdict": 1}
    full = problem_metrics(_rows([False] * 4, [0] * 4), [1, 2, 4])
    m = aggregate([("math", "t", a), ("math", "t", none), ("math", "t", full)], [1, 2, 4], n=4)
    assert m["overall"]["pass@1"] == pytest.approx(0.25)  # (0.5 + 0) / 2: the errors weigh nothing
    assert m["overall"]["pass@4"] == 0.0 and len(m["overall"]["pass@4_ci"]) == 2  # only `full` has 4 verdicts
    assert (m["by_task"]["t"]["verifier_errors"], m["overall"]["problems_without_verdict"]) == (6, 1)


def test_missing_answers_are_reported_per_task_and_warned_about(tmp_path):
    from rlvr.eval.aggregate import answer_warnings
    from rlvr.eval.report import write_report

    def sample(i, extracted, correct=False):
        return {"sample": i, "correct": correct, "reward": float(correct), "extracted": extracted, "text": "t"}

    silent = problem_metrics([sample(0, None), sample(1, None), sample(2, None), sample(3, "5", True)], [1])
    assert silent["no_answer"] == 0.75
    answering = problem_metrics([sample(0, "1"), sample(1, "2")], [1])
    assert answering["no_answer"] == 0.0
    metrics = aggregate([("code", "write_function", silent), ("math", "arith", answering)], [1], 4)
    assert metrics["by_task"]["write_function"]["no_answer"] == 0.75 and metrics["overall"]["no_answer"] == 0.375
    warnings = answer_warnings(metrics)
    assert len(warnings) == 1 and warnings[0].startswith("task write_function: 75% of samples have no answer")
    report = write_report(metrics, tmp_path).read_text()
    assert "**Warning:** task write_function: 75%" in report and "no answer extracted" in report
