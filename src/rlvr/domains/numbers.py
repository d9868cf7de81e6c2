"""Reading numbers written by models: "1,234.5 m/s", "$3.2 \\times 10^{5}$", "45%", "\\frac{3}{4}"."""

from __future__ import annotations

import math
import re

_LATEX_WRAPPERS = re.compile(r"\\(?:text|mathrm|mathbf|textbf|operatorname)\{([^}]*)\}")
_SCI = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:\\times|×|\*|x)\s*10\s*\^\s*\{?\s*(-?\d+)\s*\}?")
_FRAC = re.compile(r"^(-?)\\d?frac\{(-?\d+(?:\.\d+)?)\}\{(-?\d+(?:\.\d+)?)\}")
_SLASH = re.compile(r"^(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)(?![\d.])")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def clean(text: str) -> str:
    """Drop LaTeX decorations, dollar signs and thousands separators."""
    text = _LATEX_WRAPPERS.sub(r"\1", text)
    text = text.replace("\\!", "").replace("\\,", "").replace("{,}", "").replace("\\%", "%")
    text = text.replace("\\$", "").replace("$", "").replace("\\left", "").replace("\\right", "").strip()
    text = re.sub(r"(?<=\d),(?=\d{3}(?:\D|$))", "", text)  # 1,234,567 -> 1234567
    return text.replace("−", "-").strip()


def parse_number(text: str) -> tuple[float, bool] | None:
    """(value, had_percent_sign) for the leading number in `text`; units after it are ignored.

    >>> parse_number("1,234.5 m/s")
    (1234.5, False)
    >>> parse_number("45%")
    (45.0, True)
    """
    text = clean(str(text))
    text = text.lstrip("~≈= ").removeprefix("\\approx").strip()
    percent = "%" in text or "percent" in text.lower()
    for pattern, make in (
        (_SCI, lambda m: float(m.group(1)) * 10 ** int(m.group(2))),
        (_FRAC, lambda m: (-1 if m.group(1) else 1) * float(m.group(2)) / float(m.group(3))),
        (_SLASH, lambda m: float(m.group(1)) / float(m.group(2))),
        (_NUMBER, lambda m: float(m.group(0))),
    ):
        match = pattern.match(text)
        if match:
            try:
                value = make(match)
            except (ZeroDivisionError, OverflowError, ValueError):
                return None
            return (value, percent) if math.isfinite(value) else None
    return None


def close(a: float, b: float, rel: float, abs_tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def numbers_match(pred: str, gold: str, rel: float = 1e-3) -> bool | None:
    """Numeric equality, with percent vs fraction handled ("25%" == "0.25" == "25" when a
    percent sign is on either side). None when either side is not a number."""
    p, g = parse_number(pred), parse_number(gold)
    if p is None or g is None:
        return None
    (pv, pp), (gv, gp) = p, g
    if close(pv, gv, rel):
        return True
    if pp or gp:
        return close(pv / 100, gv, rel) or close(pv, gv / 100, rel)
    return False
