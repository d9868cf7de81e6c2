import threading

import pytest
import sympy
from math_verify import parse, verify

from rlvr.domains import GroundTruthError
from rlvr.domains import verify as rlvr_verify
from rlvr.domains.math import math_equal, numeric_agree
from tests.conftest import make

KNOWN_FALSE_POSITIVES = [
    (r"1-\frac{1}{e}", r"1+\frac{1}{e}"),
    (r"y=2x+1", r"y=3x+1"),
    (r"x+y-1=0", r"x-y+1=0"),
    (r"2x-y=0", r"x+2y=0"),
    ("4", r"4\sqrt(2)"),
]
TRUE_EQUIVALENCES = [
    (r"\frac{1}{2}", "0.5"),
    (r"\frac12", r"\frac{1}{2}"),
    (r"\frac{1}{2}", r"50\%"),
    (r"\{1,2,3\}", r"\{3,1,2\}"),
    (r"(1,2]", r"(1, 2]"),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1 & 2\\ 3 & 4\end{pmatrix}"),
    (r"y=2x+1", r"2x-y+1=0"),
    (r"4\sqrt{2}", r"\sqrt{32}"),
    ("x^2+2x+1", "(x+1)^2"),
    (r"\pi/2", r"\frac{\pi}{2}"),
]


@pytest.mark.parametrize("gold, pred", KNOWN_FALSE_POSITIVES)
def test_known_math_verify_false_positives_are_wrong(gold, pred):
    assert not math_equal(gold, pred)


def test_these_really_are_false_positives_of_plain_math_verify():
    # Unwrapped strings, as many pipelines pass them: math-verify reads only a prefix.
    assert verify(parse(r"1-\frac{1}{e}"), parse(r"1+\frac{1}{e}"))
    assert verify(parse("4"), parse(r"4\sqrt(2)"))


@pytest.mark.parametrize("gold, pred", TRUE_EQUIVALENCES)
def test_true_equivalences_stay_right(gold, pred):
    assert math_equal(gold, pred)


def test_numeric_guard_overrules_on_its_own():
    e = sympy.E
    assert not numeric_agree(1 - 1 / e, 1 + 1 / e)
    x, y = sympy.symbols("x y")
    assert not numeric_agree(sympy.Eq(2 * x - y, 0), sympy.Eq(x + 2 * y, 0))  # both "= 0", different lines
    assert numeric_agree(sympy.Eq(y, 2 * x + 1), sympy.Eq(2 * y, 4 * x + 2))
    assert numeric_agree(sympy.Interval(1, 2), sympy.Interval(1, 2))  # not scalar: defer to math-verify


def test_percent_only_where_the_problem_says_percent():
    percent = make("math", r"50\%", prompt="What percent of 8 is 4?")
    assert rlvr_verify(percent, "Answer: 50").correct
    plain = make("math", "0.5", prompt="What is 4/8?")
    assert not rlvr_verify(plain, "\\boxed{50}").correct


def test_math_scores_and_reasons():
    p = make("math", r"\frac{1}{2}")
    assert rlvr_verify(p, "\\boxed{0.5}").reward == 1.0
    wrong = rlvr_verify(p, "\\boxed{2}")
    assert (wrong.reward, wrong.extracted) == (0.0, "2")
    assert rlvr_verify(p, "no idea").reason == "no answer found"
    assert rlvr_verify(p, "\\boxed{\\frac{{{}").reward == 0.0  # garbage never raises


def test_missing_gold_is_a_ground_truth_error_naming_the_problem():
    with pytest.raises(GroundTruthError, match="m7"):
        rlvr_verify(make("math", None, id="m7"), "\\boxed{1}")


def test_scoring_from_threads_is_correct(scorer):
    # Other frameworks call math-verify from thread pools, where its signal timeouts fail and
    # everything scores 0. rlvr verifies in worker processes: threads get real answers.
    p = make("math", r"\frac{3}{4}")
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(scorer.score_many([(p, "\\boxed{0.75}")])[0])) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s.correct for s in results] == [True] * 4


@pytest.mark.parametrize("gold, completion", [
    ("7", "\\boxed{\\text{7}}"), ("7", "\\boxed{\\textbf{7}}"), ("7", "\\boxed{\\mathbf{7}}"),
    ("Evelyn", "\\boxed{\\text{Evelyn}}"), ("\\text{Evelyn}", "\\boxed{Evelyn}"), ("yes", "\\boxed{Yes}"), ("7", "\\boxed{7=x}"),
    ("no solution", "\\boxed{\\text{No solution}}"),
    ("7", "The total is $7$."), ("7", "so we get \\(7\\)"), ("7", "Natalia sold 48 + 24 = 72 clips.\n#### 7"),
    ("1000000", "\\boxed{1\\,000\\,000}"), ("1000", "\\boxed{1\\,000}"),
    ("x=7", "\\boxed{7=x}"), ("(1,2]", "\\boxed{1<x\\le 2}"), ("[1,2]", "\\boxed{1\\leq x\\leq 2}"),
    ("30", "\\boxed{30°}"), ("30^\\circ", "\\boxed{30°}"),
])
def test_forms_reasoning_models_write_are_accepted(gold, completion):
    assert rlvr_verify(make("math", gold), completion).correct, (gold, completion)


@pytest.mark.parametrize("gold, completion", [
    ("yes", "\\boxed{sey}"), ("no", "\\boxed{on}"), ("listen", "\\boxed{silent}"), ("(1,2]", "\\boxed{1<x<2}"),
    ("1000", "\\boxed{1\\,001}"), ("7", "The total is $7$ or maybe $8$."),
])
def test_lookalikes_are_rejected(gold, completion):
    assert not rlvr_verify(make("math", gold), completion).correct, (gold, completion)
