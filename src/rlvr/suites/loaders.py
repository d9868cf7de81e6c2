"""Loaders for the usual public formats: their field names mapped to rlvr Problems.

| format | fields read | becomes |
|---|---|---|
| `math` (MATH, AIME, OR1/DAPO) | `problem`/`question`, `answer` (or the last \\boxed{} of `solution`) | math |
| `gpqa` | `Question`, `Correct Answer`, `Incorrect Answer 1..3` (shuffled by row hash) | science, letter |
| `mbpp` | `task_id`, `text`, `test_list`, `test_setup_code` | code, asserts |
| `livecodebench` | `question_id`, `question_content`, `public_test_cases`, `private_test_cases` | code, stdio |
| (functional) | also `metadata` {`func_name`}, `starter_code` | code, asserts on `Solution().f(...)` |
| `zebralogic` | `id`, `puzzle`, `solution` {header, rows} | logic, zebra |
| `arc` | `train`/`test` pairs of `input`/`output` grids; one problem per test pair | logic, grid |
| `cruxeval` / `cruxeval-i` | `id`, `code`, `input`, `output` (output / input prediction) | simulation |
| `codeio` | `prompt`/`question`, `output` (JSON) | simulation |
| `hitab`, `multihiertt`, `finqa` | `question`/`qa.question`, `table` (rows), `answer`/`qa.exe_ans` | tabular |

`load_data(path, fmt)` reads JSONL or Parquet; a row missing a field is an error naming file
and line. Without `fmt`, rows already in the rlvr (or verl/Guru) layout are read as they are.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlvr.extract import last_boxed
from rlvr.problems import Problem, RecordError, iter_records, to_problem

BOXED = "Put the final answer in \\boxed{}."
TAGGED = "Give the final answer inside <answer></answer>."


def _need(row: dict, *keys: str) -> Any:
    for key in keys:
        if key in row and row[key] is not None:
            return row[key]
    raise KeyError(" or ".join(repr(k) for k in keys))


def _id(row: dict, index: int, *keys: str) -> str:
    for key in keys:
        if row.get(key) is not None:
            return str(row[key])
    return str(index)


def math_row(row: dict, index: int) -> Problem:
    question = _need(row, "problem", "question", "Problem")
    answer = row.get("answer", row.get("Answer"))
    if answer is None:
        answer = last_boxed(_need(row, "solution"))
    return Problem(id=_id(row, index, "id", "unique_id", "ID"), domain="math", task=row.get("source", "math"),
                   prompt=f"{question}\n\n{BOXED}", answer=str(answer))


def gpqa_row(row: dict, index: int) -> Problem:
    right = _need(row, "Correct Answer")
    options = [right] + [_need(row, f"Incorrect Answer {i}") for i in (1, 2, 3)]
    seed = int(hashlib.sha256(str(_need(row, "Question")).encode()).hexdigest()[:8], 16)
    random.Random(seed).shuffle(options)
    letter = "ABCD"[options.index(right)]
    shown = "\n".join(f"({L}) {str(o).strip()}" for L, o in zip("ABCD", options))
    return Problem(id=_id(row, index, "Record ID", "id"), domain="science", task="gpqa",
                   prompt=f"{row['Question'].strip()}\n\n{shown}\n\nAnswer with the letter of the correct option.",
                   answer=letter)


def mbpp_row(row: dict, index: int) -> Problem:
    tests = {"style": "asserts", "code": list(_need(row, "test_list"))}
    if row.get("test_setup_code"):
        tests["setup"] = row["test_setup_code"]
    shown = "\n".join(tests["code"][:1])
    return Problem(id=f"mbpp-{_id(row, index, 'task_id')}", domain="code", task="mbpp", tests=tests,
                   prompt=f"{_need(row, 'text', 'prompt')}\nYour code should pass this test:\n{shown}\n"
                          "Answer with a ```python code block.")


# LiveCodeBench runs functional solutions with these names in scope (its own import preamble).
LCB_PREAMBLE = ("from typing import *\nfrom collections import *\nfrom functools import *\nfrom itertools import *\n"
                "from heapq import *\nfrom bisect import *\nimport math, string, re\n")


def livecodebench_row(row: dict, index: int) -> Problem:
    cases = []
    for key in ("public_test_cases", "private_test_cases"):
        value = row.get(key)
        if isinstance(value, str) and value.strip().startswith("["):
            value = json.loads(value)
        if isinstance(value, list):
            cases += value
    if not cases:
        raise KeyError("'public_test_cases'")
    kinds = {c.get("testtype", "stdin") for c in cases}
    if kinds == {"functional"}:
        return livecodebench_functional(row, index, cases)
    if kinds != {"stdin"}:
        raise ValueError(f"test cases mix test types {sorted(kinds)}; expected all 'stdin' or all 'functional'")
    tests = {"style": "stdio", "inputs": [c["input"] for c in cases], "outputs": [c["output"] for c in cases]}
    return Problem(id=_id(row, index, "question_id"), domain="code", task="livecodebench", tests=tests,
                   prompt=f"{_need(row, 'question_content')}\n\nRead from standard input and write to standard "
                          "output. Answer with a ```python code block.")


def livecodebench_functional(row: dict, index: int, cases: list[dict]) -> Problem:
    """LeetCode-style: each case's `input` is one JSON value per line (the arguments), `output` the
    JSON of the return value of `Solution().<metadata.func_name>(...)`; each case becomes an assert."""
    metadata = _need(row, "metadata")
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    if not isinstance(metadata, dict) or "func_name" not in metadata:
        raise KeyError("'metadata.func_name'")
    name = metadata["func_name"]
    asserts = []
    for case in cases:
        args = [repr(json.loads(line)) for line in case["input"].split("\n") if line.strip()]
        asserts.append(f"assert Solution().{name}({', '.join(args)}) == {json.loads(case['output'])!r}")
    starter = row.get("starter_code") or ""
    shown = f"\n\nUse this starter code:\n```python\n{starter.rstrip()}\n```" if starter.strip() else ""
    return Problem(id=_id(row, index, "question_id"), domain="code", task="livecodebench",
                   tests={"style": "asserts", "code": asserts, "setup": LCB_PREAMBLE},
                   prompt=f"{_need(row, 'question_content')}{shown}\n\nAnswer with a ```python code block "
                          f"defining class Solution with method {name}.")


def zebralogic_row(row: dict, index: int) -> Problem:
    solution = _need(row, "solution")
    if isinstance(solution, str):
        solution = json.loads(solution)
    header = solution["header"]
    return Problem(id=_id(row, index, "id"), domain="logic", task="zebra", answer=solution,
                   prompt=f"{_need(row, 'puzzle')}\n\nGive the solution as a JSON list of rows with columns "
                          f"{header}. {TAGGED}")


def _grid(g: list[list[int]]) -> str:
    return "\n".join(" ".join(map(str, r)) for r in g)


def arc_rows(row: dict, index: int) -> list[Problem]:
    examples = "\n\n".join(f"Input:\n{_grid(p['input'])}\nOutput:\n{_grid(p['output'])}" for p in _need(row, "train"))
    problems = []
    for j, pair in enumerate(_need(row, "test")):
        prompt = (f"Find the rule in these examples.\n\n{examples}\n\nApply it to:\n{_grid(pair['input'])}\n\n"
                  f"Write the output grid as rows of digits. {TAGGED}")
        problems.append(Problem(id=f"{_id(row, index, 'id')}-{j}", domain="logic", task="arc", prompt=prompt,
                                answer=pair["output"]))
    return problems


def cruxeval_row(row: dict, index: int, mode: str = "output") -> Problem:
    code, given = _need(row, "code"), _need(row, "input" if mode == "output" else "output")
    if mode == "output":
        question = f"What does f({given}) return?"
        answer = {"style": "cruxeval", "mode": "output", "code": code, "input": given}
    else:
        question = f"Find an input such that f(??) == {given}. Answer as the call f(...)."
        answer = {"style": "cruxeval", "mode": "input", "code": code, "output": given}
    return Problem(id=_id(row, index, "id"), domain="simulation", task=f"cruxeval-{mode[0]}",
                   prompt=f"{code}\n{question} Put your answer in [ANSWER][/ANSWER].", answer=answer)


def codeio_row(row: dict, index: int) -> Problem:
    output = _need(row, "output")
    if isinstance(output, str):
        try:
            output = json.loads(output)
        except json.JSONDecodeError:
            pass
    return Problem(id=_id(row, index, "id"), domain="simulation", task="codeio",
                   prompt=f"{_need(row, 'prompt', 'question')}\n\nGive the output as JSON. {TAGGED}",
                   answer={"style": "codeio", "value": output})


def table_row(row: dict, index: int, task: str) -> Problem:
    qa = row.get("qa") or {}
    question = qa.get("question") or _need(row, "question")
    answer = qa.get("exe_ans", qa.get("answer")) if qa else _need(row, "answer")
    table = _need(row, "table")
    if isinstance(table, list):
        table = "\n".join("| " + " | ".join(map(str, r)) + " |" for r in table)
    if isinstance(answer, list):
        answer = "|".join(map(str, answer))
    context = "\n".join(str(x) for x in (row.get("pre_text") or []) + [table] + (row.get("post_text") or []))
    return Problem(id=_id(row, index, "id", "uid"), domain="tabular", task=task, answer=str(answer),
                   prompt=f"{context}\n\n{question} {BOXED}")


FORMATS: dict[str, Callable[[dict, int], Problem | list[Problem]]] = {
    "math": math_row,
    "gpqa": gpqa_row,
    "mbpp": mbpp_row,
    "livecodebench": livecodebench_row,
    "zebralogic": zebralogic_row,
    "arc": arc_rows,
    "cruxeval": cruxeval_row,
    "cruxeval-i": lambda row, i: cruxeval_row(row, i, mode="input"),
    "codeio": codeio_row,
    "hitab": lambda row, i: table_row(row, i, "hitab"),
    "multihiertt": lambda row, i: table_row(row, i, "multihiertt"),
    "finqa": lambda row, i: table_row(row, i, "finqa"),
}


def load_data(path: str | Path, fmt: str | None = None) -> list[Problem]:
    """Problems from a JSONL/Parquet file in rlvr layout (fmt=None) or a named public format."""
    if fmt is not None and fmt not in FORMATS:
        raise KeyError(f"unknown data format {fmt!r}; valid: {sorted(FORMATS)}")
    problems: list[Problem] = []
    for index, record in enumerate(iter_records(path)):
        if record.error:
            raise RecordError(record.where, record.error)
        if fmt is None:
            problems.append(to_problem(record.data, record.where))
            continue
        try:
            made = FORMATS[fmt](record.data, index)
        except KeyError as e:
            raise RecordError(record.where, f"{fmt} row lacks field {e.args[0]}") from None
        except (ValueError, TypeError) as e:
            raise RecordError(record.where, f"{fmt} row unusable: {e}") from None
        problems += made if isinstance(made, list) else [made]
    return problems
