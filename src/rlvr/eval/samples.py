"""Reading the samples.jsonl of an `rlvr eval` run from other commands (AMPO's teacher pool,
sequence-level distillation on a teacher's samples)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from rlvr.eval.run import SETTINGS_FILE

FIELDS = ("problem_id", "text", "correct")


def read_samples(path: Path, key: str) -> Iterator[dict]:
    """The rows of `path`; a missing file or a malformed row is one error naming `key` (the config
    key that gave the path), the file and the line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{key}: {path} does not exist")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{key}: {path}:{number}: not a samples.jsonl row of rlvr eval ({e})") from None
            missing = [name for name in FIELDS if not isinstance(row, dict) or name not in row]
            if missing:
                raise ValueError(f"{key}: {path}:{number}: not a samples.jsonl row of rlvr eval (missing {missing})")
            yield row


def sampling_settings(path: Path) -> dict:
    """The settings the samples were drawn with (model, thinking, ...), from the run directory's
    settings.json; {} when the file came from elsewhere."""
    settings = Path(path).parent / SETTINGS_FILE
    return json.loads(settings.read_text()) if settings.exists() else {}
