"""Hand-written right/wrong cases for science, logic, simulation and tabular."""

import pytest

from rlvr.domains import GroundTruthError, verify
from tests.conftest import make


@pytest.mark.parametrize(
    "completion, correct",
    [
        ("\\boxed{B}", True),
        ("Answer: (B)", True),
        ("The answer is B.", True),
        ("B) CO2", True),
        ("<think>A or B?</think>(B)", True),
        ("Answer: A", False),
        ("I am not sure", False),
    ],
)
def test_science_multiple_choice(completion, correct):
    assert verify(make("science", "B"), completion).correct is correct


def test_science_choice_object_and_letters_up_to_j():
    assert verify(make("science", {"choice": "J", "choices": list("ABCDEFGHIJ")}), "Answer: J").correct


@pytest.mark.parametrize(
    "answer, completion, correct",
    [
        (981, "\\boxed{981 N}", True),
        (981, "\\boxed{9.81 \\times 10^{2}}", True),
        (981, "Answer: 1,000 N", False),
        ("1,200 N", "\\boxed{1200}", True),
        ({"value": 9.81, "rtol": 0.001}, "\\boxed{9.8}", False),
        ({"value": 9.81, "rtol": 0.01}, "\\boxed{9.8}", True),
        ("photosynthesis", "Answer: Photosynthesis.", True),
    ],
)
def test_science_numeric_and_text(answer, completion, correct):
    assert verify(make("science", answer), completion).correct is correct


ZEBRA = {"header": ["House", "Name", "Pet"], "rows": [["1", "Alice", "cat"], ["2", "Bob", "dog"]]}


def test_zebra_partial_credit():
    full = verify(make("logic", ZEBRA, task="zebra"), '<answer>[["1","Alice","cat"],["2","Bob","dog"]]</answer>')
    half = verify(
        make("logic", ZEBRA, task="zebra"), '<answer>{"rows": [["1","alice","dog"],["2","Bob","cat"]]}</answer>'
    )
    prose = verify(make("logic", ZEBRA, task="zebra"), "<answer>Alice has the cat</answer>")
    assert (full.reward, full.correct) == (1.0, True)
    assert (half.reward, half.correct) == (2 / 4, False)  # the house numbers are not cells that score
    assert prose.reward == 0.0


@pytest.mark.parametrize("completion, reward", [
    ('[["1","Bob","dog"],["2","Alice","cat"]]', 0.0),  # every attribute wrong: 0, not the house column's 1/3
    ('{"solution": {"House 1": {"Name": "Alice", "Pet": "cat"}, "House 2": {"Name": "Bob", "Pet": "dog"}}}', 1.0),
    ('{"solution": {"House 2": {"Name": "Bob", "Pet": "cat"}, "House 1": {"Name": "Alice", "Pet": "cat"}}}', 0.75),
    ("[['1', 'Alice', 'cat'], ['2', 'Bob', 'dog']]", 1.0),  # a Python literal
    ('[["Alice","cat"],["Bob","dog"]]', 1.0),  # rows without the house column
    ('{"header": ["House", "Pet", "Name"], "rows": [[1, "cat", "Alice"], [2, "dog", "Bob"]]}', 1.0),
    ('[{"Name": "Alice", "Pet": "cat"}, {"Name": "Bob", "Pet": "cat"}]', 0.75),
])
def test_zebra_tables_in_the_forms_models_write(completion, reward):
    score = verify(make("logic", ZEBRA, task="zebra"), f"<answer>{completion}</answer>")
    assert score.reward == reward and score.correct is (reward == 1.0)


@pytest.mark.parametrize(
    "completion, correct",
    [
        ("<answer>Carol, Alice, Bob</answer>", True),
        ('<answer>["carol", "alice", "bob"]</answer>', True),
        ("<answer>Carol > Alice > Bob</answer>", True),
        ("<answer>Alice, Carol, Bob</answer>", False),
        ("<answer>Carol, Alice</answer>", False),
    ],
)
def test_ordering_exact_sequence(completion, correct):
    assert verify(make("logic", ["Carol", "Alice", "Bob"], task="ordering"), completion).correct is correct


