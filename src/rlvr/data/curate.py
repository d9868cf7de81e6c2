"""`rlvr data curate`: the config of the whole pipeline and its report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import Field

from rlvr.problems import iter_records
from rlvr.settings import Strict


class DedupStage(Strict):
    shingle: int = Field(5, ge=1)  # words per MinHash shingle
    threshold: float = Field(0.8, gt=0, le=1)  # Jaccard similarity of near-duplicates
    permutations: int = Field(128, ge=16)  # MinHash permutations
    workers: int = Field(1, ge=0)  # processes computing MinHash signatures; 0 = one per core


class DecontaminateStage(Strict):
    against: list[str]  # suites by name or files of evaluation problems
    format: str | None = None  # public format of the files (as rlvr eval --format)
    ngram: int = Field(13, ge=1)  # tokens per n-gram of overlap


class DifficultyStage(Strict):
    model: str  # the reference model: a directory, tiny-reasoner, or a server URL
    n: int = Field(16, ge=1)  # samples per problem
    max_new_tokens: int = Field(512, ge=1)
    temperature: float = Field(1.0, gt=0)
    engine: str = "auto"  # torch | vllm | auto (local models)
    served_model: str | None = None  # the model's name on a server
    batch_size: int = Field(64, ge=1)  # sequences per sampling batch
    workers: int = Field(2, ge=1)  # verifier processes
    seed: int = 0


class FilterStage(Strict):
    min_pass: float = Field(1e-5, ge=0)  # keep pass_rate >= this (Guru: 1e-5)
    max_pass: float = Field(0.9, gt=0)  # keep pass_rate < this (Guru: 0.9)


class CurateConfig(Strict):
    inputs: list[Path]  # JSONL/Parquet files of problems (rlvr or verl/Guru layout)
    output: Path  # the folder of every stage's output and report.md
    dedup: DedupStage | None = DedupStage()  # null skips the stage
    decontaminate: DecontaminateStage | None = None
    difficulty: DifficultyStage | None = None  # with filter after it
    filter: FilterStage = FilterStage()


def count_domains(paths: list[Path]) -> Counter:
    """Rows per domain in `paths` (rows that are not JSON objects are not counted)."""
    counts: Counter = Counter()
    for path in paths:
        for record in iter_records(path):
            if record.data is not None:
                counts[str(record.data.get("domain") or record.data.get("ability") or "?")] += 1
    return counts


def write_report(out: Path, stages: list[tuple[str, Counter]]) -> Path:
    """report.md: rows per stage and domain (the shape of Guru's data table)."""
    domains = sorted({d for _, counts in stages for d in counts})
    lines = ["# rlvr data curate", "", "| stage | " + " | ".join(domains) + " | total |",
             "|---" * (len(domains) + 2) + "|"]
    for name, counts in stages:
        lines.append(f"| {name} | " + " | ".join(str(counts.get(d, 0)) for d in domains)
                     + f" | {sum(counts.values())} |")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
