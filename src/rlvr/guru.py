"""Rows in the verl/Guru (Reasoning360) layout, read as rlvr Problems.

A row has `data_source` ("math__deepscaler": the prefix picks the domain, the rest is the
task), `prompt` (chat messages), `reward_model.ground_truth` and `extra_info`. Ground truth
comes in the shapes Guru published: JSON or Python-literal strings (zebra tables are written
with single quotes), numpy arrays (verl reads parquet through pandas), code tests as JSON
with `inputs`/`outputs` or `functional`, and CRUXEval as `{"functional": <output>}` with the
function itself only in the prompt's `[PYTHON]` block. A shape that cannot be read raises
GuruRowError naming the field (`rlvr.problems.to_problem` adds the file and line), never a
silent reward of 0.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

PREFIXES = {"math": "math", "codegen": "code", "stem": "science", "logic": "logic", "simulation": "simulation",
            "table": "tabular"}
_PYTHON_BLOCK = re.compile(r"\[PYTHON\]\n?(.*?)\[/PYTHON\]", re.S)
_CRUX_ASSERT = re.compile(r"^assert\s+f\((.*)\)\s*==\s*(.*?)\s*$", re.S)


class GuruRowError(ValueError):
    """A verl/Guru row that cannot be read; the message names the field."""


def plain(value: Any) -> Any:
    """numpy arrays and scalars (verl's pandas rows) as Python lists and numbers, recursively."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return plain(value.tolist())
    return value


def parse_truth(value: Any) -> Any:
    """A ground-truth string that holds a JSON or Python literal, as that value; else as is."""
    if not isinstance(value, str) or value.strip()[:1] not in ("[", "{", "("):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    try:
        return plain(ast.literal_eval(value.strip()))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


def from_guru_row(row: dict[str, Any], where: str = "<row>") -> dict[str, Any]:
    """`where` (file:line) is the record's id when the row has none."""
    try:
        return _convert(row, where)
    except GuruRowError:
        raise
    except (KeyError, TypeError, AttributeError) as e:
        raise GuruRowError(f"not a verl/Guru row ({type(e).__name__}: {e})") from None


def _convert(row: dict[str, Any], where: str) -> dict[str, Any]:
    """A verl/Guru row as an rlvr record (a dict `Problem.model_validate` takes).

    `data_source` "math__deepscaler" -> domain "math", task "deepscaler";
    `reward_model.ground_truth` -> `answer` (code: the test spec -> `tests`).
    """
    row = plain(row)
    source = str(row["data_source"])
    prefix, _, task = source.partition("__")
    domain = PREFIXES.get(prefix)
    if domain is None:
        raise GuruRowError(f"data_source '{source}' has no known prefix {sorted(PREFIXES)}")
    truth = parse_truth((row.get("reward_model") or {}).get("ground_truth"))
    extra = row.get("extra_info") or {}
    record: dict[str, Any] = {
        "id": str(extra.get("index", extra.get("id", row.get("id", where)))),
        "domain": domain,
        "task": task or None,
        "prompt": row.get("prompt"),
        "meta": {"data_source": source, "extra_info": extra},
    }
    if domain == "code":
        record["tests"] = code_tests(truth)
    elif domain == "simulation" and isinstance(truth, dict) and "functional" in truth:
        record["answer"] = cruxeval_answer(truth["functional"], _prompt_text(row))
    else:
        record["answer"] = truth
    passthrough = {k: v for k, v in row.items() if k not in {"data_source", "prompt", "reward_model", "extra_info"}}
    return {**passthrough, **record}


def code_tests(truth: Any) -> dict[str, Any]:
    """Guru code ground truth: `inputs`/`outputs` (stdio) or `functional` (assert lines)."""
    if isinstance(truth, dict) and "inputs" in truth and "outputs" in truth:
        return {"style": "stdio", "inputs": truth["inputs"], "outputs": truth["outputs"]}
    if isinstance(truth, dict) and "functional" in truth:
        return {"style": "asserts", "code": [truth["functional"]]}
    raise GuruRowError("reward_model.ground_truth of a codegen row must hold 'inputs'/'outputs' or 'functional'")


def _prompt_text(row: dict[str, Any]) -> str:
    prompt = row.get("prompt")
    if isinstance(prompt, list):
        prompt = "\n".join(str(m.get("content", "")) for m in prompt if isinstance(m, dict))
    original = (row.get("extra_info") or {}).get("original_prompt")
    return "\n".join(str(p) for p in (prompt, original) if p)


def cruxeval_answer(functional: Any, prompt: str) -> dict[str, Any]:
    """Guru's CRUXEval row -> rlvr's cruxeval answer. The function and the question are the
    prompt's last `[PYTHON]` block: its code, then `assert f(??) == OUTPUT` (input mode) or
    `assert f(INPUT) == ??` (output mode)."""
    blocks = _PYTHON_BLOCK.findall(prompt)
    if not blocks:
        raise GuruRowError("a CRUXEval row (ground truth {'functional': ...}) needs its function in a "
                           "[PYTHON] block of 'prompt' or 'extra_info.original_prompt'")
    lines = blocks[-1].strip().splitlines()
    code, question = "\n".join(lines[:-1]), _CRUX_ASSERT.match(lines[-1].strip()) if lines else None
    if question is None or "??" not in question.group(0):
        raise GuruRowError("the CRUXEval prompt's [PYTHON] block must end with 'assert f(...) == ...' and ??")
    call = question.group(1).strip()
    if call == "??":
        return {"style": "cruxeval", "mode": "input", "code": code, "output": str(functional)}
    return {"style": "cruxeval", "mode": "output", "code": code, "input": call}
