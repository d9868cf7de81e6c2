import pytest

from rlvr.domains import GroundTruthError, verify
from tests.conftest import make

RUBRIC = [
    {"id": "profit", "kind": "number", "value": 250, "weight": 2},
    {"id": "divide", "kind": "contains", "value": "/ 1200", "weight": 1},
    {"id": "eq", "kind": "regex", "value": r"margin\s*=", "weight": 1},
    {"id": "root", "kind": "math", "value": r"\frac{\sqrt{2}}{2}", "weight": 1},
]
GOOD = "Profit is 1,200 - 950 = 250, margin = 250 / 1200; note $\\sqrt{2}/2 = \\frac{1}{\\sqrt{2}}$. \\boxed{20.83%}"


def problem(**combine):
    return make("tabular", "20.83%", rubric=RUBRIC, rubric_combine=combine or None)


def test_all_criteria_met_and_answer_right():
    s = verify(problem(), GOOD)
    assert (s.reward, s.correct, s.details["rubric_fraction"]) == (1.0, True, 1.0)
    assert [c["met"] for c in s.details["criteria"]] == [True] * 4


def test_weighted_fraction_and_modes():
    partial = "Profit is 250 so \\boxed{19%}"  # only 'profit' (weight 2 of 5)
    mix = verify(problem(mode="mix", answer_weight=0.5), partial)
    assert mix.reward == pytest.approx(0.5 * 0 + 0.5 * 2 / 5) and not mix.correct
    assert [c["id"] for c in mix.details["criteria"] if not c["met"]] == ["divide", "eq", "root"]
    assert verify(problem(mode="rubric"), partial).reward == pytest.approx(2 / 5)
    assert verify(problem(mode="fallback", answer_weight=0.5), partial).reward == pytest.approx(0.5 * 2 / 5)
    assert verify(problem(mode="fallback"), GOOD).reward == 1.0


def test_math_criterion_requires_an_equivalent_value():
    assert not verify(problem(mode="rubric"), "we get $\\frac{\\sqrt{3}}{2}$").details["criteria"][3]["met"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ([{"kind": "smell", "value": 1}], "kind"),
        ([{"kind": "regex", "value": "("}], "bad regex"),
        ([{"kind": "contains", "value": "x", "weight": -1}], "weight"),
    ],
)
def test_bad_rubrics_name_the_problem(bad, message):
    with pytest.raises(GroundTruthError, match=message):
        verify(make("math", "1", rubric=bad, id="r9"), "\\boxed{1}")
