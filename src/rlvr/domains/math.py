"""Math: the last \\boxed{} answer, judged equivalent to the gold with `math-verify`.

`answer`: a LaTeX string or number, e.g. "\\frac{1}{2}", "(1, 2]", "\\{1,2,3\\}",
"\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "y = 2x + 1", 42.

Both sides are wrapped in `$\\boxed{...}$` before parsing, so math-verify reads the whole
expression (given a bare "1-\\frac{1}{e}" it would read just "1" and call it equal to
"1+\\frac{1}{e}"). After math-verify says "equal", a numeric cross-check evaluates both
expressions at random points (equations: lhs - rhs must be proportional) and overrules it
when they differ. math-verify's own signal-based timeouts are turned off: rlvr runs
verifiers in worker processes that it kills on a hard time limit (rlvr.scoring).

Percent: when the problem or the gold mentions percent, "50", "50%" and "0.5" all match a
gold of "50\\%".

>>> from rlvr.problems import Problem
>>> p = Problem(id="m", domain="math", prompt="?", answer="1-\\\\frac{1}{e}")
>>> verify_math(p, "\\\\boxed{1+\\\\frac{1}{e}}").correct
False
"""

from __future__ import annotations

import random
import re

import sympy
from math_verify import parse, verify

from rlvr.domains import GroundTruthError, binary, no_answer, register
from rlvr.domains.numbers import numbers_match
from rlvr.extract import extract_answer
from rlvr.problems import Problem, Score

_SQRT_PAREN = re.compile(r"\\sqrt\s*\(([^()]*)\)")
_WRAPPER = re.compile(r"^\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|boldsymbol|bm|mbox)\s*\{([^{}]*)\}$")
_DIGIT_SPACE = re.compile(r"(\d)(?:\\[,;:! ]|\\thinspace|~)\s*(?=\d{3}(?!\d))")  # 1\,000\,000
_WORDS = re.compile(r"^[A-Za-z]+(?:[\s-]+[A-Za-z]+)*$")
_VALUE_FIRST = re.compile(r"^([^=a-zA-Z]+?)\s*=\s*([a-zA-Z])$")  # 7 = x, as math-verify reads x = 7
_NUM = r"(-?\d+(?:\.\d+)?|-?\\infty)"
_LESS = {"<": "(", "\\lt": "(", "\\le": "[", "\\leq": "[", "\\leqslant": "[", "≤": "["}
_CHAIN = re.compile(rf"^{_NUM}\s*(<|\\lt|\\leq?|\\leqslant|≤)\s*[a-zA-Z]\s*(<|\\lt|\\leq?|\\leqslant|≤)\s*{_NUM}$")


def normalize(expr: str) -> str:
    """Repair common model writing that math-verify would misread."""
    expr = expr.strip().strip("$").strip()
    while _WRAPPER.match(expr):  # \text{7}, \textbf{Evelyn}: the whole answer in a wrapper
        expr = _WRAPPER.match(expr).group(1).strip()
    expr = _SQRT_PAREN.sub(r"\\sqrt{\1}", expr)  # 4\sqrt(2) -> 4\sqrt{2}
    expr = _DIGIT_SPACE.sub(r"\1", expr)
    expr = expr.replace("°", "^\\circ")
    expr = _interval(expr)
    expr = _VALUE_FIRST.sub(r"\2=\1", expr.rstrip(".").strip())
    return expr


def _interval(expr: str) -> str:
    """`1 < x \\le 2` -> `(1, 2]`: a chain of inequalities in one variable is an interval."""
    match = _CHAIN.match(expr.strip())
    if not match:
        return expr
    low, left, right, high = match.groups()
    closing = {"(": ")", "[": "]"}[_LESS[right]]
    return f"{_LESS[left]}{low}, {high}{closing}"


def _words(expr: str) -> str | None:
    """The answer as lower-case words when it is words (`yes`, `Evelyn`, `no solution`), else
    None. Single letters stay math (`x`, a choice `B`)."""
    text = normalize(expr)
    if _WORDS.match(text) and any(len(w) > 1 for w in re.split(r"[\s-]+", text)):
        return " ".join(re.split(r"[\s-]+", text.lower()))
    return None


