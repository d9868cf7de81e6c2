"""Each public format, from a small fixture written in that format, to Problems that score."""

import json
from collections import Counter

import pytest

from rlvr.domains import verify
from rlvr.problems import RecordError
from rlvr.suites import load_suite
from rlvr.suites.loaders import FORMATS, load_data
from rlvr.suites.synthetic import TASKS, synthetic_suite

FIXTURES = {
    "math": ([{"problem": "What is 1/2 + 1/4?", "answer": "\\frac{3}{4}", "unique_id": "m/1"},
              {"problem": "2+2?", "solution": "It is \\boxed{4}."}], "\\boxed{0.75}"),
    "gpqa": ([{"Question": "Which is a noble gas?", "Correct Answer": "Neon", "Incorrect Answer 1": "Iron",
               "Incorrect Answer 2": "Sodium", "Incorrect Answer 3": "Carbon", "Record ID": "g1"}], None),
    "mbpp": ([{"task_id": 2, "text": "Write add(a, b).", "code": "def add(a, b): return a + b",
               "test_list": ["assert add(1, 2) == 3"], "test_setup_code": ""}],
             "```python\ndef add(a, b):\n    return a + b\n```"),
    "livecodebench": ([{"question_id": "lcb1", "question_content": "Print twice the input.",
                        "public_test_cases": json.dumps([{"input": "2\n", "output": "4\n", "testtype": "stdin"}])}],
                      "```python\nprint(2 * int(input()))\n```"),
    "zebralogic": ([{"id": "z1", "puzzle": "Two houses...", "solution": {"header": ["House", "Name"],
                                                                         "rows": [["1", "Ann"], ["2", "Bo"]]}}],
                   '<answer>[["1", "Ann"], ["2", "Bo"]]</answer>'),
    "arc": ([{"id": "a1", "train": [{"input": [[1, 0]], "output": [[0, 1]]}],
              "test": [{"input": [[2, 0]], "output": [[0, 2]]}]}], "<answer>0 2</answer>"),
    "cruxeval": ([{"id": "c1", "code": "def f(x):\n    return x + 1\n", "input": "1", "output": "2"}],
                 "[ANSWER]2[/ANSWER]"),
    "cruxeval-i": ([{"id": "c1", "code": "def f(x):\n    return x + 1\n", "input": "1", "output": "2"}],
                   "[ANSWER]f(1)[/ANSWER]"),
    "codeio": ([{"id": "io1", "prompt": "What does g(2) return?", "output": json.dumps({"y": [2, 4]})}],
               '<answer>{"y": [2, 4]}</answer>'),
    "hitab": ([{"id": "h1", "question": "Total?", "table": [["a", "b"], [1, 2]], "answer": [3]}], "\\boxed{3}"),
    "multihiertt": ([{"uid": "mh1", "question": "Growth?", "table": "| x | 1 |", "answer": "12.5%"}],
                    "\\boxed{0.125}"),
    "finqa": ([{"id": "f1", "pre_text": ["Revenue table:"], "post_text": [], "table": [["rev", "100"]],
                "qa": {"question": "Revenue?", "exe_ans": 100.0}}], "\\boxed{100}"),
}


def test_every_format_has_a_fixture():
    assert set(FIXTURES) == set(FORMATS)


@pytest.mark.parametrize("fmt", sorted(FIXTURES))
def test_format_fixture_loads_and_its_right_answer_scores(tmp_path, fmt):
    rows, right = FIXTURES[fmt]
    path = tmp_path / f"{fmt}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    problems = load_data(path, fmt)
    assert len(problems) == len(rows)
    first = problems[0]
    if fmt == "gpqa":
        right = f"Answer: {first.answer}"
        assert f"({first.answer}) Neon" in first.prompt_text()
    assert verify(first, right).correct, (fmt, verify(first, right))
    assert not verify(first, "I don't know").correct
    if fmt == "math":
        assert problems[1].answer == "4"  # taken from the solution's \boxed{}


def test_missing_field_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"problem": "x", "answer": "1"}) + "\n" + json.dumps({"question_content": "y"}) + "\n")
    with pytest.raises(RecordError, match=r"bad.jsonl:1: mbpp row lacks field 'test_list'"):
        load_data(path, "mbpp")
    with pytest.raises(KeyError, match="valid"):
        load_data(path, "nope")


