"""Logic puzzles: zebra (partial credit), ordering, graph/path, ARC-style grids, reasoning-gym.

The check is `meta.check` if given, else guessed from `task` ("zebra", "order", "graph"/"path",
"arc") and finally from the answer's shape. Answers are read from `<answer>...</answer>`,
else \\boxed{}, else an "Answer:" line, else the last code block, else the text after thinking.

`answer` shapes:

    zebra:    {"header": ["House", "Name", "Pet"], "rows": [["1", "Alice", "cat"], ...]}
              reward = fraction of attribute cells right (the house number column is not
              scored); correct only if all are. Predictions: JSON or Python-literal rows,
              {"rows": ...}, or ZebraLogic's {"solution": {"House 1": {"Name": ...}}}.
    ordering: ["Alice", "Bob", "Carol"]           exact sequence ("Alice, Bob, Carol" or a JSON list)
    graph:    "A -> C -> D" or ["A", "C", "D"] or 7   exact after normalization (tokens, case)
    grid:     [[0, 1], [1, 0]]                     exact 2D match; "0 1\\n1 0" or JSON accepted
    reasoning_gym: see rlvr.domains.reasoning_gym (answer scored by the generator's own scorer)
"""

from __future__ import annotations

import json
import re
from typing import Any

from rlvr.domains import GroundTruthError, binary, no_answer, register
from rlvr.domains.literals import parse_value
from rlvr.extract import answer_line, answer_tag, code_block, last_boxed, strip_thinking
from rlvr.problems import Problem, Score

CHECKS = ("zebra", "ordering", "graph", "grid", "reasoning_gym")


def pick_check(problem: Problem) -> str:
    check = problem.meta.get("check")
    if check:
        if check not in CHECKS:
            raise GroundTruthError(f"problem {problem.id}: meta.check must be one of {CHECKS}")
        return check
    if "reasoning_gym" in problem.meta:
        return "reasoning_gym"
    task = (problem.task or "").lower()
    for key, check in (("zebra", "zebra"), ("order", "ordering"), ("graph", "graph"), ("path", "graph"),
                       ("arc", "grid")):
        if key in task:
            return check
    answer = problem.answer
    if isinstance(answer, dict) and "rows" in answer:
        return "zebra"
    if isinstance(answer, list) and answer and all(isinstance(r, list) for r in answer):
        return "grid"
    if isinstance(answer, list):
        return "ordering"
    return "graph"


