"""Finding the answer in a completion.

Rules, applied to the text *after the thinking* (after the last `</think>`; a completion that
opens `<think>` and never closes it has no answer):

- `auto` (default): the last `\\boxed{...}` (nested braces handled), else the last
  `<answer>...</answer>`, else a GSM8K-style `#### 7` line, else the last line starting
  "Answer:" / "Final answer:", else the text after "the answer is", else the last inline
  math (`$7$`, `\\(7\\)`) of the last line.
- `boxed`, `tag`, `line`: only that rule.  `last_line`: the last non-empty line.
- `code`: the last fenced code block (```lang ... ```); if there is none, None.
- `choice`: a multiple-choice letter A-J: "\\boxed{B}", "(B)", "Answer: B", "B.", "the answer is B".

A problem overrides the method with its `extract` field.

>>> extract_answer("<think>maybe 3</think> so \\\\boxed{\\\\frac{1}{2}}")
'\\\\frac{1}{2}'
>>> extract_answer("Answer: (C)", "choice")
'C'
"""

from __future__ import annotations

import re
from collections.abc import Callable

_ANSWER_LINE = re.compile(r"^\s*\**\s*(?:final\s+answer|answer)\s*\**\s*[:：]\s*\**\s*(.+?)\s*$", re.I | re.M)
_ANSWER_IS = re.compile(r"(?:final answer|answer) is\s*[:：]?\s*(.+?)(?:\.\s*$|\.\s+|$)", re.I | re.M)
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.M)
_INLINE_MATH = re.compile(r"\$\$?([^$]+?)\$\$?|\\\((.+?)\\\)")
_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)```", re.S)
# "(B)", "B", "B.", "B)", "B:" -- but not the "I" of "I think".
_CHOICE = re.compile(r"^(?:\(\s*([A-J])\s*\)|([A-J])(?:[.:)]|$))")


def strip_thinking(text: str) -> str:
    """The part of a completion after its reasoning block."""
    if "</think>" in text:
        return text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        return ""  # thinking never finished: no final answer
    return text


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} or \\fbox{...}, with nested braces."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    brace = text.find("{", start)
    if brace < 0:
        # "\boxed 5" form
        rest = text[start:].split(None, 1)
        return rest[1].split()[0].rstrip(".$") if len(rest) > 1 and rest[1].split() else None
    depth = 0
    for i in range(brace, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1 : i].strip()
    return None  # unbalanced: no answer


def answer_tag(text: str) -> str | None:
    found = _TAG.findall(text)
    return found[-1].strip() if found else None


def answer_line(text: str) -> str | None:
    found = _ANSWER_LINE.findall(text)
    if not found:
        return None
    value = found[-1].strip().strip("*").strip()
    return value.rstrip(".") if value else None


def answer_is(text: str) -> str | None:
    found = _ANSWER_IS.findall(text)
    if not found:
        return None
    return found[-1].strip().strip("*$ ") or None


def hashes_line(text: str) -> str | None:
    """GSM8K's final-answer line: `#### 7`."""
    found = _HASHES.findall(text)
    return found[-1] if found else None


def inline_math(text: str) -> str | None:
    """The last `$...$` or `\\(...\\)` of the last non-empty line ("The total is $7$.")."""
    line = last_line(text)
    found = _INLINE_MATH.findall(line) if line else []
    return next((a or b for a, b in reversed(found) if (a or b).strip()), None)


def last_line(text: str) -> str | None:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def code_block(text: str) -> str | None:
    """The last fenced code block's body."""
    found = _FENCE.findall(text)
    return found[-1][1] if found else None


def choice_letter(text: str) -> str | None:
    """A multiple-choice letter, from the answer found by `auto` or from the last line."""
    for candidate in (last_boxed(text), answer_tag(text), answer_line(text), answer_is(text), last_line(text)):
        if candidate is None:
            continue
        candidate = re.sub(r"\\text\{([^}]*)\}", r"\1", candidate).strip().strip("*$ ")
        match = _CHOICE.match(candidate)
        if match:
            return match.group(1) or match.group(2)
    return None


def auto(text: str) -> str | None:
    for rule in (last_boxed, answer_tag, hashes_line, answer_line, answer_is, inline_math):
        value = rule(text)
        if value:
            return value
    return None


METHODS: dict[str, Callable[[str], str | None]] = {
    "auto": auto,
    "boxed": last_boxed,
    "tag": answer_tag,
    "line": answer_line,
    "last_line": last_line,
    "code": code_block,
    "choice": choice_letter,
}


def extract_answer(completion: str, method: str = "auto") -> str | None:
    """Apply extraction `method` to the completion's text after thinking."""
    if method not in METHODS:
        raise ValueError(f"unknown extraction method {method!r}; valid: {sorted(METHODS)}")
    return METHODS[method](strip_thinking(completion))
