import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlvr.problems import Problem, RecordError, iter_records, read_problems, to_problem

ROWS = [
    {"id": "p1", "domain": "math", "task": "aime", "prompt": "1/2?", "answer": "\\frac{1}{2}", "extra": {"k": 1}},
    {
        "id": "c1",
        "domain": "code",
        "prompt": [{"role": "user", "content": "add"}],
        "tests": {"style": "asserts", "code": ["assert add(1, 2) == 3"]},
    },
]


def test_jsonl_round_trip_keeps_extra_fields(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    problems = read_problems(path)
    assert [p.id for p in problems] == ["p1", "c1"]
    assert problems[0].model_dump()["extra"] == {"k": 1}
    assert problems[1].prompt_text() == "add"


def test_parquet(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "p1", "domain": "math", "prompt": "q", "answer": "2"}]), path)
    assert read_problems(path)[0].answer == "2"


def test_malformed_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n[1, 2]\n")
    records = list(iter_records(path))
    assert records[0].error is None
    assert records[1].where == f"{path}:2" and "not valid JSON" in records[1].error
    assert records[2].where == f"{path}:3" and "JSON object" in records[2].error
    with pytest.raises(RecordError, match=f"{path}:2"):
        read_problems(path)


def test_validation_errors_name_the_key():
    with pytest.raises(RecordError, match="field 'domain'"):
        to_problem({"id": "x", "domain": "poetry", "prompt": "q"}, "f.jsonl:7")
    with pytest.raises(RecordError, match="f.jsonl:8: field 'prompt'"):
        to_problem({"id": "x", "domain": "math"}, "f.jsonl:8")


@pytest.mark.parametrize(
    "source, domain, task",
    [
        ("math__deepscaler_preview", "math", "deepscaler_preview"),
        ("stem__webinstruct", "science", "webinstruct"),
        ("logic__zebra_puzzle_dataset", "logic", "zebra_puzzle_dataset"),
        ("simulation__codeio", "simulation", "codeio"),
        ("table__hitab", "tabular", "hitab"),
    ],
)
def test_guru_rows(source, domain, task):
    row = {
        "data_source": source,
        "prompt": [{"role": "user", "content": "Q"}],
        "reward_model": {"style": "rule", "ground_truth": "42"},
        "extra_info": {"index": 7},
    }
    p = to_problem(row, "guru.parquet:row 1")
    assert (p.domain, p.task, p.answer, p.id, p.meta["data_source"]) == (domain, task, "42", "7", source)


def test_guru_code_rows_become_tests():
    stdio = {
        "data_source": "codegen__leetcode",
        "prompt": [{"role": "user", "content": "Q"}],
        "reward_model": {"ground_truth": json.dumps({"inputs": ["1\n"], "outputs": ["2\n"]})},
    }
    assert to_problem(stdio).tests == {"style": "stdio", "inputs": ["1\n"], "outputs": ["2\n"]}
    functional = {**stdio, "reward_model": {"ground_truth": json.dumps({"functional": "assert f(1) == 2"})}}
    assert to_problem(functional).tests == {"style": "asserts", "code": ["assert f(1) == 2"]}
    with pytest.raises(RecordError, match="prefix"):
        to_problem({**stdio, "data_source": "poetry__x"})


def test_problem_fields():
    p = Problem(id="x", domain="science", prompt="q", answer="B", hint="think of CO2", teachers=["sol"])
    assert p.hint and p.teachers == ["sol"] and p.meta == {}
