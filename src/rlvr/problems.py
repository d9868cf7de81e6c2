"""The data types that flow through rlvr (Problem, Rollout, Score) and their file formats.

Records are JSON objects, one per line (JSONL) or one per row (Parquet). The layout is a
contract; unknown fields are kept and written back unchanged:

    {"id": "p1", "domain": "math", "task": "aime", "prompt": "...", "answer": "\\frac{1}{2}"}
    {"id": "c1", "domain": "code", "prompt": "...", "tests": {"style": "function", ...}}

Rows in the verl/Guru layout (`data_source`, `prompt` as chat messages,
`reward_model.ground_truth`, `extra_info`) are converted on read (`rlvr.guru.from_guru_row`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rlvr.guru import GuruRowError, from_guru_row

Domain = Literal["math", "code", "science", "logic", "simulation", "tabular"]
DOMAINS: tuple[str, ...] = ("math", "code", "science", "logic", "simulation", "tabular")

class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str


class Problem(BaseModel):
    """A task with a verifiable answer. Extra fields are kept (e.g. `completions`, `meta`)."""

    model_config = ConfigDict(extra="allow")

    id: str
    domain: Domain
    prompt: str | list[Message]
    answer: Any = None  # ground truth; its shape depends on the domain (see the domain module)
    task: str | None = None  # sub-benchmark name, e.g. "aime", "zebra"; also picks logic checks
    tests: dict[str, Any] | None = None  # code domain: unit tests
    rubric: list[dict[str, Any]] | None = None  # weighted criteria (rlvr.domains.rubric)
    extract: str | None = None  # answer-extraction override (rlvr.extract.METHODS)
    hint: str | None = None
    teachers: list[str] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    def sampler_prompt(self) -> str | list[dict]:
        """The prompt as a Sampler takes it: text, or chat messages as plain dicts."""
        return self.prompt if isinstance(self.prompt, str) else [m.model_dump() for m in self.prompt]

    def prompt_text(self) -> str:
        """The prompt as plain text (user turns joined), for checks that read it."""
        if isinstance(self.prompt, str):
            return self.prompt
        return "\n".join(m.content for m in self.prompt)


class Score(BaseModel):
    """The verdict on one completion."""

    reward: float
    correct: bool
    extracted: Any = None  # the answer found in the completion, or None
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)  # e.g. tests passed, rubric criteria
    # True when there is no verdict on the completion: bad ground truth, the sandbox did not start,
    # a scoring process died. Training leaves such rollouts out; evaluation leaves them out of pass@k.
    error: bool = False


class Rollout(BaseModel):
    """One sampled completion with what the trainer needs to learn from it."""

    problem_id: str
    prompt_ids: list[int] = Field(default_factory=list)
    completion_ids: list[int] = Field(default_factory=list)
    text: str
    logprobs: list[float] = Field(default_factory=list)  # sampling policy, one per completion token
    # where the tokens came from, which says the loss that trains them: a source registered in
    # rlvr.algo.row_losses (policy; hint, refined, teacher, reference from the exploration methods)
    source: str = "policy"
    score: Score | None = None


class RecordError(ValueError):
    """A record that cannot be used, with the file and line (or row) it came from."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Record:
    """One raw input record and where it came from (`file:line` or `file:row`)."""

    where: str
    data: dict[str, Any] | None
    error: str | None = None


def iter_records(path: str | Path, blank_lines: bool = False) -> Iterator[Record]:
    """Stream records from a JSONL or Parquet file; malformed lines come back as errors (a
    line that is not UTF-8 too: the lines after it are still read). `blank_lines=True` also
    yields a Record with neither data nor error for each blank line, for writers that keep
    output line N = input line N."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".parquet":
        yield from _iter_parquet(path)
        return
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            where = f"{path}:{number}"
            if not raw.strip():
                if blank_lines:
                    yield Record(where, None)
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield Record(where, None, f"not valid UTF-8 (byte {e.start + 1} of the line)")
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as e:
                yield Record(where, None, f"not valid JSON ({e.msg} at column {e.colno})")
                continue
            if not isinstance(data, dict):
                yield Record(where, None, f"expected a JSON object, got {type(data).__name__}")
                continue
            yield Record(where, data)


def _iter_parquet(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq

    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
        for data in batch.to_pylist():
            row += 1
            yield Record(f"{path}:row {row}", data)


def first_error(error: ValidationError) -> tuple[str, str]:
    """(dotted key, message) of a pydantic error's first problem, for one-line messages. A
    section's own check that names a key inside it ("guide.gamma_quantile: ...") extends the key."""
    first = error.errors()[0]
    key, message = ".".join(str(p) for p in first["loc"]), first["msg"].removeprefix("Value error, ")
    inner = re.match(r"^([A-Za-z_][\w.]*): (.*)$", message, re.S)
    if key and inner:
        key, message = f"{key}.{inner.group(1)}", inner.group(2)
    return key, message


