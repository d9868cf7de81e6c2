"""Plain data: the only values that cross between a sandboxed program and its grader.

Plain data is None, bool, int, float, complex, str, bytes, and lists, tuples, dicts, sets and
frozensets of plain data, recursively. Encoding checks *exact* types, so an object with its
own `__eq__`, or a subclass of `int` or `str` that overrides it, is refused with a reason
instead of reaching a comparison. Decoding builds fresh builtins from JSON, so whatever the
sandbox sends (its copy of this module may have been patched by the program) the grader only
ever compares builtins. One message is one line of JSON; containers other than lists are
tagged objects: `{"t": [...]}` tuple, `{"s": [...]}` set, `{"f": [...]}` frozenset,
`{"d": [[k, v], ...]}` dict, `{"b": "<base64>"}` bytes, `{"c": [re, im]}` complex.

This file is copied into the sandbox as `_rlvr_plain`, so it uses the standard library only.

>>> loads(dumps({"a": (1, 2.5), 3: {None, b"x"}})) == {"a": (1, 2.5), 3: {None, b"x"}}
True
>>> class Always(int):
...     def __eq__(self, other): return True
>>> dumps(Always(3))
Traceback (most recent call last):
...
_rlvr_plain.NotPlainData: Always is not plain data (None, bool, int, float, complex, str, bytes, list, tuple, dict, set)
"""

import base64
import json

MAX_DEPTH = 64
_SCALARS = (type(None), bool, int, float, str)
_TAGS = {"t": tuple, "s": set, "f": frozenset}
_KINDS = "None, bool, int, float, complex, str, bytes, list, tuple, dict, set"


class NotPlainData(ValueError):
    """A value that may not cross the sandbox boundary (or a message that is not one)."""


NotPlainData.__module__ = "_rlvr_plain"  # one name in messages, on both sides of the boundary


def to_wire(value, depth=0):
    """`value` as JSON-ready lists, dicts and scalars (exact builtin types only)."""
    if depth > MAX_DEPTH:
        raise NotPlainData(f"value nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [to_wire(v, depth + 1) for v in value]
    for tag, container in _TAGS.items():
        if kind is container:
            return {tag: [to_wire(v, depth + 1) for v in value]}
    if kind is dict:
        return {"d": [[to_wire(k, depth + 1), to_wire(v, depth + 1)] for k, v in value.items()]}
    if kind is bytes:
        return {"b": base64.b64encode(value).decode("ascii")}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    raise NotPlainData(f"{kind.__name__} is not plain data ({_KINDS})")


def from_wire(obj, depth=0):
    """Builtins from what `to_wire` produced; anything else raises NotPlainData."""
    if depth > MAX_DEPTH:
        raise NotPlainData(f"value nested deeper than {MAX_DEPTH} levels")
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    if kind is list:
        return [from_wire(v, depth + 1) for v in obj]
    if kind is not dict or len(obj) != 1:
        raise NotPlainData("malformed plain-data message")
    (tag, payload), = obj.items()
    try:
        if tag in _TAGS and type(payload) is list:
            return _TAGS[tag](from_wire(v, depth + 1) for v in payload)
        if tag == "d" and type(payload) is list:
            return {from_wire(k, depth + 1): from_wire(v, depth + 1) for k, v in payload}
        if tag == "b" and type(payload) is str:
            return base64.b64decode(payload, validate=True)
        if tag == "c" and type(payload) is list and len(payload) == 2:
            return complex(*(float(x) for x in payload))
    except (TypeError, ValueError) as e:  # unhashable set member or dict key, bad base64, pairs
        raise NotPlainData(f"malformed plain-data message: {e}") from None
    raise NotPlainData(f"malformed plain-data message (tag {tag!r})")


def dumps(value):
    """One line of JSON (NaN and infinities included, as Python's json writes them)."""
    try:
        return json.dumps(to_wire(value), separators=(",", ":"))
    except (ValueError, RecursionError) as e:  # ints too long for str(), cycles
        if isinstance(e, NotPlainData):
            raise
        raise NotPlainData(f"value cannot be encoded: {e}") from None


def loads(text):
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise NotPlainData(f"malformed plain-data message: {str(e)[:100]}") from None
    return from_wire(obj)
