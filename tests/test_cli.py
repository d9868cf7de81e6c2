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
    assert [r.get("id") for r in rows] == ["a", None, "b", "c"]  # output line N is input line N
    assert rows[1]["skipped"].startswith(f"{src}:2: not valid JSON") and "scores" not in rows[3]
    assert rows[3]["skipped"].startswith(f"{src}:4:") and "scores" not in rows[3]
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


def test_score_loses_nothing_on_bad_lines_and_may_overwrite_its_input(tmp_path):
    good = {"id": "a", "domain": "math", "prompt": "q", "answer": "2", "completion": "\\boxed{2}"}
    lines = [json.dumps(good).encode(), b"",
             json.dumps({**good, "id": "u", "completion": "X"}).encode().replace(b"X", b"\xff\xfe"),  # not UTF-8
             json.dumps({**good, "id": "both", "completions": ["\\boxed{2}"]}).encode(),
             json.dumps({**good, "id": "none", "completion": None, "completions": []}).encode(),
             json.dumps({**good, "id": "nulls", "hint": None, "tests": None, "meta": None}).encode()]
    src = tmp_path / "same.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    result = run("score", str(src), "-o", str(src), "--workers", "1")
    assert result.returncode == 1
    rows = [json.loads(line) if line else None for line in src.read_text().splitlines()]
    assert len(rows) == len(lines) and rows[1] is None  # overwritten in place, every line kept
    assert rows[0]["scores"][0]["correct"] and rows[5]["scores"][0]["correct"]  # nulls mean absent
    assert rows[2]["skipped"] == f"{src}:3: not valid UTF-8 (byte 76 of the line)"
    assert "both 'completion' and 'completions'" in rows[3]["skipped"] and rows[3]["id"] == "both"
    assert "'completions' is empty" in rows[4]["skipped"]
    assert not list(tmp_path.glob(".*partial"))


def test_score_paths_that_cannot_work_are_one_line_errors(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    good = tmp_path / "in.jsonl"
    good.write_text(json.dumps({"id": "a", "domain": "math", "prompt": "q", "answer": "2", "completion": "2"}))
    for args, message in (((str(tmp_path / "empty.jsonl"), "-o", str(tmp_path / "o.jsonl")), "is empty"),
                          ((str(good), "-o", str(tmp_path)), "is a directory")):
        result = run("score", *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_missing_input_is_a_clear_error(tmp_path):
    result = run("score", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_demo_scores_every_bundled_example_as_expected(tmp_path):
    result = run("demo", "-o", str(tmp_path / "demo.jsonl"))
    assert result.returncode == 0, result.stderr
    assert "all verdicts as expected" in result.stderr
    for domain in ("math", "code", "science", "logic", "simulation", "tabular"):
        assert domain in result.stdout


def test_help_shows_flags_as_flags_and_the_version():
    result = run("train", "--help")
    assert result.returncode == 0 and "--overwrite " in result.stdout and "<bool>" not in result.stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("rlvr ")
