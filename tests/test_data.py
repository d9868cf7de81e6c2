"""rlvr data: deduplication and decontamination."""

import json

from typer.testing import CliRunner

from rlvr.cli import app
from rlvr.data.dedup import DedupSettings, deduplicate, substring_duplicates
from rlvr.data.records import Row
from rlvr.problems import Problem

STORY = ("A train leaves the station at nine in the morning and travels east at a steady speed of sixty "
         "kilometres per hour across the plain while a second train leaves the same station two hours later "
         "travelling in the same direction at ninety kilometres per hour on the parallel track; at what time "
         "does the second train catch up with the first one")


def row(i: int, prompt: str, domain: str = "math", source: str = "a.jsonl") -> Row:
    data = {"id": f"p{i}", "domain": domain, "prompt": prompt, "answer": "1"}
    return Row(data, Problem(**data), f"{source}:{i + 1}", source)


def test_exact_and_near_duplicates_are_dropped_and_the_first_is_kept():
    rows = [row(0, STORY), row(1, STORY.upper().replace(" ", "  ") + "?"),  # case, spacing, punctuation
            row(2, STORY.replace("sixty", "seventy"), source="b.jsonl"),  # one word of 60: near
            row(3, "Compute 3 + 4. Put the final answer in \\boxed{}."),
            row(4, "Compute 3 + 5. Put the final answer in \\boxed{}."),  # another problem
            row(5, STORY, domain="science"),  # across domains too
            row(6, STORY.replace("sixty", "seventy") + "!")]  # an exact copy of a near-duplicate
    result = deduplicate(rows)
    assert [r.problem.id for r in result.kept] == ["p0", "p3", "p4"]
    dropped = {r.problem.id: (orig.problem.id, kind) for r, orig, kind, _ in result.dropped}
    assert dropped == {"p1": ("p0", "exact"), "p2": ("p0", "near"), "p5": ("p0", "exact"), "p6": ("p0", "exact")}
    assert result.counts()[("math", "b.jsonl")]["near"] == 1
    parallel = deduplicate(rows, workers=2)  # signatures on 2 processes: the same result
    assert [r.problem.id for r in parallel.kept] == ["p0", "p3", "p4"] and len(parallel.dropped) == 4
    # a stricter threshold keeps the one-word edit
    assert "p2" in [r.problem.id for r in deduplicate(rows, DedupSettings(threshold=0.95)).kept]


def test_substring_containment_misses_an_edit_that_minhash_finds():
    rows = [row(0, STORY), row(1, STORY.replace("sixty", "seventy")), row(2, STORY[:200])]
    assert [r.problem.id for r, _ in substring_duplicates(rows)] == ["p2"]  # the cut, not the edit
    assert {r.problem.id for r, *_ in deduplicate(rows).dropped} >= {"p1"}


