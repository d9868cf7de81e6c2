import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlvr.eval.run import EvalError, evaluate_completions, load_completion_groups, load_run

RLVR = [sys.executable, "-m", "rlvr.cli"]
CONTRACT = {"overall", "by_domain", "by_task", "n"}


def completions_file(tmp_path: Path) -> Path:
    rows = [
        {"id": "m1", "domain": "math", "task": "arith", "prompt": "q", "answer": "\\frac{1}{2}",
         "completions": ["\\boxed{0.5}", "\\boxed{1/2}", "\\boxed{3}", "no answer"]},
        {"id": "s1", "domain": "science", "task": "mc", "prompt": "q", "answer": "B",
         "completions": ["Answer: A", "Answer: A", "Answer: A", "Answer: B"]},
        {"id": "bad", "domain": "math", "task": "arith", "prompt": "q", "answer": None,
         "completions": ["\\boxed{1}"] * 4},
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_completions_eval_writes_everything_with_the_contract(tmp_path):
    run = tmp_path / "run"
    metrics = evaluate_completions(load_completion_groups(completions_file(tmp_path)), run, [1, 2, 4], workers=2)
    assert CONTRACT <= set(metrics) and metrics["n"] == 4
    for key in ("pass@1", "pass@2", "pass@4", "avg@n", "maj@4"):
        assert key in metrics["overall"]
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["by_domain"]["science"]["pass@1"] == 0.25
    # math m1: 0.5 and 1/2 vote together (2 of 4) -> majority right; "bad" problem: ground truth
    # error, no verdict: left out of every mean and counted instead
    assert saved["by_task"]["arith"]["maj@4"] == 1.0 and saved["by_task"]["arith"]["problems"] == 2
    assert saved["by_task"]["arith"]["verifier_errors"] == 4 and saved["overall"]["verifier_errors"] == 4
    assert saved["overall"]["problems_without_verdict"] == 1 and saved["by_domain"]["science"]["verifier_errors"] == 0
    assert "verifier errors" in (run / "report.md").read_text()
    assert (run / "report.md").read_text().count("pass@4") >= 3 and (run / "pass_at_k.png").stat().st_size > 1000
    rows = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    bad = [r for r in rows if r["problem_id"] == "bad"]
    assert all(r["error"] and "bad ground truth" in r["reason"] for r in bad)
    m1 = [r for r in rows if r["problem_id"] == "m1"]
    assert [r["cluster"] for r in m1] == [0, 0, 1, -1]


def test_resume_skips_complete_problems_and_drops_torn_tails(tmp_path):
    run = tmp_path / "run"
    groups = load_completion_groups(completions_file(tmp_path))
    evaluate_completions(groups, run, [1, 4], workers=2)
    lines = (run / "samples.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["reason"] = "kept from the first run"
    # keep problem 1 whole (edited), problem 2 half, then a torn line
    kept = [json.dumps(first)] + lines[1:4] + lines[4:6]
    (run / "samples.jsonl").write_text("\n".join(kept) + "\n" + lines[6][:25])
    state = load_run(run)
    assert set(state.done) == {first["problem_id"]}
    assert len((run / "samples.jsonl").read_text().splitlines()) == 4  # rewritten without torn/incomplete
    evaluate_completions(groups, run, [1, 4], workers=2)
    rows = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and rows[0]["reason"] == "kept from the first run"


def test_model_eval_on_the_tiny_model_records_sampler_outputs(tmp_path, tiny_model_dir):
    data = tmp_path / "p.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"p{i}", "domain": "math", "prompt": f"{i}+1?", "answer": str(i + 1)})
                              for i in range(3)))
    out = tmp_path / "run"
    result = subprocess.run([*RLVR, "eval", "--model", str(tiny_model_dir), "--data", str(data), "--n", "4",
                             "--k", "1,2,4", "--max-new-tokens", "8", "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    assert all(r["n_tokens"] >= 1 and r["logprob_sum"] < 0 and r["self_certainty"] is not None for r in rows)
    assert "bon_certainty" in json.loads((out / "metrics.json").read_text())["overall"]


@pytest.mark.parametrize("args, message", [
    (["--completions", "{c}", "--k", "1,8"], "must be between 1 and n=4"),
    (["--completions", "{empty}", "--k", "1"], "no records"),
    (["--model", "{tmp}/missing", "--suite", "synthetic"], "does not exist"),
    (["--model", "{tmp}/missing", "--suite", "nope"], "unknown suite"),
    (["--model", "{tmp}/missing", "--data", "{empty}"], "empty.jsonl has no problems"),  # before the model
    (["--model", "{tmp}/missing", "--suite", "synthetic", "--tasks", "nope"], "no problem has task nope"),
    (["--model", "http://127.0.0.1:9", "--suite", "synthetic-l1", "--n", "1", "--k", "1"], "cannot reach"),
    (["--completions", "{c}", "--k", "a,b"], "comma-separated"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, args, message):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    filled = [a.format(c=completions_file(tmp_path), empty=empty, tmp=tmp_path) for a in args]
    result = subprocess.run([*RLVR, "eval", *filled, "-o", str(tmp_path / "run")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr


def test_k_larger_than_n_raises_in_the_library(tmp_path):
    with pytest.raises(EvalError, match="between 1 and n"):
        evaluate_completions(load_completion_groups(completions_file(tmp_path)), tmp_path / "r", [5], workers=1)


def test_ctrl_c_keeps_whole_problems_and_a_rerun_completes(tmp_path, tiny_model_dir):
    import os
    import signal
    import time

    data = tmp_path / "p.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"p{i}", "domain": "math", "prompt": f"{i}+1?", "answer": str(i + 1)})
                              for i in range(40)))
    out = tmp_path / "run"
    cmd = [*RLVR, "eval", "--model", str(tiny_model_dir), "--data", str(data), "--n", "4", "--k", "1,4",
           "--max-new-tokens", "24", "--batch-size", "8", "-o", str(out)]
    # SIGINT back to default in the child: under nohup or a background job it is inherited as
    # ignored, and Python then never raises KeyboardInterrupt (the test would measure nothing).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    samples = out / "samples.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not samples.exists() or samples.stat().st_size == 0):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    rows = [json.loads(x) for x in samples.read_text().splitlines()]  # every line is whole JSON
    per_problem = {}
    for r in rows:
        per_problem.setdefault(r["problem_id"], []).append(r)
    assert 0 < len(per_problem) < 40
    assert all(len(v) == 4 for v in per_problem.values())  # only whole problems
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = [json.loads(x) for x in samples.read_text().splitlines()]
    assert len(final) == 160 and len({r["problem_id"] for r in final}) == 40
    assert final[: len(rows)] == rows  # the first run's problems were kept, not redone
    assert not any(r["error"] for r in final)  # no item was recorded as failed by the interrupt


def test_tasks_and_domains_keep_only_those_problems_and_name_unknown_ones(tmp_path):
    c = completions_file(tmp_path)
    run = tmp_path / "run"
    result = subprocess.run([*RLVR, "eval", "--completions", str(c), "--k", "1", "--domains", "science",
                             "-o", str(run)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    assert {r["problem_id"] for r in rows} == {"s1"}
    assert set(json.loads((run / "metrics.json").read_text())["by_domain"]) == {"science"}
    result = subprocess.run([*RLVR, "eval", "--completions", str(c), "--k", "1", "--tasks", "arith,nope",
                             "-o", str(tmp_path / "run2")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "nope" in errors[0] and "present: arith, mc" in errors[0], result.stderr


def test_prepack_linears_option_reaches_the_torch_sampler(tiny_model_dir):
    from rlvr.eval.cli import make_sampler

    assert make_sampler(str(tiny_model_dir), "on", 8, None, None, prepack_linears=False).prepacked is None
    assert make_sampler(str(tiny_model_dir), "on", 8, None, None).prepacked is not None  # CPU default: on


def test_resuming_with_other_sampling_settings_is_refused(tmp_path, tiny_model_dir):
    data = tmp_path / "p.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"p{i}", "domain": "math", "prompt": f"{i}+1?", "answer": str(i + 1)})
                              for i in range(2)))
    base = [*RLVR, "eval", "--model", str(tiny_model_dir), "--data", str(data), "--k", "1", "--max-new-tokens", "4",
            "-o", str(tmp_path / "run")]
    assert subprocess.run([*base, "--n", "2"], capture_output=True, text=True).returncode == 0
    before = (tmp_path / "run" / "samples.jsonl").read_text()
    result = subprocess.run([*base, "--n", "2", "--temperature", "0.5"], capture_output=True, text=True)
    assert result.returncode == 2 and "temperature=1.0" in result.stderr and "temperature=0.5" in result.stderr
    assert (tmp_path / "run" / "samples.jsonl").read_text() == before  # nothing mixed in
    assert subprocess.run([*base, "--n", "2"], capture_output=True, text=True).returncode == 0  # same settings resume
