"""The configs' reference, generated from the pydantic models and their comments.

Each field of a config model is documented by the comment on its line, or by the comment lines
right above it (src/rlvr/config.py). This module turns those into the key-by-key reference in
docs/config.md and into the commented YAML that `rlvr train --print-config` prints, so neither can
drift from the code (tests/test_config.py regenerates the reference and compares).

    python -m rlvr.config_reference > docs/config.md
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import tokenize
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from rlvr.config import MethodSpec, SFTConfig, Strict, TrainConfig


@dataclass(frozen=True)
class Key:
    name: str  # dotted: "algo.eps_high"
    default: Any
    note: str
    section: bool = False  # a nested model, whose keys follow


@cache
def _module_notes(module_name: str) -> dict[tuple[str, str], str]:
    """(class name, field name) -> its comment, for every class of a module."""
    import sys

    source = inspect.getsource(sys.modules[module_name])
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    lines = source.splitlines()
    notes = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                note = [comments[line] for line in range(item.lineno, item.end_lineno + 1) if line in comments]
                above, line = [], item.lineno - 1
                while line in comments and lines[line - 1].strip().startswith("#"):
                    above.insert(0, comments[line])
                    line -= 1
                notes[(node.name, item.target.id)] = " ".join(above + note)
    return notes


def _nested(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds (also inside `X | None`), else None."""
    candidates = getattr(annotation, "__args__", None) or (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, (Strict, MethodSpec)):
            return candidate
    return None


def keys(model: type[BaseModel], prefix: str = "") -> list[Key]:
    """Every key of a config model, nested sections flattened to dotted names."""
    out = []
    for name, field in model.model_fields.items():
        note = _module_notes(model.__module__).get((model.__name__, name), "")
        inner = _nested(field.annotation)
        default = field.get_default(call_default_factory=True)
        if inner is not None:  # a section: its keys follow (an optional one is off until given)
            section = (inner.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
            if default is None:
                note = f"{note or section} (off unless given)"
            out.append(Key(prefix + name, None, note or section, section=True))
            out += keys(inner, f"{prefix}{name}.")
        else:
            out.append(Key(prefix + name, default, note))
    if model is MethodSpec:  # each method's settings: a section declared in the method's own file
        from rlvr.explore import settings_models

        for section, settings in settings_models().items():
            doc = (settings.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
            out.append(Key(f"{prefix}{section}", None, doc, section=True))
            out += keys(settings, f"{prefix}{section}.")
    return out


def _shown(value: Any) -> str:
    return json.dumps(value, default=str) if value is not None else "null"


def reference_markdown() -> str:
    parts = ["# Configuration reference", "",
             "Generated from `src/rlvr/config.py` by `python -m rlvr.config_reference > docs/config.md`",
             "(a test checks it is current). Every key, its default and what it means; a section's keys",
             "are written nested in YAML (`algo: {eps_high: 0.28}`) or dotted with `--set algo.eps_high=0.28`.", ""]
    for title, model in (("`rlvr train` (TrainConfig)", TrainConfig), ("`rlvr sft` (SFTConfig)", SFTConfig)):
        parts += [f"## {title}", "", inspect.cleandoc(model.__doc__ or ""), "",
                  "| key | default | meaning |", "|---|---|---|"]
        for key in keys(model):
            default = "(section)" if key.section else f"`{_shown(key.default)}`"
            parts.append(f"| `{key.name}` | {default} | {key.note.replace('|', '/')} |")
        parts.append("")
    return "\n".join(parts)


def commented_yaml(config: BaseModel) -> str:
    """The config as YAML, each key followed by its comment (what `--print-config` prints)."""
    import yaml

    notes = {k.name: k.note for k in keys(type(config))}
    lines = []
    for line in yaml.safe_dump(json.loads(config.model_dump_json()), sort_keys=False).splitlines():
        stripped = line.lstrip()
        depth = (len(line) - len(stripped)) // 2
        key = stripped.split(":", 1)[0] if ":" in stripped and not stripped.startswith("- ") else None
        path = _path(lines, depth, key) if key else None
        note = notes.get(path or "", "")
        lines.append((line, depth, key, note))
    return "\n".join(f"{text}  # {note}" if note else text for text, _, _, note in lines) + "\n"


def _path(previous: list[tuple], depth: int, key: str) -> str:
    """The dotted name of `key` at `depth`, from the keys above it."""
    parents = []
    want = depth - 1
    for _text, d, k, _ in reversed(previous):
        if k is not None and d == want:
            parents.insert(0, k)
            want -= 1
            if want < 0:
                break
    return ".".join([*parents, key])


if __name__ == "__main__":
    print(reference_markdown())
