"""`rlvr data`: deduplicate and decontaminate training problems."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

data_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                       help="Data tools: deduplicate and decontaminate training problems.")
console = Console()


def write_jsonl_atomic(path: Path, rows: list[dict]) -> None:
    """Written under a temporary name and renamed: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def sibling(out: Path, suffix: str) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + suffix)


def warn(message: str) -> None:
    console.print(f"[yellow]warning:[/yellow] {message}")


@data_app.command("dedup")
def dedup_command(
    inputs: list[Path] = typer.Argument(..., help="JSONL/Parquet files of problems (rlvr or verl/Guru layout)."),
    output: Path = typer.Option(..., "-o", "--output", help="Kept rows (JSONL); OUT.dropped.jsonl lists the rest."),
    shingle: int = typer.Option(5, "--shingle", help="Words per MinHash shingle."),
    threshold: float = typer.Option(0.8, "--threshold", help="Jaccard similarity of near-duplicates."),
    permutations: int = typer.Option(128, "--permutations", help="MinHash permutations."),
) -> None:
    """Drop exact (normalized prompt) and near (MinHash LSH) duplicates across all inputs; keep the first."""
    from rlvr.data.dedup import DedupSettings, deduplicate
    from rlvr.data.records import read_rows

    try:
        settings = DedupSettings(shingle, threshold, permutations)
        result = deduplicate(list(read_rows(inputs, warn)), settings)
    except (FileNotFoundError, ValueError) as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    write_jsonl_atomic(output, [row.data for row in result.kept])
    write_jsonl_atomic(sibling(output, ".dropped.jsonl"), [
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
    write_jsonl_atomic(output, [row.data for row in result.kept])
    hits = [{"id": h.row.problem.id, "where": h.row.where, "prompt": h.row.problem.prompt_text(),
             "against_id": h.against.id, "against_prompt": h.against.prompt_text(), "reason": h.reason}
            for h in result.hits]
    write_jsonl_atomic(sibling(output, ".hits.jsonl"), hits)
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