def test_synthetic_suite_is_deterministic_and_every_worked_solution_scores(scorer):
    a = synthetic_suite(per_task=2, seed=3)
    b = synthetic_suite(per_task=2, seed=3)
    assert [p.model_dump() for p in a] == [p.model_dump() for p in b]
    assert {p.meta["level"] for p in a} == {1, 2, 3} and len(a) == 2 * 3 * len(TASKS)
    assert {p.domain for p in a} == {"math", "code", "science", "logic", "simulation", "tabular"}
    scores = scorer.score_many([(p, p.meta["solution"]) for p in a])
    assert [p.id for p, s in zip(a, scores) if not s.correct] == []
    heldout = [p.prompt_text() for p in load_suite("synthetic-heldout")]
    assert len(heldout) == len(set(heldout)) > 250
    assert not set(heldout) & {p.prompt_text() for p in load_suite("synthetic")}


def test_multiple_choice_letters_carry_no_answer():
    # The right option's position is drawn per problem: a model that always answers one letter
    # scores about a quarter, not the 76% an earlier version of physics_mc gave to "B".
    letters = Counter(p.answer for p in synthetic_suite(per_task=100, seed=0, tasks=["physics_mc"]))
    assert set(letters) == set("ABCD")
    assert max(letters.values()) / sum(letters.values()) < 0.35


def test_a_suite_version_draws_the_data_a_recipe_was_trained_on():
    # Version 1 is the suite before physics_mc was mended: the right option only ever A or B. Only
    # physics_mc differs between the versions; the default is the newest.
    first = synthetic_suite(per_task=30, seed=3, version=1)
    newest = synthetic_suite(per_task=30, seed=3)
    assert newest == synthetic_suite(per_task=30, seed=3, version=2)
    changed = {a.task for a, b in zip(first, newest) if a != b}
    assert changed == {"physics_mc"}
    assert {p.answer for p in first if p.task == "physics_mc"} <= {"A", "B"}
    with pytest.raises(ValueError, match="version"):
        synthetic_suite(per_task=1, version=7)


LCB_FUNCTIONAL = {
    "question_id": "lcb-f1", "question_content": "Return the sum of nums plus k.",
    "starter_code": "class Solution:\n    def addAll(self, nums: List[int], k: int) -> int:\n        ",
    "metadata": json.dumps({"func_name": "addAll"}),
    "public_test_cases": json.dumps([{"input": "[1, 2, 3]\n4", "output": "10", "testtype": "functional"}]),
    "private_test_cases": json.dumps([{"input": "[]\n-1", "output": "-1", "testtype": "functional"}]),
}


def test_livecodebench_functional_tests_call_the_solution_method(tmp_path):
    path = tmp_path / "lcb.jsonl"
    path.write_text(json.dumps(LCB_FUNCTIONAL) + "\n")
    problem = load_data(path, "livecodebench")[0]
    assert "class Solution" in problem.prompt_text() and "addAll" in problem.prompt_text()
    right = "```python\nclass Solution:\n    def addAll(self, nums: List[int], k: int) -> int:\n        return sum(nums) + k\n```"
    off_by_one_on_empty = right.replace("return sum(nums) + k", "return (sum(nums) + k) if nums else 0")
    score = verify(problem, right)
    assert score.correct and score.details["total"] == 2
    partial = verify(problem, off_by_one_on_empty)
    assert not partial.correct and partial.details["passed"] == 1
    assert not verify(problem, "```python\nclass Solution:\n    pass\n```").correct


def test_livecodebench_mixed_test_types_name_file_and_line(tmp_path):
    cases = [{"input": "1\n", "output": "1\n", "testtype": "stdin"}, {"input": "1", "output": "1", "testtype": "functional"}]
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps({**LCB_FUNCTIONAL, "public_test_cases": json.dumps(cases)}) + "\n")
    with pytest.raises(RecordError, match=r"mixed.jsonl:1: .*mix test types"):
        load_data(path, "livecodebench")