def drop_nulls(value: Any) -> Any:
    """`value` without the null entries of its objects, recursively (lists keep their items).

    Hugging Face `datasets` and Arrow fill a key absent from one row with null; in a record,
    null means absent.

    >>> drop_nulls({"tests": {"style": "stdio", "per_test_s": None}, "hint": None})
    {'tests': {'style': 'stdio'}}
    """
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def to_problem(data: dict[str, Any], where: str = "<record>") -> Problem:
    """Validate a raw record (rlvr or verl/Guru layout) into a Problem, or raise RecordError.
    Null fields are absent fields (`drop_nulls`), except inside the ground truth (`answer`,
    verl's `reward_model`), where a null can be the answer itself (a function returning None)."""
    truth = {k: data[k] for k in ("answer", "reward_model") if data.get(k) is not None}
    data = {**drop_nulls(data), **truth}
    if "data_source" in data and "domain" not in data:
        try:
            data = from_guru_row(data, where)
        except GuruRowError as e:
            raise RecordError(where, str(e)) from None
    try:
        return Problem.model_validate(data)
    except ValidationError as e:
        key, message = first_error(e)
        raise RecordError(where, f"field '{key or 'record'}': {message}") from None


def completions_of(data: dict[str, Any], where: str) -> list[str]:
    """The completion(s) a scoring record carries: `completion` (str) or `completions` (a
    non-empty list of str), not both. Null means absent."""
    data = {k: v for k, v in data.items() if k in ("completion", "completions") and v is not None}
    if "completions" in data and "completion" in data:
        raise RecordError(where, "has both 'completion' and 'completions': keep one")
    if "completions" in data:
        items = data["completions"]
        if not isinstance(items, list) or not all(isinstance(c, str) for c in items):
            raise RecordError(where, "field 'completions' must be a list of strings")
        if not items:
            raise RecordError(where, "field 'completions' is empty: nothing to score")
        return items
    if "completion" in data:
        if not isinstance(data["completion"], str):
            raise RecordError(where, "field 'completion' must be a string")
        return [data["completion"]]
    raise RecordError(where, "a scoring record needs 'completion' (string) or 'completions' (list)")


def read_problems(path: str | Path) -> list[Problem]:
    """Read every problem of a file; the first bad record raises RecordError naming it."""
    problems = []
    for record in iter_records(path):
        if record.error:
            raise RecordError(record.where, record.error)
        problems.append(to_problem(record.data, record.where))
    return problems


def keep_only(items: list, tasks: list[str] | None = None, domains: list[str] | None = None,
              flag: str = "") -> list:
    """The problems (or (problem, ...) tuples) whose task is among `tasks` and whose domain is
    among `domains`; None or empty keeps all. A name that no problem has raises ValueError naming
    the option (`flag` + "tasks" / "domains") and the names present, so a typo does not silently
    train or evaluate on nothing.

    >>> p = Problem(id="a", domain="math", task="arith", prompt="1+1?", answer="2")
    >>> [x.id for x in keep_only([p], domains=["math"])]
    ['a']
    """
    def value(item: Any, field: str) -> str | None:
        return getattr(item[0] if isinstance(item, tuple) else item, field)

    for field, names in (("task", tasks), ("domain", domains)):
        if not names:
            continue
        present, wanted = {value(item, field) for item in items}, set(names)
        if wanted - present:
            raise ValueError(f"{flag}{field}s: no problem has {field} {', '.join(sorted(wanted - present))}; "
                             f"present: {', '.join(sorted(str(x) for x in present))}")
        items = [item for item in items if value(item, field) in wanted]
    return items


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