def parse_latex(expr: str) -> list:
    """math-verify's parse of the whole expression (wrapped in a box), no signal timeout."""
    return parse(f"$\\boxed{{{normalize(expr)}}}$", parsing_timeout=None)


def math_equal(gold: str, pred: str) -> bool:
    """math-verify equivalence plus the numeric cross-check (gold parsed first). Words are
    compared as words: math-verify reads `sey` as the product s*e*y, equal to `yes`."""
    gold_words, pred_words = _words(gold), _words(pred)
    if gold_words is not None or pred_words is not None:
        return gold_words == pred_words
    gold_parsed, pred_parsed = parse_latex(gold), parse_latex(pred)
    if not gold_parsed or not pred_parsed:
        return _string_equal(gold, pred)
    if not verify(gold_parsed, pred_parsed, timeout_seconds=None):
        return False
    return numeric_agree(gold_parsed[0], pred_parsed[0])


def _string_equal(a: str, b: str) -> bool:
    squash = lambda s: re.sub(r"\s+|\\[,!;: ]", "", normalize(s)).lower()  # noqa: E731
    return squash(a) == squash(b)


def numeric_agree(a: object, b: object, trials: int = 4, seed: int = 0) -> bool:
    """False only when a numeric evaluation proves `a` and `b` differ; True when it cannot tell.

    Scalars: evaluate both at random values of the free symbols. Equations: lhs - rhs of
    each must be proportional (the same line/curve), not merely "both equal zero somewhere".
    """
    if isinstance(a, sympy.Eq) and isinstance(b, sympy.Eq):
        a, b = a.lhs - a.rhs, b.lhs - b.rhs
        return _proportional(a, b, trials, seed)
    if not (isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr)):
        return True  # sets, intervals, matrices, strings: trust math-verify
    rng = random.Random(seed)
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    for _ in range(trials):
        point = {s: rng.uniform(0.5, 2.5) for s in symbols}
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None:
            return True
        if abs(va - vb) > 1e-6 * max(1.0, abs(va), abs(vb)):
            return False
    return True


def _proportional(a: sympy.Expr, b: sympy.Expr, trials: int, seed: int) -> bool:
    rng = random.Random(seed)
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    ratios = []
    for _ in range(trials):
        point = {s: rng.uniform(-3.0, 3.0) for s in symbols}
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None:
            return True
        if abs(vb) < 1e-12 or abs(va) < 1e-12:
            if abs(va) > 1e-9 or abs(vb) > 1e-9:
                return False
            continue
        ratios.append(va / vb)
    return all(abs(r - ratios[0]) <= 1e-6 * max(1.0, abs(ratios[0])) for r in ratios)


def _value(expr: sympy.Expr, point: dict) -> float | None:
    try:
        value = complex(expr.subs(point).evalf())
    except (TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None
    if abs(value.imag) > 1e-9 or value.real != value.real:
        return None
    return value.real


def _mentions_percent(problem: Problem, gold: str) -> bool:
    return "%" in gold or "percent" in problem.prompt_text().lower()


@register("math")
def verify_math(problem: Problem, completion: str) -> Score:
    if problem.answer is None or str(problem.answer).strip() == "":
        raise GroundTruthError(f"problem {problem.id}: math problem has no 'answer'")
    gold = str(problem.answer)
    extracted = extract_answer(completion, problem.extract or "auto")
    if extracted is None:
        return no_answer()
    try:
        if math_equal(gold, extracted):
            return binary(True, extracted, "equivalent")
    except Exception as e:  # noqa: BLE001 - sympy can fail in many ways on model output
        return binary(False, extracted, f"could not compare: {type(e).__name__}")
    if _mentions_percent(problem, gold):
        same = numbers_match(extracted.replace("\\%", "%"), gold.replace("\\%", "%"), rel=1e-6)
        if same:
            return binary(True, extracted, "equivalent (percent)")
    return binary(False, extracted, "not equivalent")
