"""Reading predicted values as values: Python literals, never executed.

A prediction such as `f([1, 2])`, `f([1,2]) == f([1,2])` or an always-equal object is code, not
a value; graders that run it let a policy copy the question or forge equality. These helpers
accept only what `ast.literal_eval` accepts (numbers, strings, bytes, None, booleans, and
tuples, lists, dicts and sets of them), so the result is a plain builtin.

>>> parse_literal("[1, 'a', (2.5, None)]")
[1, 'a', (2.5, None)]
>>> parse_call("f([1, 2], k=3)")
('f', ([1, 2],), {'k': 3})
>>> parse_literal("f([1, 2])")
Traceback (most recent call last):
...
rlvr.domains.literals.LiteralError: not a literal value: f([1, 2])
"""

from __future__ import annotations

import ast
import json
from typing import Any

MAX_CHARS = 100_000


class LiteralError(ValueError):
    """The text is not a Python literal (or not a call with literal arguments)."""


def _literal(node_or_text: ast.AST | str, shown: str) -> Any:
    try:
        return ast.literal_eval(node_or_text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise LiteralError(f"not a literal value: {shown[:200]}") from None


def parse_value(text: str) -> tuple[bool, Any]:
    """(True, value) for JSON, else a Python literal (models write True, None, 'single quotes');
    (False, None) when it is neither.

    >>> parse_value("{'a': [1, None]}"), parse_value("f(1)")
    ((True, {'a': [1, None]}), (False, None))
    """
    try:
        return True, json.loads(text)
    except (json.JSONDecodeError, TypeError):
        pass
    try:
        return True, ast.literal_eval(str(text).strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def parse_literal(text: str) -> Any:
    """The value written in `text`, a Python literal; LiteralError otherwise."""
    text = str(text).strip()
    if len(text) > MAX_CHARS:
        raise LiteralError(f"literal longer than {MAX_CHARS} characters")
    return _literal(text, text)


def parse_call(text: str) -> tuple[str, tuple, dict[str, Any]]:
    """`name(literal, ..., key=literal)` -> (name, args, kwargs); LiteralError otherwise."""
    text = str(text).strip()
    if len(text) > MAX_CHARS:
        raise LiteralError(f"call longer than {MAX_CHARS} characters")
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise LiteralError(f"not a call: {text[:200]}") from None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise LiteralError(f"not a call of a function by name: {text[:200]}")
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise LiteralError(f"not a call with literal arguments: {text[:200]}")
    args = tuple(_literal(a, text) for a in node.args)
    kwargs = {k.arg: _literal(k.value, text) for k in node.keywords}
    return node.func.id, args, kwargs
