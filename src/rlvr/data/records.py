"""Reading the rows a data stage works on: every input file's records, each with where it came
from, validated as a Problem; a row that is not one is reported with its file and line and
skipped (nothing already read is lost)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr.problems import Problem, RecordError, iter_records, to_problem


@dataclass
class Row:
    """One input row: its raw record (written back as it came), its Problem and where it was."""

    data: dict[str, Any]
    problem: Problem
    where: str
    source: str  # the input file's name, or the row's data_source (verl/Guru layout)


def read_rows(paths: list[Path], warn: Callable[[str], None] = print) -> Iterator[Row]:
    """Rows of all `paths` in order; bad rows are reported through `warn` and skipped."""
    for path in paths:
        for record in iter_records(path):
            if record.error:
                warn(f"{record.where}: skipped: {record.error}")
                continue
            try:
                problem = to_problem(record.data, record.where)
            except RecordError as e:
                warn(f"{e}: skipped")
                continue
            yield Row(record.data, problem, record.where, str(record.data.get("data_source") or Path(path).name))


WORD = re.compile(r"\w+")
TOKEN = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """Lower-cased word tokens: case, spacing and punctuation do not make two prompts differ."""
    return WORD.findall(text.lower())


def tokens(text: str) -> list[str]:
    """Lower-cased words and single symbols: `3 + 4` and `3 - 4` stay different."""
    return TOKEN.findall(text.lower())


def normalized(text: str) -> str:
    return " ".join(words(text))
