"""LintSeq (Piterbarg et al. 2024): a program as a sequence of insertion edits, each leaving a
program the linter accepts.

Backward: from the whole program, delete a random line, then delete every line the linter now
flags (a use of a name whose definition went, a block left without its body), and again, until
the program is lint-clean; repeat until nothing is left. Reversed, the states go from empty to the
whole program, and the edits between them (unified diffs) are insertions only. The linter is
pyflakes: its errors (syntax errors, undefined names, misplaced return/yield/break/continue, ...)
count; its warnings (an unused import or variable) do not, since a program on its way to being
written has those.
"""

from __future__ import annotations

import ast
import random
import re

import pyflakes.messages as flakes
from pyflakes.checker import Checker

ERRORS = (flakes.UndefinedName, flakes.UndefinedLocal, flakes.UndefinedExport, flakes.ReturnOutsideFunction,
          flakes.YieldOutsideFunction, flakes.ContinueOutsideLoop, flakes.BreakOutsideLoop,
          flakes.DuplicateArgument, flakes.TwoStarredExpressions, flakes.DefaultExceptNotLast)
CODE_BLOCK = re.compile(r"```(?:python|py)?\n(.*?)```", re.DOTALL)


def lint_errors(lines: list[str]) -> set[int]:
    """0-based lines with a linter error (a syntax error: its line, or the last line)."""
    source = "".join(lines)
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        line = (e.lineno or len(lines)) - 1
        return {min(max(line, 0), len(lines) - 1)} if lines else set()
    return {m.lineno - 1 for m in Checker(tree).messages if isinstance(m, ERRORS)}


def is_clean(lines: list[str]) -> bool:
    return not lint_errors(lines)


def deletion_states(program: str, rng: random.Random) -> tuple[list[str], list[list[int]]]:
    """The backward pass: the program's lines, and the states (the indices of the lines still
    there) from the whole program through ever smaller lint-clean programs to none."""
    lines = program.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if not is_clean(lines):
        raise ValueError("the program does not pass the linter itself")
    state = list(range(len(lines)))
    states = [state]
    while state:
        state = state[:(cut := rng.randrange(len(state)))] + state[cut + 1 :]
        while errors := lint_errors([lines[i] for i in state]):  # delete what the deletion broke
            state = [line for position, line in enumerate(state) if position not in errors]
        states.append(state)
    return lines, states


def insertion_edits(program: str, rng: random.Random) -> list[str]:
    """The forward edits from the empty program to `program`: unified diffs of insertions only,
    one hunk per run of inserted lines, at their line numbers in the new program."""
    lines, states = deletion_states(program, rng)
    edits = []
    for before, after in zip(reversed(states[1:]), reversed(states[:-1])):
        kept, hunks, position = set(before), [], 0
        while position < len(after):
            if after[position] in kept:
                position += 1
                continue
            start = position
            while position < len(after) and after[position] not in kept:
                position += 1
            old_at = sum(1 for i in after[:start] if i in kept)  # lines of the old program before the hunk
            body = "".join("+" + lines[i] for i in after[start:position])
            hunks.append(f"@@ -{old_at},0 +{start + 1},{position - start} @@\n{body}")
        edits.append("--- a\n+++ b\n" + "".join(hunks))
    return edits


def apply_edit(lines: list[str], diff: str) -> list[str]:
    """Apply one unified diff of insertions (as insertion_edits writes them): each hunk's lines go
    where its new-file line number says (hunks in order, so earlier insertions are counted)."""
    out = list(lines)
    for hunk in re.finditer(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@\n((?:\+.*\n)*)", diff, re.M):
        at = int(hunk.group(1)) - 1
        out[at:at] = [line[1:] for line in hunk.group(2).splitlines(keepends=True)]
    return out


def program_of(solution: str) -> str | None:
    """The last Python code block of a worked solution, or None."""
    blocks = CODE_BLOCK.findall(solution)
    return blocks[-1] if blocks else None


def render(edits: list[str], program: str) -> str:
    """The SFT target: the edits in order inside the thinking block, then the whole program."""
    steps = "\n".join(f"Edit {i + 1}:\n{edit}" for i, edit in enumerate(edits))
    return f"<think>\n{steps}</think>\n\n```python\n{program}```"
