"""`rlvr data`: deduplicate, decontaminate, rate by difficulty and filter training problems."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

data_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                       help="Data tools: deduplicate, decontaminate, rate by difficulty, filter.")
console = Console()


def write_rows(path: Path, rows: list[dict]) -> None:
    """JSONL, or Parquet for a `.parquet` path; written under a temporary name and renamed, so a
    crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), tmp)
    else:
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def sibling(out: Path, suffix: str) -> Path:
    """A side file next to the output: OUT.dropped.jsonl for OUT.jsonl or OUT.parquet."""
    stem = out.with_suffix("").name if out.suffix in (".jsonl", ".parquet") else out.name
    return out.with_name(stem + suffix)


def warn(message: str) -> None:
    console.print(f"[yellow]warning:[/yellow] {message}")


@data_app.command("dedup")
def dedup_command(
    inputs: list[Path] = typer.Argument(..., help="JSONL/Parquet files of problems (rlvr or verl/Guru layout)."),
    output: Path = typer.Option(..., "-o", "--output", help="Kept rows (.jsonl or .parquet); OUT.dropped.jsonl "
                                "lists the rest."),
    shingle: int = typer.Option(5, "--shingle", help="Words per MinHash shingle."),
    threshold: float = typer.Option(0.8, "--threshold", help="Jaccard similarity of near-duplicates."),
    permutations: int = typer.Option(128, "--permutations", help="MinHash permutations."),
    workers: int = typer.Option(1, "--workers", help="Processes computing MinHash signatures (0 = one per core)."),
) -> None:
    """Drop exact (normalized prompt) and near (MinHash LSH) duplicates across all inputs; keep the first."""
    from rlvr.data.dedup import DedupSettings, deduplicate
    from rlvr.data.records import read_rows

    try:
        settings = DedupSettings(shingle, threshold, permutations)
        result = deduplicate(list(read_rows(inputs, warn)), settings, workers or os.cpu_count() or 1)
    except (FileNotFoundError, ValueError) as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    write_rows(output, [row.data for row in result.kept])
    write_rows(sibling(output, ".dropped.jsonl"), [
        {**row.data, "duplicate_of": {"id": original.problem.id, "where": original.where, "kind": kind,
                                      "jaccard": round(similarity, 3)}, "where": row.where}
        for row, original, kind, similarity in result.dropped])
    table = Table("domain", "source", "kept", "exact duplicates", "near duplicates")
    for (domain, source), counts in sorted(result.counts().items()):
        table.add_row(domain, source, str(counts["kept"]), str(counts["exact"]), str(counts["near"]))
    console.print(table)
    console.print(f"kept {len(result.kept)}, dropped {len(result.dropped)}: wrote {output} and "
                  f"{sibling(output, '.dropped.jsonl')}")