def test_dedup_cli_writes_kept_and_dropped_rows_and_reports_bad_lines(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps({"id": "x", "domain": "math", "prompt": STORY, "answer": "1"}) + "\n{oops\n")
    second.write_text(json.dumps({"id": "y", "domain": "math", "prompt": STORY + " ", "answer": "1"}) + "\n")
    out = tmp_path / "out" / "dedup.jsonl"
    result = CliRunner().invoke(app, ["data", "dedup", str(first), str(second), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{first}:2: skipped: not valid JSON" in result.output.replace("\n", "")
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["x"]
    dropped = [json.loads(line) for line in (tmp_path / "out" / "dedup.dropped.jsonl").read_text().splitlines()]
    assert dropped[0]["id"] == "y" and dropped[0]["duplicate_of"]["id"] == "x" and dropped[0]["where"] == f"{second}:1"


def test_decontaminate_drops_what_overlaps_a_bundled_suite_and_lists_both_texts(tmp_path):
    from rlvr.suites import load_suite
    from rlvr.suites.synthetic import synthetic_suite

    training = synthetic_suite(per_task=2, seed=7)  # nothing of HumanEval in it
    leaked = load_suite("humaneval")[5]
    rows = [p.model_dump(exclude_none=True) for p in training]
    rows.insert(3, {"id": "leak", "domain": "code", "prompt": "Complete this function.\n" + leaked.prompt_text()})
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "clean.jsonl"
    result = CliRunner().invoke(app, ["data", "decontaminate", str(data), "--against", "humaneval", "-o", str(out)])
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in (tmp_path / "clean.hits.jsonl").read_text().splitlines()]
    assert [h["id"] for h in hits] == ["leak"] and hits[0]["against_id"] == leaked.id
    assert hits[0]["where"] == f"{data}:4" and hits[0]["reason"].startswith("13-gram: ")
    assert len(out.read_text().splitlines()) == len(training)
    report = (tmp_path / "clean.report.md").read_text()
    assert leaked.prompt_text()[:60] in report and "1 hits dropped" in report


def test_ngram_overlap_and_question_answer_matches():
    from rlvr.data.decontaminate import decontaminate

    evaluation = [Problem(id="e1", domain="math", prompt=STORY, answer="11"),
                  Problem(id="e2", domain="math", prompt="What is 6 times 7?", answer="42")]
    rows = [row(0, "Background. " + " ".join(STORY.split()[10:30]) + " and more."),  # a 20-word overlap
            row(1, "what is 6 TIMES 7"),  # inside a short evaluation prompt, case aside
            row(2, "What is 6 times 8?"),
            row(3, " ".join(STORY.split()[:12])),  # 12 tokens: under n, inside the evaluation prompt
            row(4, "What is 6 + 7?")]  # symbols count: not the same question
    result = decontaminate(rows, evaluation)
    assert [h.row.problem.id for h in result.hits] == ["p0", "p1", "p3"]
    assert result.hits[0].reason.startswith("13-gram: ") and [r.problem.id for r in result.kept] == ["p2", "p4"]


def test_difficulty_adds_pass_rates_resumes_and_filter_keeps_the_band(tmp_path):
    from rlvr.suites.synthetic import synthetic_suite

    problems = synthetic_suite(per_task=1, levels=(1,), tasks=["arith", "write_function", "physics_mc"], seed=4)
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(p.model_dump(exclude_none=True)) + "\n" for p in problems) + "{bad\n")
    out = tmp_path / "rated.jsonl"
    args = ["data", "difficulty", str(data), "--model", "tiny-reasoner", "--engine", "torch", "--n", "4",
            "--max-new-tokens", "64", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{data}:4: skipped" in result.output.replace("\n", "")
    rated = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rated] == [p.id for p in problems]
    samples = (tmp_path / "rated.run" / "samples.jsonl").read_text().splitlines()
    for r in rated:
        mine = [json.loads(s) for s in samples if json.loads(s)["problem_id"] == r["id"]]
        assert r["pass_rate"] == sum(s["correct"] for s in mine) / 4 and r["scored"] == 4 and "pass@4" in r
    assert CliRunner().invoke(app, args).exit_code == 0  # a rerun resumes: nothing sampled again
    assert (tmp_path / "rated.run" / "samples.jsonl").read_text().splitlines() == samples

    rated[0]["pass_rate"], rated[1]["pass_rate"], rated[2]["pass_rate"] = 0.0, 0.5, 0.95
    out.write_text("".join(json.dumps(r) + "\n" for r in rated) + json.dumps({"id": "x", "prompt": "q"}) + "\n")
    kept = tmp_path / "kept.jsonl"
    result = CliRunner().invoke(app, ["data", "filter", str(out), "-o", str(kept)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in kept.read_text().splitlines()] == [rated[1]["id"]]
    assert "no pass_rate" in result.output and (tmp_path / "kept.png").stat().st_size > 0


def test_pass_rate_buckets_are_gurus():
    from rlvr.data.difficulty import bucket

    assert [bucket(x) for x in (0, 0.05, 0.2, 0.5, 0.79, 0.8, 0.99, 1.0)] == [
        "0", "(0, 0.2)", "[0.2, 0.4)", "[0.4, 0.6)", "[0.6, 0.8)", "[0.8, 1)", "[0.8, 1)", "1"]


def test_curate_runs_every_stage_keeps_each_output_reports_counts_and_resumes(tmp_path):
    import yaml

    from rlvr.suites import load_suite
    from rlvr.suites.synthetic import synthetic_suite

    problems = [p.model_dump(exclude_none=True)
                for p in synthetic_suite(per_task=1, levels=(1,), tasks=["arith", "ordering"], seed=9)]
    leak = {"id": "leak", "domain": "code", "prompt": load_suite("humaneval")[0].prompt_text(), "answer": "x"}
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in [*problems, problems[0] | {"id": "again"}, leak]))
    config = tmp_path / "curate.yaml"
    config.write_text(yaml.safe_dump({"inputs": [str(data)], "output": str(tmp_path / "cur"),
                                      "decontaminate": {"against": ["humaneval"]},
                                      "difficulty": {"model": "tiny-reasoner", "n": 2, "max_new_tokens": 48,
                                                     "engine": "torch"},
                                      "filter": {"min_pass": 0.0, "max_pass": 1.01}}))
    result = CliRunner().invoke(app, ["data", "curate", str(config)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "cur"
    names = sorted(p.name for p in out.glob("*.jsonl") if p.name.count(".") == 1)  # not the side files
    assert names == ["1-dedup.jsonl", "2-decontaminate.jsonl", "3-difficulty.jsonl", "4-filter.jsonl"]
    lines = {n: len((out / n).read_text().splitlines()) for n in names}
    assert lines == {"1-dedup.jsonl": 3, "2-decontaminate.jsonl": 2, "3-difficulty.jsonl": 2, "4-filter.jsonl": 2}
    report = (out / "report.md").read_text()
    assert "| stage | code | logic | math | total |" in report
    assert "| input | 1 | 1 | 2 | 4 |" in report and "| dedup | 1 | 1 | 1 | 3 |" in report
    assert "| decontaminate | 0 | 1 | 1 | 2 |" in report and "| filter | 0 | 1 | 1 | 2 |" in report
    rerun = CliRunner().invoke(app, ["data", "curate", str(config)])
    assert rerun.exit_code == 0 and rerun.output.count("exists, kept") == 4


def test_lintseq_edits_rebuild_each_program_through_lint_clean_states(tmp_path, scorer):
    from rlvr.data.lintseq import CODE_BLOCK, apply_edit, is_clean
    from rlvr.suites.loaders import load_data
    from rlvr.suites.synthetic import synthetic_suite

    problems = synthetic_suite(per_task=2, tasks=["write_function", "stdin_aggregate"], seed=3)
    data = tmp_path / "code.jsonl"
    area = ("import math\n\n\ndef area(r):\n    if r < 0:\n        raise ValueError('negative')\n"
            "    return math.pi * r ** 2\n\n\ndef total(xs):\n    s = 0\n    for x in xs:\n        s += area(x)\n"
            "    return s\n\n\nprint(total([1, 2]))\n")
    rows = [p.model_dump(exclude_none=True) for p in problems] + [
        {"id": "area", "domain": "code", "prompt": "Write it.", "answer": "", "meta": {"solution": f"```python\n{area}```"}},
        {"id": "prose", "domain": "math", "prompt": "q", "answer": "1", "meta": {"solution": "no code"}}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "lintseq.jsonl"
    result = CliRunner().invoke(app, ["data", "lintseq", str(data), "-o", str(out), "--samples", "2"])
    assert result.exit_code == 0, result.output
    assert f"{data}:{len(rows)}: skipped: no ```python block" in result.output.replace("\n", "")
    made = load_data(out)  # what rlvr sft reads
    assert len(made) == 2 * (len(problems) + 1)
    for problem in made:
        solution = problem.meta["solution"]
        program = CODE_BLOCK.findall(solution)[-1]
        edits = solution.split("</think>")[0].split("Edit ")[1:]
        state: list[str] = []
        for edit in edits:
            state = apply_edit(state, edit.split(":\n", 1)[1])
            assert is_clean(state)  # every intermediate program passes the linter
        assert "".join(state) == program and len(edits) == problem.meta["lintseq_edits"] >= 1
        if problem.id.startswith("syn-"):  # the whole program still passes its tests
            assert scorer.score_many([(problem, solution)])[0].correct
    assert min(p.meta["lintseq_edits"] for p in made if p.id.startswith("area")) >= 4  # a longer program: more edits
    pairs = [(made[i].meta["solution"], made[i + 1].meta["solution"]) for i in range(0, len(made), 2)]
    assert any(a != b for a, b in pairs)  # two samples of a program: other orders


def test_verl_rows_in_parquet_come_out_as_verl_rows_in_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    def verl(i, question):
        return {"data_source": "math__deepscaler", "prompt": [{"role": "user", "content": question}],
                "ability": "math", "reward_model": {"style": "rule", "ground_truth": str(i)},
                "extra_info": {"index": i}}

    rows = [verl(0, STORY), verl(1, STORY + " "), verl(2, "What is 6 times 7?")]
    source = tmp_path / "guru.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source)
    out = tmp_path / "dedup.parquet"
    result = CliRunner().invoke(app, ["data", "dedup", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "math__deepscaler" in result.output  # counts per source: verl's data_source
    kept = pq.read_table(out).to_pylist()
    assert kept == [rows[0], rows[2]]  # the verl layout, as it came in: a curated file goes back to verl
    assert (tmp_path / "dedup.dropped.jsonl").exists()