def answer_text(completion: str) -> str | None:
    """The answer's text; a code fence around it (`<answer>```json ...```</answer>`) removed."""
    text = strip_thinking(completion)
    for rule in (answer_tag, last_boxed, answer_line, code_block):
        value = rule(text)
        if value:
            return code_block(value) or value
    return text.strip() or None


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def _cell(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().lower()


HOUSE_COLUMNS = ("house", "houses", "#", "position", "house number", "no", "no.", "number")


def _house_column(gold: dict) -> bool:
    """True when the gold table's first column only numbers the houses (it is not scored: a
    table that gets every attribute wrong must score 0, not the share of the house column)."""
    header, rows = gold.get("header") or [], gold["rows"]
    if header and _cell(header[0]) in HOUSE_COLUMNS:
        return True
    return bool(rows) and all(row and _cell(row[0]) == str(i + 1) for i, row in enumerate(rows))


def _house_number(key: Any) -> int | None:
    found = re.search(r"\d+", str(key))
    return int(found.group()) - 1 if found else None


def _predicted_cells(pred: Any, columns: list[str], skip_first: bool) -> dict[tuple[int, str], str]:
    """{(house index, column name): cell} from the forms models write: a list of rows (lists
    by position, or dicts by column name), {"header": [...], "rows": [...]}, or ZebraLogic's
    {"solution": {"House 1": {"Name": ..., ...}, ...}}."""
    cells: dict[tuple[int, str], str] = {}
    if isinstance(pred, dict) and isinstance(pred.get("solution"), (dict, list)):
        pred = pred["solution"]
    if isinstance(pred, dict) and isinstance(pred.get("rows"), list):
        header = pred.get("header")
        if isinstance(header, list) and len(header) == len(columns) + skip_first:
            pred = [dict(zip([_cell(h) for h in header], row)) if isinstance(row, list) else row
                    for row in pred["rows"]]
        else:
            pred = pred["rows"]
    if isinstance(pred, dict):  # {"House 1": {...}, ...}
        houses = [(_house_number(k), v) for k, v in pred.items()]
    elif isinstance(pred, list):
        houses = list(enumerate(pred))
    else:
        return cells
    for house, row in houses:
        if house is None:
            continue
        if isinstance(row, dict):
            named = {_cell(k): v for k, v in row.items()}
            cells.update({(house, c): _cell(named[c]) for c in columns if c in named})
        elif isinstance(row, list):
            values = row[1:] if skip_first and len(row) == len(columns) + 1 else row
            cells.update({(house, c): _cell(v) for c, v in zip(columns, values)})
    return cells


def zebra_score(gold: dict, pred_text: str) -> tuple[float, str]:
    """Fraction of the gold table's attribute cells reproduced for the same house (the house
    number column, when there is one, is how rows are matched, not a cell that scores)."""
    skip_first = _house_column(gold)
    header = [_cell(h) for h in gold.get("header") or []]
    width = max(len(r) for r in gold["rows"])
    names = header if len(header) == width else [str(i) for i in range(width)]
    columns = names[1:] if skip_first else names
    expected = {(i, c): _cell(v) for i, row in enumerate(gold["rows"])
                for c, v in zip(columns, row[1:] if skip_first else row)}
    pred = parse_value(pred_text)[1]
    if not isinstance(pred, (list, dict)):
        return 0.0, "answer is not a table (JSON rows)"
    got = _predicted_cells(pred, columns, skip_first)
    right = sum(got.get(key) == value for key, value in expected.items())
    return right / len(expected), f"{right}/{len(expected)} cells right"


def _items(text: str) -> list[str]:
    parsed = _load_json(text)
    if isinstance(parsed, list):
        return [_cell(x) for x in parsed]
    parts = re.split(r"\s*(?:->|→|>|,|;|\n)\s*", text.strip().strip("[]()."))
    return [_cell(p.strip("'\"")) for p in parts if p.strip()]


def _tokens(value: Any) -> list[str]:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return re.findall(r"[\w.]+", str(value).lower())


def parse_grid(text: str) -> list[list[int]] | None:
    """A grid from JSON ("[[1,2],[3,4]]") or rows of numbers ("1 2\\n3 4", "|1|2|")."""
    parsed = _load_json(text.strip())
    if isinstance(parsed, list) and all(isinstance(r, list) for r in parsed):
        try:
            return [[int(x) for x in row] for row in parsed]
        except (TypeError, ValueError):
            return None
    rows = []
    for line in text.strip().splitlines():
        numbers = re.findall(r"-?\d+", line)
        if len(numbers) == 1 and len(line.strip()) > 1 and line.strip().isdigit():
            numbers = list(line.strip())  # "0110" written without separators
        if numbers:
            rows.append([int(n) for n in numbers])
    return rows or None


@register("logic")
def verify_logic(problem: Problem, completion: str) -> Score:
    check = pick_check(problem)
    if check == "reasoning_gym":
        from rlvr.domains.reasoning_gym import score_reasoning_gym

        return score_reasoning_gym(problem, completion)
    if problem.answer is None:
        raise GroundTruthError(f"problem {problem.id}: logic problem has no 'answer'")
    extracted = answer_text(completion)
    if extracted is None:
        return no_answer()
    if check == "zebra":
        rows = problem.answer.get("rows") if isinstance(problem.answer, dict) else None
        if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
            raise GroundTruthError(f"problem {problem.id}: zebra answer needs 'rows', a list of non-empty lists")
        fraction, reason = zebra_score(problem.answer, extracted)
        return Score(reward=fraction, correct=fraction == 1.0, extracted=extracted, reason=reason)
    if check == "ordering":
        gold = problem.answer if isinstance(problem.answer, list) else _items(str(problem.answer))
        ok = _items(extracted) == [_cell(g) for g in gold]
        return binary(ok, extracted, "same order" if ok else "different order")
    if check == "grid":
        gold_grid = problem.answer if isinstance(problem.answer, list) else parse_grid(str(problem.answer))
        if not gold_grid:
            raise GroundTruthError(f"problem {problem.id}: grid answer is not a 2D list")
        ok = parse_grid(extracted) == [[int(x) for x in row] for row in gold_grid]
        return binary(ok, extracted, "grid matches" if ok else "grid differs")
    ok = _tokens(extracted) == _tokens(problem.answer)
    return binary(ok, extracted, "matches" if ok else "does not match")