@data_app.command("decontaminate")
def decontaminate_command(
    inputs: list[Path] = typer.Argument(..., help="JSONL/Parquet files of training problems."),
    against: list[str] = typer.Option(..., "--against", help="An evaluation suite's name or a problems file "
                                      "(repeat the option for several)."),
    fmt: str = typer.Option(None, "--format", help="Public format of the --against files (as rlvr eval --format)."),
    output: Path = typer.Option(..., "-o", "--output", help="Kept rows (JSONL); OUT.hits.jsonl and "
                                "OUT.report.md list every hit with both texts."),
    ngram: int = typer.Option(13, "--ngram", help="Words per n-gram of overlap."),
) -> None:
    """Drop training problems that overlap evaluation problems (n-gram overlap, or question and answer)."""
    from rlvr.data.decontaminate import decontaminate
    from rlvr.data.records import read_rows
    from rlvr.suites import SUITES, load_suite
    from rlvr.suites.loaders import load_data

    try:
        evaluation = []
        for item in against:
            evaluation += load_suite(item) if item in SUITES else load_data(Path(item), fmt)
        result = decontaminate(list(read_rows(inputs, warn)), evaluation, ngram)
    except (FileNotFoundError, KeyError, ValueError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        console.print(f"[red]error:[/red] {message}")
        raise typer.Exit(2) from None
    write_rows(output, [row.data for row in result.kept])
    hits = [{"id": h.row.problem.id, "where": h.row.where, "prompt": h.row.problem.prompt_text(),
             "against_id": h.against.id, "against_prompt": h.against.prompt_text(), "reason": h.reason}
            for h in result.hits]
    write_rows(sibling(output, ".hits.jsonl"), hits)
    lines = [f"# Decontamination of {', '.join(map(str, inputs))}", "",
             f"Against {', '.join(against)} ({len(evaluation)} problems), {ngram}-gram overlap or the same "
             f"question and answer: {len(result.hits)} hits dropped, {len(result.kept)} kept.", ""]
    for h in hits:
        lines += [f"## {h['id']} ({h['where']})", "", f"{h['reason']}", "", "Training:", "", "````text", h["prompt"],
                  "````", "", f"Evaluation ({h['against_id']}):", "", "````text", h["against_prompt"], "````", ""]
    sibling(output, ".report.md").write_text("\n".join(lines), encoding="utf-8")
    console.print(f"{len(result.hits)} of {len(result.hits) + len(result.kept)} training problems overlap the "
                  f"evaluation problems: wrote {output}, {sibling(output, '.hits.jsonl')}, "
                  f"{sibling(output, '.report.md')}")


@data_app.command("difficulty")
def difficulty_command(
    inputs: list[Path] = typer.Argument(..., help="JSONL/Parquet files of problems."),
    model: str = typer.Option(..., "--model", help="Reference model: a local directory (or tiny-reasoner) or a "
                              "server URL, as rlvr eval --model."),
    output: Path = typer.Option(..., "-o", "--output", help="The rows with pass_rate and pass@k added (JSONL); "
                                "samples in OUT.run/ (rerun to resume)."),
    n: int = typer.Option(16, "--n", help="Samples per problem."),
    max_new_tokens: int = typer.Option(512, "--max-new-tokens"),
    temperature: float = typer.Option(1.0, "--temperature"),
    engine: str = typer.Option("auto", "--engine", help="Local models: torch | vllm | auto."),
    served_model: str = typer.Option(None, "--served-model", help="Model name on a server."),
    batch_size: int = typer.Option(64, "--batch-size", help="Sequences per sampling batch."),
    workers: int = typer.Option(2, "--workers", help="Verifier processes."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Each problem's pass rate (and pass@k) under a reference model, as columns."""
    from rlvr.data.difficulty import pass_rates
    from rlvr.data.records import read_rows
    from rlvr.eval.cli import make_sampler
    from rlvr.eval.run import check_run_settings, evaluate_sampler, sample_with
    from rlvr.sampling.base import SamplingParams

    ks = sorted({1, *(2**i for i in range(1, n.bit_length()) if 2**i <= n), n})
    run_dir = sibling(output, ".run")
    try:
        rows = list(read_rows(inputs, warn))
        ids = [r.problem.id for r in rows]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"problem ids repeat ({', '.join(repeated[:5])}): run rlvr data dedup first, or give "
                             "each row its own id")
        check_run_settings(run_dir, {"model": model, "n": n, "max_new_tokens": max_new_tokens,
                                     "temperature": temperature, "seed": seed, "served_model": served_model})
        sampler = make_sampler(model, "on", batch_size, served_model, None, engine=engine,
                               max_model_len=max_new_tokens + 1024)
        params = SamplingParams(n=n, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)
        evaluate_sampler([r.problem for r in rows], sample_with(sampler, params), run_dir, ks, n, workers,
                         batch_problems=max(1, batch_size // n))
    except (FileNotFoundError, KeyError, ValueError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        console.print(f"[red]error:[/red] {message}")
        raise typer.Exit(2) from None
    rates = pass_rates(run_dir, ks)
    write_rows(output, [{**r.data, **rates[r.problem.id], "difficulty_model": model}
                                for r in rows if r.problem.id in rates])
    console.print(f"pass rates of {len(rates)} problems under {model} (n={n}): wrote {output}")


@data_app.command("filter")
def filter_command(
    inputs: list[Path] = typer.Argument(..., help="Rows with pass_rate (from rlvr data difficulty)."),
    output: Path = typer.Option(..., "-o", "--output", help="Kept rows (JSONL); OUT.png: pass rates per domain."),
    min_pass: float = typer.Option(1e-5, "--min-pass", help="Keep pass_rate >= this (Guru: 1e-5, drop the unsolved)."),
    max_pass: float = typer.Option(0.9, "--max-pass", help="Keep pass_rate < this (Guru: 0.9, drop the easy)."),
) -> None:
    """Keep the learnable band of pass rates; a histogram per domain in Guru's buckets."""
    from rlvr.data.difficulty import BUCKETS, bucket, plot_histogram
    from rlvr.problems import iter_records

    kept, rates = [], []
    for path in inputs:
        for record in iter_records(path):
            rate = (record.data or {}).get("pass_rate")
            if record.error or not isinstance(rate, int | float):
                warn(f"{record.where}: skipped: {record.error or 'no pass_rate (run rlvr data difficulty first)'}")
                continue
            rates.append((str(record.data.get("domain", "?")), float(rate)))
            if min_pass <= rate < max_pass:
                kept.append(record.data)
    write_rows(output, kept)
    if rates:
        plot_histogram(rates, output.with_suffix(".png"))
    table = Table("domain", *BUCKETS, "kept")
    for domain in sorted({d for d, _ in rates}):
        values = [r for d, r in rates if d == domain]
        table.add_row(domain, *[str(sum(bucket(r) == b for r in values)) for b in BUCKETS],
                      str(sum(min_pass <= r < max_pass for r in values)))
    console.print(table)
    console.print(f"kept {len(kept)} of {len(rates)} ({min_pass} <= pass rate < {max_pass}): wrote {output}")


@data_app.command("curate")
def curate_command(
    config: Path = typer.Argument(..., help="YAML: inputs, output and one section per stage (docs/data.md)."),
) -> None:
    """The whole pipeline: dedup -> decontaminate -> difficulty -> filter, each stage's output kept,
    a report of the counts per stage and domain; a rerun skips the stages already written."""
    from rlvr.config import ConfigError, load_config
    from rlvr.data.curate import CurateConfig, count_domains, write_report

    try:
        cfg = load_config(config, CurateConfig)
    except ConfigError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    out = cfg.output
    out.mkdir(parents=True, exist_ok=True)
    current: list[Path] = list(cfg.inputs)
    stages: list[tuple[str, list[Path]]] = [("input", current)]

    def stage(name: str, run) -> None:
        nonlocal current
        path = out / f"{len(stages)}-{name}.jsonl"
        if path.exists():
            console.print(f"{name}: {path} exists, kept (delete it to rerun the stage)")
        else:
            console.rule(name)
            run(current, path)
        current = [path]
        stages.append((name, current))

    if cfg.dedup:
        stage("dedup", lambda inp, path: dedup_command(inp, path, cfg.dedup.shingle, cfg.dedup.threshold,
                                                       cfg.dedup.permutations, cfg.dedup.workers))
    if cfg.decontaminate:
        d = cfg.decontaminate
        stage("decontaminate", lambda inp, path: decontaminate_command(inp, d.against, d.format, path, d.ngram))
    if cfg.difficulty:
        f = cfg.difficulty
        stage("difficulty", lambda inp, path: difficulty_command(inp, f.model, path, f.n, f.max_new_tokens,
                                                                 f.temperature, f.engine, f.served_model,
                                                                 f.batch_size, f.workers, f.seed))
        stage("filter", lambda inp, path: filter_command(inp, path, cfg.filter.min_pass, cfg.filter.max_pass))
    counts = [(name, count_domains(paths)) for name, paths in stages]
    report = write_report(out, counts)
    console.print(f"final training file: {current[0]} (rlvr train: data: {{file: {current[0]}}}); report: {report}")


@data_app.command("lintseq")
def lintseq_command(
    inputs: list[Path] = typer.Argument(..., help="Problems whose meta.solution ends with a ```python block."),
    output: Path = typer.Option(..., "-o", "--output", help="SFT rows (JSONL) for rlvr sft: meta.solution is the "
                                "edit sequence, then the whole program."),
    samples: int = typer.Option(1, "--samples", min=1, help="Edit sequences per program (each another random order)."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """LintSeq: each program as insertion edits, every intermediate program lint-clean (pyflakes)."""
    import random

    from rlvr.data.lintseq import insertion_edits, program_of, render
    from rlvr.data.records import read_rows

    out = []
    try:
        rows = list(read_rows(inputs, warn))
    except FileNotFoundError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    for row in rows:
        program = program_of(str(row.problem.meta.get("solution") or ""))
        if program is None:
            warn(f"{row.where}: skipped: no ```python block in meta.solution")
            continue
        for k in range(samples):
            try:
                edits = insertion_edits(program, random.Random(f"{seed}/{row.problem.id}/{k}"))
            except ValueError as e:
                warn(f"{row.where}: skipped: {e}")
                break
            meta = {**row.problem.meta, "solution": render(edits, program), "lintseq_edits": len(edits)}
            out.append({**row.data, "id": f"{row.problem.id}-lintseq{k}", "meta": meta})
    write_rows(output, out)
    console.print(f"{len(out)} edit sequences from {len(rows)} rows: wrote {output}")
