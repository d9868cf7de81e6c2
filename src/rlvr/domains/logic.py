"""Logic puzzles: zebra (partial credit), ordering, graph/path, ARC-style grids, reasoning-gym.

The check is `meta.check` if given, else guessed from `task` ("zebra", "order", "graph"/"path",
"arc") and finally from the answer's shape. Answers are read from `<answer>...</answer>`,
else \\boxed{}, else an "Answer:" line, else the last code block, else the text after thinking.

`answer` shapes:

    zebra:    {"header": ["House", "Name", "Pet"], "rows": [["1", "Alice", "cat"], ...]}
              reward = fraction of cells right; correct only if all are.
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
    text = strip_thinking(completion)
    for rule in (answer_tag, last_boxed, answer_line, code_block):
        value = rule(text)
        if value:
            return value
    return text.strip() or None


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def _cell(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().lower()


def zebra_score(gold: dict, pred_text: str) -> tuple[float, str]:
    """Fraction of gold cells (rows x columns) reproduced at the same position."""
    gold_rows = gold["rows"]
    total = sum(len(r) for r in gold_rows)
    pred = _load_json(pred_text)
    if isinstance(pred, dict):
        pred = pred.get("rows", pred.get("solution"))
    if not isinstance(pred, list):
        return 0.0, "answer is not a table (JSON rows)"
    right = 0
    for gold_row, pred_row in zip(gold_rows, pred):
        if isinstance(pred_row, dict):
            pred_row = list(pred_row.values())
        if not isinstance(pred_row, list):
            continue
        right += sum(_cell(g) == _cell(p) for g, p in zip(gold_row, pred_row))
    return right / total, f"{right}/{total} cells right"


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
        if not isinstance(problem.answer, dict) or "rows" not in problem.answer:
            raise GroundTruthError(f"problem {problem.id}: zebra answer needs 'rows'")
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
