import json
import subprocess
import sys

RLVR = [sys.executable, "-m", "rlvr.cli"]


def run(*args, cwd=None):
    return subprocess.run([*RLVR, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_score_writes_scores_and_reports_bad_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [
        {
            "id": "a",
            "domain": "math",
            "prompt": "q",
            "answer": "2",
            "completions": ["\\boxed{2}", "\\boxed{3}"],
            "x": 1,
        },
        "{broken json",
        {"id": "b", "domain": "science", "prompt": "q", "answer": "C", "completion": "Answer: C"},
        {"id": "c", "domain": "math", "prompt": "q", "answer": "1"},  # no completion
    ]
    src.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = run("score", str(src), "-o", str(out), "--workers", "2")
    assert result.returncode == 1
    assert f"{src}:2" in result.stderr and f"{src}:4" in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["x"] == 1
    assert [s["correct"] for s in rows[0]["scores"]] == [True, False]
    assert set(rows[0]["scores"][0]) >= {"reward", "correct", "extracted", "reason"}
    assert "math" in result.stdout and "science" in result.stdout


def test_score_all_good_exits_zero(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "a", "domain": "tabular", "prompt": "q", "answer": "5", "completion": "\\boxed{5}"})
    )
    result = run("score", str(src), "-o", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0, result.stderr
    assert "100.0%" in result.stdout


def test_missing_input_is_a_clear_error(tmp_path):
    result = run("score", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_demo_scores_every_bundled_example_as_expected(tmp_path):
    result = run("demo", "-o", str(tmp_path / "demo.jsonl"))
    assert result.returncode == 0, result.stderr
    assert "all verdicts as expected" in result.stderr
    for domain in ("math", "code", "science", "logic", "simulation", "tabular"):
        assert domain in result.stdout