@pytest.mark.parametrize(
    "completion, correct",
    [
        ("<answer>A -> C -> D</answer>", True),
        ("<answer>a, c, d</answer>", True),
        ("<answer>A -> B -> D</answer>", False),
        ("\\boxed{A C D E}", False),
    ],
)
def test_graph_path_exact_after_normalization(completion, correct):
    assert verify(make("logic", "A -> C -> D", task="graph_path"), completion).correct is correct


@pytest.mark.parametrize(
    "completion, correct",
    [
        ("<answer>\n0 1\n1 0\n</answer>", True),
        ("<answer>[[0,1],[1,0]]</answer>", True),
        ("```\n[[0, 1],\n [1, 0]]\n```", True),
        ("<answer>01\n10</answer>", True),
        ("<answer>[[0, 1], [1, 1]]</answer>", False),
        ("<answer>0 1</answer>", False),
    ],
)
def test_arc_grids(completion, correct):
    assert verify(make("logic", [[0, 1], [1, 0]], task="arc_agi"), completion).correct is correct


def test_logic_check_by_answer_shape_and_bad_check():
    assert verify(make("logic", [[1]]), "<answer>1</answer>").correct  # grid by shape
    with pytest.raises(GroundTruthError, match="meta.check"):
        verify(make("logic", "x", meta={"check": "sudoku"}), "x")


@pytest.mark.parametrize(
    "completion, correct",
    [
        ('```json\n{"items": [1, 2], "total": 3.0}\n```', True),
        ('<answer>{"total": 3, "items": [1, 2]}</answer>', True),
        ("<answer>{'total': 3, 'items': [1, 2]}</answer>", True),
        ('<answer>{"total": 4, "items": [1, 2]}</answer>', False),
        ('<answer>{"total": 3, "items": [2, 1]}</answer>', False),
        ("<answer>three</answer>", False),
    ],
)
def test_codeio_normalized_json(completion, correct):
    answer = {"style": "codeio", "value": {"total": 3, "items": [1, 2]}}
    assert verify(make("simulation", answer), completion).correct is correct


CRUX_OUT = {"style": "cruxeval", "mode": "output", "code": "def f(s):\n    return s[::-1] + 'x'\n", "input": "'ab'"}
CRUX_IN = {"style": "cruxeval", "mode": "input", "code": "def f(n):\n    return n * 2 + 1\n", "output": "7"}


@pytest.mark.parametrize(
    "answer, completion, correct",
    [
        (CRUX_OUT, "[ANSWER]assert f('ab') == 'bax'[/ANSWER]", True),
        (CRUX_OUT, "[ANSWER]'bax'[/ANSWER]", True),
        (CRUX_OUT, "[ANSWER]'abx'[/ANSWER]", False),
        (CRUX_IN, "[ANSWER]f(3)[/ANSWER]", True),
        (CRUX_IN, "<answer>3</answer>", True),
        (CRUX_IN, "[ANSWER]assert f(4) == 7[/ANSWER]", False),
        (CRUX_IN, "[ANSWER]__import__('os')._exit(0)[/ANSWER]", False),
    ],
)
def test_cruxeval_checked_by_execution(answer, completion, correct):
    assert verify(make("simulation", answer), completion).correct is correct


@pytest.mark.parametrize(
    "answer, completion, correct",
    [
        ("25%", "\\boxed{0.25}", True),
        ("25%", "\\boxed{25}", True),
        ("0.25", "\\boxed{25%}", True),
        ("25%", "\\boxed{20%}", False),
        ("1,234.5", "\\boxed{1234.6}", True),
        ("1234.5", "\\boxed{1240}", False),
        ("Germany|France", "\\boxed{France|Germany}", True),
        ("Germany|France", "\\boxed{France, Germany}", True),
        ("Germany|France", "\\boxed{Germany}", False),
        (["3", "4"], "\\boxed{4|3}", True),
        ("The United States", "\\boxed{united states}", True),
    ],
)
def test_tabular(answer, completion, correct):
    assert verify(make("tabular", answer), completion).correct is correct


@pytest.mark.parametrize("domain", ["science", "logic", "simulation", "tabular"])
def test_garbage_never_raises(domain):
    answers = {"science": "B", "logic": [[1]], "simulation": {"a": 1}, "tabular": "3"}
    for junk in ["", "\x00\x01", "\\boxed{", "<answer>" * 50, "}" * 1000, "{" * 5000]:
        score = verify(make(domain, answers[domain]), junk)
        assert score.reward == 0.0 and not score.error
